// What the GPU check (check.sh → check.ts) runs, as data: its options, the source it makes, the two
// decode paths it compares and the segment-parallel runs it times. Pure: table-tested in check.test.ts.
import type { SourceInfo } from "../../worker-image/src/ffmpeg/args.ts";
import { transcodeArgs } from "../../worker-image/src/ffmpeg/args.ts";
import type { HwDecode } from "../../worker-image/src/ffmpeg/hwargs.ts";
import type { Quality } from "../../worker-image/src/ffmpeg/ladder.ts";
import type { CompressionPreset } from "../../worker-image/src/ffmpeg/presets.ts";

export interface CheckOptions {
  /** Length and height of the generated episode (16:9, 30 fps, keyframe every 2 s). */
  seconds: number;
  height: number;
  /** Cores the encodes may use: the machine's unless --cores. */
  cores: number;
  /** Segment encoders at once for the speedup curve, run in this order (most first). */
  workers: number[];
  /** The decode comparison's output (a 1080p source scaled down: scale_cuda has work to do). */
  decodeQuality: Quality;
  /** The speedup curve's output: the episode's own height, as bench transcode-segments does. */
  curveQuality: Quality;
  preset: CompressionPreset;
  level: number;
  /** Wall-clock budget for everything; a step that would start after it is recorded as skipped. */
  budgetSecs: number;
  /** Where the JSON report goes. */
  out: string;
  /** Print the plan as JSON and run nothing. */
  planOnly: boolean;
  /** Run the CPU rows on a machine without an NVIDIA GPU (tests); GPU rows say why they did not run. */
  allowNoGpu: boolean;
  /** Where check.sh found the driver's libraries (libcuda.so.1: /usr/lib/…, or "missing"). */
  driverLibs: Record<string, string>;
}

export class UsageError extends Error {
  readonly code = "REEL_INVALID_ARGUMENT";
}

const qualities: Quality[] = ["480p", "720p", "1080p", "2160p"];
const presets: CompressionPreset[] = ["fast", "balanced", "small"];

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} wants a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new UsageError(`${flag} wants one of ${allowed.join(", ")}, got ${v}`);
  return v as T;
}

/** The command line of check.ts (check.sh passes its own arguments on). Defaults: the check. */
export function parseArgs(argv: readonly string[], machineCores: number): CheckOptions {
  const o: CheckOptions = {
    seconds: 120,
    height: 1080,
    cores: machineCores,
    workers: [16, 8, 4, 2, 1],
    decodeQuality: "720p",
    curveQuality: "1080p",
    preset: "balanced",
    level: 5,
    budgetSecs: 480,
    out: "gpu-check.json",
    planOnly: false,
    allowNoGpu: false,
    driverLibs: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = () => argv[++i];
    if (flag === "--seconds") o.seconds = positiveInt(flag, value());
    else if (flag === "--height") o.height = positiveInt(flag, value());
    else if (flag === "--cores") o.cores = positiveInt(flag, value());
    else if (flag === "--workers") o.workers = (value() ?? "").split(",").map((w) => positiveInt(flag, w));
    else if (flag === "--decode-quality") o.decodeQuality = oneOf(flag, value(), qualities);
    else if (flag === "--curve-quality") o.curveQuality = oneOf(flag, value(), qualities);
    else if (flag === "--preset") o.preset = oneOf(flag, value(), presets);
    else if (flag === "--level") o.level = positiveInt(flag, value());
    else if (flag === "--budget") o.budgetSecs = positiveInt(flag, value());
    else if (flag === "--out") o.out = value() ?? "";
    else if (flag === "--plan") o.planOnly = true;
    else if (flag === "--allow-no-gpu") o.allowNoGpu = true;
    else if (flag === "--driver-lib") {
      const [name, where] = (value() ?? "").split("=", 2);
      if (!name || !where) throw new UsageError(`--driver-lib wants name=path, got ${argv[i]}`);
      o.driverLibs[name] = where;
    } else throw new UsageError(`unknown argument ${flag}`);
  }
  if (o.height % 2 !== 0) throw new UsageError(`--height must be even, got ${o.height}`);
  if (o.level > 9) throw new UsageError(`--level wants 1..9, got ${o.level}`);
  if (!o.out) throw new UsageError("--out wants a file name");
  return o;
}

export const sourceWidth = (height: number) => Math.round((height * 16) / 9 / 2) * 2;

/**
 * The episode every row encodes: testsrc2 and a tone, H.264 (ultrafast, keyframe every 2 s, so
 * segments can start every 2 s) + AAC, as bench transcode-segments makes its source.
 */
export function sourceArgs(o: Pick<CheckOptions, "seconds" | "height">, output: string): string[] {
  const size = `${sourceWidth(o.height)}x${o.height}`;
  return [
    "-nostdin",
    "-hide_banner",
    "-v",
    "error",
    "-y",
    ["-f", "lavfi", "-i", `testsrc2=size=${size}:rate=30`],
    ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
    ["-t", String(o.seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    ["-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "128k", output],
  ].flat();
}

export interface DecodeRun {
  /** The row's name: the hwargs pipeline key. */
  path: "cuda>cpu" | "none>cpu";
  hwDecode: HwDecode;
  output: string;
  /** Arguments after ffmpeg's fixed leading ones: the worker's own transcodeArgs. */
  args: string[];
}

/** One episode two ways on the same machine: decoded and scaled on the GPU (NVDEC), or on the CPU. */
export function decodeRuns(o: CheckOptions, source: SourceInfo, input: string, dir: string): DecodeRun[] {
  return (["cuda", "none"] as const).map((hwDecode) => {
    const output = `${dir}/decode-${hwDecode}.mp4`;
    const args = transcodeArgs({
      input,
      output,
      source,
      quality: o.decodeQuality,
      codec: "h264",
      preset: o.preset,
      level: o.level,
      encoder: "cpu",
      hwDecode,
      threads: o.cores,
    });
    return { path: `${hwDecode}>cpu` as const, hwDecode, output, args };
  });
}

export interface CurveRun {
  /** "whole": one ffmpeg with every core, the baseline; "segments": encodeSegmented with `workers` at once. */
  mode: "whole" | "segments";
  workers: number;
  /** Threads per encoder: the cores split between the encoders running at once (as encodeSegmented does). */
  threads: number;
  /** "none": CPU decode (the curve); "cuda": the plan `reel run` picks on an NVDEC-only GPU (one extra row). */
  decode: "none" | "cuda";
}

/**
 * The baseline first, then the segment runs in the order asked (most workers first, so a run cut
 * short by the budget loses the least telling rows), then, when CUDA decoding works here, the most
 * workers again with NVDEC: with gpu.policy auto that is what `reel run` does on this machine.
 */
export function curveRuns(o: Pick<CheckOptions, "cores" | "workers">, cudaDecode: boolean): CurveRun[] {
  const threads = (w: number) => Math.max(1, Math.floor(o.cores / w));
  const runs: CurveRun[] = [{ mode: "whole", workers: 1, threads: o.cores, decode: "none" }];
  for (const w of o.workers) runs.push({ mode: "segments", workers: w, threads: threads(w), decode: "none" });
  const most = Math.max(...o.workers);
  if (cudaDecode) runs.push({ mode: "segments", workers: most, threads: threads(most), decode: "cuda" });
  return runs;
}
