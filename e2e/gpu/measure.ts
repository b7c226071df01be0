// How the GPU check measures a step: wall time, CPU time of this process and of every child it
// waited for (ffmpeg, from /proc/self/stat), and the GPU's utilisation sampled by nvidia-smi.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Timing } from "./table.ts";

let ticksPerSec: number | undefined;

function clockTicks(): number {
  if (ticksPerSec === undefined) {
    try {
      ticksPerSec = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSec = 100; // Linux's USER_HZ nearly everywhere
    }
  }
  return ticksPerSec;
}

/**
 * CPU seconds so far of this process plus its reaped children (cutime + cstime: fields 16 and 17 of
 * /proc/self/stat). Node reaps every ffmpeg it spawns, so a step's children are all counted.
 */
export function cpuSecondsSoFar(statText = readFileSync("/proc/self/stat", "utf8")): number {
  const fields = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): field n is fields[n - 3]
  const children = (Number(fields[13]) + Number(fields[14])) / clockTicks();
  const self = process.cpuUsage();
  return children + (self.user + self.system) / 1e6;
}

/** Runs `step` and returns its result with the wall and CPU seconds it took. */
export async function timed<T>(step: () => Promise<T>): Promise<{ value: T; timing: Timing }> {
  const cpu0 = cpuSecondsSoFar();
  const t0 = performance.now();
  const value = await step();
  const wallSecs = (performance.now() - t0) / 1000;
  return { value, timing: { wallSecs, cpuSecs: cpuSecondsSoFar() - cpu0 } };
}

export interface GpuPeak {
  decoder: number;
  sm: number;
  samples: number;
}

/** `nvidia-smi --query-gpu=utilization.decoder,utilization.gpu --format=csv,noheader,nounits` lines. */
export function parseUtilisation(text: string): GpuPeak {
  let decoder = 0;
  let sm = 0;
  let samples = 0;
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(line);
    if (!m) continue;
    samples++;
    decoder = Math.max(decoder, Number(m[1]));
    sm = Math.max(sm, Number(m[2]));
  }
  return { decoder, sm, samples };
}

/**
 * Samples GPU utilisation every 250 ms until `stop()`; stop() waits for nvidia-smi to exit, so its
 * (small) CPU time lands in the step it sampled, the same for both decode paths.
 */
export function sampleGpu(nvidiaSmi = "nvidia-smi"): { stop(): Promise<GpuPeak | undefined> } {
  const args = ["--query-gpu=utilization.decoder,utilization.gpu", "--format=csv,noheader,nounits", "-lms", "250"];
  let out = "";
  const child = spawn(nvidiaSmi, args, { stdio: ["ignore", "pipe", "ignore"] });
  const exited = new Promise<boolean>((resolve) => {
    child.on("error", () => resolve(false));
    child.on("exit", () => resolve(true));
  });
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString("utf8");
  });
  return {
    async stop() {
      child.kill("SIGTERM");
      const ran = await exited;
      const peak = parseUtilisation(out);
      return ran && peak.samples > 0 ? peak : undefined;
    },
  };
}
