// Runs ffmpeg with machine-readable progress and turns failures into coded errors.
import { ReelError } from "@reel/crds";
import { type CommandRunner, execCommand, tailLines } from "./exec.ts";
import { createProgressParser, type ProgressEvent } from "./progress.ts";

export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
}

export const defaultBinaries: FfmpegBinaries = { ffmpeg: "ffmpeg", ffprobe: "ffprobe" };

export interface RunFfmpegOptions {
  binaries?: FfmpegBinaries;
  runner?: CommandRunner;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Source duration; with it progress events carry a percent. */
  durationSecs?: number;
  onProgress?: (event: ProgressEvent) => void;
  /** Words for the error message ("encode episode 3"); never the command line, which may hold paths. */
  label?: string;
}

export interface FfmpegResult {
  /** Up to the last 256 KiB of stderr: filters such as ssim/psnr report there. */
  stderr: string;
  /** Wall time in milliseconds. */
  elapsedMs: number;
}

/** Fixed leading arguments: no stdin (a job must never hang waiting on a terminal), progress on stdout. */
export const baseArgs: readonly string[] = ["-nostdin", "-hide_banner", "-progress", "pipe:1", "-nostats"];

/** Runs `ffmpeg <baseArgs> <args>`; non-zero exit -> REEL_FFMPEG_FAILED with the last 20 stderr lines. */
export async function runFfmpeg(args: readonly string[], options: RunFfmpegOptions = {}): Promise<FfmpegResult> {
  const { binaries = defaultBinaries, runner = execCommand, onProgress, durationSecs } = options;
  const parser = onProgress ? createProgressParser(onProgress, durationSecs) : undefined;
  const started = performance.now();
  const result = await runner(binaries.ffmpeg, [...baseArgs, ...args], {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    onStdout: parser ? (chunk) => parser.push(chunk) : undefined,
    maxStdoutBytes: 0,
  });
  const label = options.label ?? "ffmpeg";
  if (result.timedOut) {
    throw new ReelError("REEL_FFMPEG_FAILED", `${label}: timed out after ${options.timeoutMs} ms`);
  }
  if (result.code !== 0) {
    const how = result.code === null ? `killed by ${result.signal}` : `exit code ${result.code}`;
    throw new ReelError("REEL_FFMPEG_FAILED", `${label}: ${how}\n${tailLines(result.stderr).join("\n")}`);
  }
  return { stderr: result.stderr, elapsedMs: performance.now() - started };
}
