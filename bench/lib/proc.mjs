// Runs one child process with a timeout and measures its wall time and peak RSS.
//
// Peak RSS comes from GNU time (`/usr/bin/time -f %M`, Debian package `time`), which
// reads ru_maxrss from wait4(): the child's own high-water mark, exact, including the
// last milliseconds before exit. Where GNU time is missing we poll /proc/<pid>/status
// VmHWM instead (also a high-water mark, so only a spike inside the final poll
// interval can be missed) and say so in the result.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { onCleanup, makeTempDir } from "./cleanup.mjs";

const GNU_TIME = "/usr/bin/time";
export const rssMethod = existsSync(GNU_TIME) ? "gnu-time" : "proc-vmhwm-poll";

let rssDir;
let seq = 0;

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ timeoutMs: number, cwd?: string, env?: object,
 *           onLine?: (line: string, ctl: { kill: (sig?: string) => void, pid: () => number|null }) => void,
 *           onStart?: (ctl: { kill: (sig?: string) => void, pid: () => number|null }) => void,
 *           stdoutFile?: string, maxOutput?: number }} opts
 *   stdoutFile: the child's stdout is appended to this file instead of a pipe to us (a server that
 *   logs every request must never wait for the harness to read); `stdout` is then empty.
 * @returns {Promise<{ code: number|null, signal: string|null, timedOut: boolean, killed: boolean,
 *   elapsedMs: number, peakRssMb: number|null, stdout: string, stderr: string, spawnError?: string }>}
 */
export function runMeasured(cmd, args, opts) {
  const { timeoutMs, cwd, env, onLine, onStart, stdoutFile, maxOutput = 1 << 20 } = opts;
  rssDir ??= makeTempDir("reel-bench-rss-").dir;
  const rssFile = join(rssDir, `rss-${process.pid}-${seq++}.txt`);
  const argv = rssMethod === "gnu-time" ? [GNU_TIME, ["-f", "%M", "-o", rssFile, cmd, ...args]] : [cmd, args];

  return new Promise((resolve) => {
    const started = performance.now();
    let stdout = "";
    let stderr = "";
    let pending = "";
    let timedOut = false;
    let killed = false;
    let polledKb = 0;
    let pollTimer;

    // detached: the child leads its own process group, so a timeout or kill takes
    // down the wrapper and the tool (and anything the tool forked) together.
    const outFd = stdoutFile ? openSync(stdoutFile, "a") : null;
    const child = spawn(argv[0], argv[1], {
      cwd,
      env: env ?? process.env,
      stdio: ["ignore", outFd ?? "pipe", "pipe"],
      detached: true,
    });
    if (outFd != null) closeSync(outFd);

    const killGroup = (sig = "SIGKILL") => {
      try {
        process.kill(-child.pid, sig);
      } catch {}
    };
    const unregister = onCleanup(() => killGroup("SIGKILL"));

    // The tool's own pid: with GNU time in between it is the wrapper's only child.
    const toolPid = () => {
      if (rssMethod !== "gnu-time") return child.pid;
      try {
        const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim();
        return kids ? Number(kids.split(/\s+/)[0]) : null;
      } catch {
        return null;
      }
    };
    const ctl = {
      /** The measured tool's pid (not the wrapper's); null until GNU time has started it. */
      pid: toolPid,
      /** Signal the measured tool itself (not the wrapper), e.g. SIGKILL mid-download. */
      kill(sig = "SIGKILL") {
        killed = true;
        const pid = toolPid();
        try {
          if (pid) process.kill(pid, sig);
          else killGroup(sig);
        } catch {}
      },
    };

    if (rssMethod !== "gnu-time") {
      pollTimer = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
          if (m) polledKb = Math.max(polledKb, Number(m[1]));
        } catch {}
      }, 20);
    }

    const timer = setTimeout(() => {
      timedOut = true;
      killGroup("SIGKILL");
    }, timeoutMs);

    onStart?.(ctl);
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk) => {
      if (stdout.length < maxOutput) stdout += chunk;
      if (!onLine) return;
      pending += chunk;
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          onLine(line, ctl);
        } catch (err) {
          stderr += `\n[bench] onLine: ${err.message}`;
        }
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      if (stderr.length < maxOutput) stderr += chunk;
    });

    let spawnError;
    child.on("error", (err) => {
      spawnError = err.message;
    });
    child.on("close", async (code, signal) => {
      const elapsedMs = performance.now() - started;
      clearTimeout(timer);
      clearInterval(pollTimer);
      await unregister().catch(() => {});
      // Whatever the tool forked and left running goes too.
      killGroup("SIGKILL");
      let peakRssMb = null;
      if (rssMethod === "gnu-time") {
        try {
          // GNU time writes "Command terminated by signal 9" first when the tool was killed.
          const lines = readFileSync(rssFile, "utf8").trim().split("\n");
          const kb = Number(lines.at(-1));
          if (Number.isFinite(kb) && kb > 0) peakRssMb = kb / 1024;
          // GNU time's own exit status is the tool's; a signal shows as 128+n.
          const sig = lines.find((l) => l.startsWith("Command terminated by signal"));
          if (sig && !signal) signal = signalName(Number(sig.split(" ").at(-1)));
        } catch {}
        rmSync(rssFile, { force: true });
      } else if (polledKb > 0) {
        peakRssMb = polledKb / 1024;
      }
      if (code === 127 && rssMethod === "gnu-time" && !spawnError && /No such file|cannot run/.test(stderr)) {
        spawnError = `cannot run ${cmd}`;
      }
      resolve({ code, signal, timedOut, killed, elapsedMs, peakRssMb, stdout, stderr, spawnError });
    });
  });
}

/** A short, single-line reason for a failed run, for a row's "error" field. */
export function failureReason(res, what) {
  if (res.spawnError) return `${what}: ${res.spawnError}`;
  if (res.timedOut) return `${what}: timed out after ${Math.round(res.elapsedMs / 1000)} s`;
  const tail = (res.stderr || res.stdout).trim().split("\n").slice(-3).join(" | ").slice(0, 400);
  return `${what}: exit ${res.code ?? res.signal}${tail ? `: ${tail}` : ""}`;
}

function signalName(n) {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}
