// Children that die with us: ffmpeg and yt-dlp are started through reel-child (crates/child-guard),
// which sets PR_SET_PDEATHSIG before exec — a SIGKILLed `reel run` or worker would otherwise leave
// them encoding. Node cannot set it itself (nothing runs between its fork and exec).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { config } from "../config.ts";

/**
 * Where reel-child is looked for: the setting, then beside the addon, where the build (npm run
 * build -w @reel/native, whatever CARGO_TARGET_DIR is) copies it and the worker image has it
 * (/app/crates/node), then cargo's default target directory.
 */
function candidates(): string[] {
  if (config.REEL_CHILD_GUARD) return config.REEL_CHILD_GUARD === "off" ? [] : [config.REEL_CHILD_GUARD];
  const repo = join(import.meta.dirname, "..", "..", "..");
  return [join(repo, "crates", "node", "reel-child"), join(repo, "crates", "target", "release", "reel-child")];
}

let found: string | null | undefined;

/** reel-child's path, or undefined where it is not built or installed (children then outlive us). */
export function childGuard(): string | undefined {
  found ??= candidates().find((p) => existsSync(p)) ?? null;
  return found ?? undefined;
}

/** What to spawn for `command args` so the process dies with this one. */
export function guarded(command: string, args: readonly string[]): { command: string; args: string[] } {
  const guard = childGuard();
  return guard ? { command: guard, args: [String(process.pid), command, ...args] } : { command, args: [...args] };
}

/** reel-child's answer when the command itself could not be found (a shell's 127). */
export const GUARD_NOT_FOUND = 127;

/** Whether an exit means reel-child could not find `command` (ENOENT had it been spawned bare). */
export function guardMissed(code: number | null, stderr: string): boolean {
  return code === GUARD_NOT_FOUND && stderr.includes("reel-child: cannot run");
}

/** The line `reel run` prints where reel-child is missing: the fallback is not silent. */
export const UNGUARDED_WARNING =
  "reel-child is not built: if reel is killed, ffmpeg keeps running (build it: npm run build -w @reel/native, or set REEL_CHILD_GUARD)";
