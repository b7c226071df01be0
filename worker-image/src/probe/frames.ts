// Per-frame timing of the video stream, for keyframe-aligned splitting and exact frame counts.
import { ReelError } from "@reel/crds";
import { type CommandRunner, execCommand, tailLines } from "../ffmpeg/exec.ts";
import { defaultBinaries, type FfmpegBinaries } from "../ffmpeg/run.ts";
import { safeProbeInput } from "./probe.ts";

export interface FrameTimes {
  /** Presentation times in seconds, sorted (presentation order). */
  pts: number[];
  /** Presentation times of keyframes, sorted. */
  keyframes: number[];
}

/**
 * Parses `-show_entries packet=pts_time,flags -of csv=p=0` output. Packets come in decode
 * order; with B-frames presentation order differs, so times are sorted. Packets without a
 * timestamp (N/A) are dropped: they are not frames the decoder will output on their own.
 */
export function parsePacketCsv(csv: string): FrameTimes {
  const pts: number[] = [];
  const keyframes: number[] = [];
  for (const line of csv.split("\n")) {
    const [t, flags] = line.trim().split(",");
    const time = Number.parseFloat(t ?? "");
    if (!Number.isFinite(time)) continue;
    pts.push(time);
    if (flags?.includes("K")) keyframes.push(time);
  }
  pts.sort((a, b) => a - b);
  keyframes.sort((a, b) => a - b);
  return { pts, keyframes };
}

/** Reads packet timestamps and keyframe flags of the first video stream (no decoding: fast). */
export async function frameTimes(
  path: string,
  options: { binaries?: FfmpegBinaries; runner?: CommandRunner; signal?: AbortSignal } = {},
): Promise<FrameTimes> {
  const { binaries = defaultBinaries, runner = execCommand } = options;
  const args = ["-v", "error", ...safeProbeInput(path), "-select_streams", "v:0"];
  args.push("-show_entries", "packet=pts_time,flags", "-of", "csv=p=0");
  const r = await runner(binaries.ffprobe, args, { signal: options.signal });
  if (r.code !== 0) {
    throw new ReelError("REEL_MEDIA_INVALID", `cannot read frame times: ${tailLines(r.stderr, 5).join("; ")}`);
  }
  return parsePacketCsv(r.stdout);
}

/** Decodes the first video stream and counts its frames (`-count_frames`): the ground truth for exactness. */
export async function countFrames(
  path: string,
  options: { binaries?: FfmpegBinaries; runner?: CommandRunner; signal?: AbortSignal } = {},
): Promise<number> {
  const { binaries = defaultBinaries, runner = execCommand } = options;
  const args = ["-v", "error", ...safeProbeInput(path), "-select_streams", "v:0", "-count_frames"];
  args.push("-show_entries", "stream=nb_read_frames", "-of", "csv=p=0");
  const r = await runner(binaries.ffprobe, args, { signal: options.signal });
  const n = Number.parseInt(r.stdout.trim(), 10);
  if (r.code !== 0 || !Number.isFinite(n)) {
    throw new ReelError("REEL_MEDIA_INVALID", `cannot count frames: ${tailLines(r.stderr, 5).join("; ")}`);
  }
  return n;
}
