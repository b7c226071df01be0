// check.sh as a user runs it, on this machine (no GPU): it refuses clearly without one, prints its
// plan, and with --allow-no-gpu runs the CPU rows end to end on a tiny episode with real ffmpeg —
// with the system's ffmpeg and, when prepare.sh has filled e2e/gpu/carry, with the carried one.
import { execFile } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckReport } from "./table.ts";

const script = join(import.meta.dirname, "check.sh");
const carry = join(import.meta.dirname, "carry");
const scratch = mkdtempSync(join(tmpdir(), "reel-gpu-check-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function checkSh(args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      "/bin/bash",
      [script, ...args],
      { env: { ...process.env, ...env }, timeout: 240_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A bin folder with `dirname` and, when given, a fake nvidia-smi printing `lsOutput` (exit `lsCode`). */
function fakeBin(name: string, smi?: { lsOutput: string; lsCode: number }): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  symlinkSync("/usr/bin/dirname", join(dir, "dirname"));
  if (smi) {
    writeFileSync(join(dir, "nvidia-smi"), `#!/bin/sh\necho '${smi.lsOutput}'\nexit ${smi.lsCode}\n`);
    chmodSync(join(dir, "nvidia-smi"), 0o755);
  }
  return dir;
}

describe("check.sh without a GPU", () => {
  it("exits 2 with REEL_ENCODER_UNAVAILABLE and a next step when nvidia-smi is missing", async () => {
    const r = await checkSh([], { PATH: fakeBin("none") });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error REEL_ENCODER_UNAVAILABLE: no NVIDIA GPU here: nvidia-smi is not on PATH");
    expect(r.stderr).toContain("pass --plan to see what it would run");
    expect(r.stdout).toBe("");
  });

  it("exits 2 when the device node is missing or nvidia-smi finds no GPU", async () => {
    const ok = fakeBin("smi-ok", { lsOutput: "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)", lsCode: 0 });
    const noDevice = await checkSh([], { PATH: `${ok}:${process.env.PATH}`, REEL_GPU_DEVICE: "/nonexistent/nvidia0" });
    expect(noDevice.code).toBe(2);
    expect(noDevice.stderr).toContain("no NVIDIA GPU here: /nonexistent/nvidia0 does not exist");
    const broken = fakeBin("smi-broken", { lsOutput: "No devices were found", lsCode: 6 });
    const none = await checkSh([], { PATH: `${broken}:${process.env.PATH}`, REEL_GPU_DEVICE: "/dev/null" });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("nvidia-smi -L failed: No devices were found");
  });

  it("with a GPU but no carry, says to run prepare.sh", async () => {
    const ok = fakeBin("smi-ok2", { lsOutput: "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)", lsCode: 0 });
    const env = { PATH: `${ok}:${process.env.PATH}`, REEL_GPU_DEVICE: "/dev/null", REEL_GPU_CARRY: "/nonexistent" };
    const r = await checkSh([], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("e2e/gpu/carry is missing: run bash e2e/gpu/prepare.sh");
  });

  it("--plan prints the commands it would run and exits 0", async () => {
    const r = await checkSh(["--plan"], { REEL_GPU_CARRY: "/nonexistent" });
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { decode: Array<{ path: string; args: string[] }>; curve: unknown[] };
    expect(plan.decode.map((d) => d.path)).toEqual(["cuda>cpu", "none>cpu"]);
    expect(plan.decode[0]?.args).toContain(
      "scale_cuda=w=1280:h=720:format=nv12,hwdownload,format=nv12,setsar=1,format=yuv420p",
    );
    expect(plan.curve).toHaveLength(7);
  });

  it("refuses an unknown argument with exit 2 and the usage", async () => {
    const r = await checkSh(["--plan", "--bogus"], { REEL_GPU_CARRY: "/nonexistent" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error REEL_INVALID_ARGUMENT: unknown argument --bogus");
    expect(r.stderr).toContain("usage: e2e/gpu/check.sh");
  });
});

const tiny = [
  "--allow-no-gpu",
  "--seconds",
  "4",
  "--height",
  "144",
  "--workers",
  "2,1",
  "--cores",
  "2",
  "--budget",
  "200",
];

async function runTiny(name: string, env: Record<string, string>): Promise<{ r: Ran; report: CheckReport }> {
  const out = join(scratch, `${name}.json`);
  const r = await checkSh([...tiny, "--out", out], env);
  return { r, report: JSON.parse(readFileSync(out, "utf8")) as CheckReport };
}

function expectCpuRows(r: Ran, report: CheckReport) {
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^part\s+row\s+result\s+wall s\s+cpu s\s+ssim\s+speedup\s+note$/m);
  expect(report.detection?.encoders.libx264?.ok).toBe(true);
  expect(report.detection?.labels["reel.dev/encoder.libx264"]).toBe("true");
  expect(report.source).toMatchObject({ width: 256, height: 144, frames: 120 });
  const [cuda, cpu] = report.decode;
  expect(cuda).toMatchObject({ path: "cuda>cpu", status: "skipped", reason: "no NVIDIA GPU" });
  expect(cpu).toMatchObject({ path: "none>cpu", status: "ok", frames: 120 });
  expect(cpu?.ssim).toBeGreaterThan(0.8);
  expect(cpu?.cpuSecs).toBeGreaterThan(0);
  expect(report.curve.map((c) => [c.mode, c.workers, c.status, c.frames])).toEqual([
    ["whole", 1, "ok", 120],
    ["segments", 2, "ok", 120],
    ["segments", 1, "ok", 120],
  ]);
  expect(report.curve[0]?.speedup).toBe(1);
  expect(report.curve[1]?.speedup).toBeGreaterThan(0);
}

describe("check.sh --allow-no-gpu on a 4 s 144p episode", () => {
  it("measures the CPU rows with the system's ffmpeg", async () => {
    const { r, report } = await runTiny("system", { REEL_GPU_CARRY: "/nonexistent" });
    expectCpuRows(r, report);
  });

  it.skipIf(!existsSync(join(carry, "manifest.json")))(
    "measures the CPU rows with the carried Node and ffmpeg (skipped until prepare.sh has run)",
    async () => {
      const work = join(scratch, "work");
      const { r, report } = await runTiny("carried", { REEL_GPU_WORK: work });
      expectCpuRows(r, report);
      expect(report.machine.node).toBe("v24.21.0");
      expect(readFileSync(join(work, "ffmpeg", "VERSION"), "utf8")).toContain("ffmpeg version 5.1");
    },
  );
});
