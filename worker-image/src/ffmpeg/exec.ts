// The one place that spawns processes for the ffmpeg layer. Everything else takes a
// `CommandRunner` so unit tests can answer with canned output instead of real binaries.
import { spawn } from "node:child_process";
import { ReelError } from "@reel/crds";
import { config } from "../config.ts";
import { guarded, guardMissed } from "./guard.ts";

export interface ExecOptions {
  signal?: AbortSignal;
  /** Kills the process (SIGTERM, then SIGKILL) after this long; the result has `timedOut`. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL; ffmpeg normally finalises and exits well within it. */
  killGraceMs?: number;
  onStdout?: (chunk: string) => void;
  /** Keep at most this many bytes of stderr (the tail); ffmpeg can be chatty. */
  maxStderrBytes?: number;
  /** Keep at most this many bytes of stdout (the head); 0 keeps none. */
  maxStdoutBytes?: number;
  /**
   * The child's whole environment; by default config.ts `childEnv`: PATH (to find codecs' helpers),
   * HOME and TMPDIR (where a tool may write scratch; in a pod both are /scratch), LANG=C.UTF-8 (so
   * messages and file names decode the same everywhere). Never the parent's: ffmpeg parses hostile
   * media, and in a pod the S3 keys are env vars. HOME stays because what lies under it is readable
   * by our uid anyway; the environment is where secrets live that no file holds.
   */
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export type CommandRunner = (command: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/**
 * Runs a command to completion. Rejects only when it cannot run at all (ENOENT ->
 * REEL_FFMPEG_MISSING) or the caller aborted (REEL_CANCELLED); a non-zero exit is data.
 */
export const execCommand: CommandRunner = (command, args, options = {}) => {
  const { signal, timeoutMs, killGraceMs = 3000, onStdout } = options;
  const maxStderr = options.maxStderrBytes ?? 256 * 1024;
  const maxStdout = options.maxStdoutBytes ?? 64 * 1024 * 1024;
  return new Promise<ExecResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ReelError("REEL_CANCELLED", `${command} cancelled before start`, { cause: signal.reason }));
      return;
    }
    const env = options.env ?? config.childEnv;
    // Through reel-child where it is built: the process dies with us, even on SIGKILL.
    const g = guarded(command, args);
    const child = spawn(g.command, g.args, { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = () => {
      child.kill("SIGTERM");
      killTimer ??= setTimeout(() => child.kill("SIGKILL"), killGraceMs);
    };
    const onAbort = () => {
      aborted = true;
      kill();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      onStdout?.(chunk);
      if (stdout.length < maxStdout) stdout += chunk.slice(0, maxStdout - stdout.length);
    });
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      if (stderr.length > maxStderr * 2) stderr = stderr.slice(-maxStderr);
    });
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      signal?.removeEventListener("abort", onAbort);
    };
    child.on("error", (err: NodeJS.ErrnoException) => {
      cleanup();
      if (err.code === "ENOENT") {
        reject(new ReelError("REEL_FFMPEG_MISSING", `${command} not found`, { cause: err }));
      } else reject(ReelError.from(err, "REEL_FFMPEG_FAILED", command));
    });
    child.on("close", (code, sig) => {
      cleanup();
      if (aborted) {
        reject(new ReelError("REEL_CANCELLED", `${command} cancelled`, { cause: signal?.reason }));
        return;
      }
      if (guardMissed(code, stderr)) {
        reject(new ReelError("REEL_FFMPEG_MISSING", `${command} not found`));
        return;
      }
      resolve({ code, signal: sig, stdout, stderr: stderr.slice(-maxStderr), timedOut });
    });
  });
};

/** The last `n` non-empty lines of a process's stderr, for error messages. */
export function tailLines(text: string, n = 20): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => plainLine(l.trimEnd()))
    .filter((l) => l.length > 0)
    .slice(-n);
}

/**
 * An ffmpeg/ffprobe stderr line as a user may read it (error messages reach VideoJob status and
 * the API): no memory addresses (`[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d0c1a2b3c0]` -> `[mov,mp4,m4a,3gp,3g2,mj2]`)
 * and no paths of the machine that ran it (`file:/scratch/tmp/episode-x1/source` -> `file:…/source`).
 */
export function plainLine(line: string): string {
  return line
    .replace(/\[([^\]@]+?) @ 0x[0-9a-f]+\]/gi, "[$1]")
    .replace(
      /(?<![\w:/])(file:)?\/(?:[\w.@+-]+\/)+([\w.@+-]+)/g,
      (_m, scheme: string | undefined, base: string) => `${scheme ?? ""}…/${base}`,
    );
}
