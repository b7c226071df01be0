// SSIM and PSNR (and VMAF where ffmpeg has libvmaf) of an encode against its source.
import { availableParallelism } from "node:os";
import { ReelError } from "@reel/crds";
import { seconds } from "../ffmpeg/args.ts";
import { type CommandRunner, execCommand } from "../ffmpeg/exec.ts";
import { inputArgs } from "../ffmpeg/input.ts";
import { defaultBinaries, type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";
import { hasFilter, parsePsnr, parseSsim, parseVmaf } from "./parse.ts";

export interface TargetOutcome {
  metric: "ssim" | "vmaf";
  score: number;
  sampleLevel: number;
  sampleScore: number;
  level: number;
  encodes: number;
  reached: boolean;
}

export interface MediaRef {
  path: string;
  /** Pinned demuxer from the probe. */
  demuxer: string;
}

export interface Window {
  /** Where the window starts in the distorted file. */
  start: number;
  /** Where the same pictures start in the reference (differs for encoded samples). */
  referenceStart?: number;
  duration: number;
}

export interface QualityScores {
  ssim: number;
  psnr: number;
  method?: "encoder" | "comparison" | "episodes";
  vmaf?: number;
  vmafUnavailable?: string;
  /** How a compression.targetQuality was met (quality/reach.ts). */
  target?: TargetOutcome;
  /** Seconds of video compared when windows were used. */
  comparedSecs?: number;
}

export interface MeasureOptions {
  /** The distorted file's picture size; the reference is scaled to it. */
  width: number;
  height: number;
  /** Compare only these windows (faster on long episodes); whole files when absent. */
  windows?: Window[];
  binaries?: FfmpegBinaries;
  runner?: CommandRunner;
  signal?: AbortSignal;
  /** Skip the libvmaf check (it costs one `ffmpeg -filters`). */
  vmaf?: boolean;
  /**
   * The chain that made the encode's picture from the source (deinterlace, tone map, colour
   * conversion, scaling: ffmpeg/picture.ts), run on the reference so that like is compared with
   * like; a plain scale when absent.
   */
  referenceFilter?: string;
}

const vmafCache = new Map<string, boolean>();

/** Whether this ffmpeg has libvmaf (Debian 12's has not). */
export async function vmafAvailable(
  binaries: FfmpegBinaries = defaultBinaries,
  runner: CommandRunner = execCommand,
): Promise<boolean> {
  const known = vmafCache.get(binaries.ffmpeg);
  if (known !== undefined) return known;
  const r = await runner(binaries.ffmpeg, ["-hide_banner", "-filters"]).catch(() => undefined);
  const has = r?.code === 0 && hasFilter(r.stdout, "libvmaf");
  vmafCache.set(binaries.ffmpeg, has);
  return has;
}

/**
 * The comparison graph. Timestamps are reset so both streams pair frame by frame, and the
 * reference is scaled to the distorted size: quality is judged at the size the viewer gets.
 */
export function comparisonGraph(width: number, height: number, vmaf: boolean, referenceFilter?: string): string {
  const n = vmaf ? 3 : 2;
  const outs = (p: string) => Array.from({ length: n }, (_, i) => `[${p}${i}]`).join("");
  const parts = [
    `[0:v]setpts=PTS-STARTPTS,format=yuv420p,split=${n}${outs("d")}`,
    `[1:v]setpts=PTS-STARTPTS,${referenceFilter ?? `scale=${width}:${height}:flags=bicubic`},format=yuv420p,split=${n}${outs("r")}`,
    "[d0][r0]ssim",
    "[d1][r1]psnr",
  ];
  if (vmaf) parts.push(`[d2][r2]libvmaf=n_threads=${Math.min(4, availableParallelism())}`);
  return parts.join(";");
}

export function measureArgs(distorted: MediaRef, reference: MediaRef, graph: string, w?: Window): string[] {
  const win = (start: number | undefined) =>
    w ? [...(start ? ["-ss", seconds(start)] : []), "-t", seconds(w.duration)] : [];
  return [
    ...inputArgs({ ...distorted, before: win(w?.start) }),
    ...inputArgs({ ...reference, before: win(w?.referenceStart ?? w?.start) }),
    "-lavfi",
    graph,
    "-f",
    "null",
    "-",
  ];
}

export async function measureQuality(
  distorted: MediaRef,
  reference: MediaRef,
  options: MeasureOptions,
): Promise<QualityScores> {
  const binaries = options.binaries ?? defaultBinaries;
  const useVmaf = options.vmaf !== false && (await vmafAvailable(binaries, options.runner));
  const graph = comparisonGraph(options.width, options.height, useVmaf, options.referenceFilter);
  const windows: Array<Window | undefined> = options.windows?.length ? options.windows : [undefined];
  let ssim = 0;
  let psnr = 0;
  let vmaf = 0;
  let total = 0;
  for (const w of windows) {
    const { stderr } = await runFfmpeg(measureArgs(distorted, reference, graph, w), {
      binaries,
      runner: options.runner,
      signal: options.signal,
      label: "measure quality",
    });
    const s = parseSsim(stderr);
    const p = parsePsnr(stderr);
    if (s === undefined || p === undefined) {
      throw new ReelError("REEL_FFMPEG_FAILED", "measure quality: ffmpeg printed no SSIM/PSNR summary");
    }
    // Windows are weighted by length; whole-file runs count as one.
    const weight = w?.duration ?? 1;
    ssim += s * weight;
    psnr += p * weight;
    vmaf += (parseVmaf(stderr) ?? 0) * weight;
    total += weight;
  }
  const scores: QualityScores = { ssim: ssim / total, psnr: psnr / total, method: "comparison" };
  if (options.windows?.length) scores.comparedSecs = options.windows.reduce((a, w) => a + w.duration, 0);
  if (useVmaf) scores.vmaf = vmaf / total;
  else scores.vmafUnavailable = "ffmpeg has no libvmaf";
  return scores;
}
