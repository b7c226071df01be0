// Finds (or installs) each tool a scenario compares, and says why one is unavailable
// instead of throwing: a missing baseline becomes a row with an "error" field.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { config } from "./config.mjs";
import { failureReason, runMeasured } from "./proc.mjs";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const reelCli = join(repoRoot, "bench", "tools", "reel-cli.mjs");

/** Node 24 for reel's child processes: the one running us when it is new enough. */
export function nodeBinary() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= 24) return process.execPath;
  const pinned = join(repoRoot, "node_modules", ".bin", "node");
  return existsSync(pinned) ? pinned : process.execPath;
}

const memo = new Map();
function once(key, fn) {
  if (!memo.has(key)) memo.set(key, fn());
  return memo.get(key);
}

/** Peak RSS of a bare Node process: the floor under any reel row's peak_rss_mb. */
export function nodeFloorRssMb() {
  return once("node-floor", async () => {
    const res = await runMeasured(nodeBinary(), ["-e", ""], { timeoutMs: 30_000 });
    return res.code === 0 ? res.peakRssMb : null;
  });
}

/** Parses reel-cli's JSON lines. */
export function parseReelEvents(stdout) {
  const events = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line));
    } catch {}
  }
  return events;
}

/**
 * The `done` event of a reel (or transcode) CLI child; throws naming its `error` event, or its
 * exit when it printed none.
 */
export function reelOutcome(res, label = "reel") {
  const events = parseReelEvents(res.stdout);
  const done = events.find((e) => e.event === "done");
  if (res.code === 0 && done) return { done, events };
  const error = events.find((e) => e.event === "error");
  throw new Error(error ? `${label}: ${error.code ?? "error"}: ${error.message}` : failureReason(res, label));
}

/** { ok: true, idleRssMb } when the binding loads here, else { ok: false, error }. */
export function reelAvailable() {
  return once("reel", async () => {
    const res = await runMeasured(nodeBinary(), [reelCli, "probe"], { timeoutMs: 60_000, cwd: repoRoot });
    const done = parseReelEvents(res.stdout).find((e) => e.event === "done" || e.event === "error");
    if (res.code === 0 && done?.event === "done")
      return { ok: true, idleRssMb: res.peakRssMb, startupMs: res.elapsedMs };
    const why = done?.event === "error" ? done.message : failureReason(res, "reel-cli probe");
    return { ok: false, error: `reel binding unavailable (build it: npm run build -w @reel/native): ${why}` };
  });
}

export function commandAvailable(cmd, args = ["--version"]) {
  return once(`cmd:${cmd}`, async () => {
    const res = await runMeasured(cmd, args, { timeoutMs: 20_000 });
    if (res.code === 0) return { ok: true, version: (res.stdout || res.stderr).split("\n")[0].trim() };
    return { ok: false, error: `${cmd} unavailable: ${failureReason(res, cmd)}` };
  });
}

/**
 * yt-dlp pinned from PyPI in a venv under the cache dir, installed on first use.
 * { ok, bin, version } or { ok: false, error }.
 */
export function ytDlpAvailable(log = () => {}) {
  return once("yt-dlp", async () => {
    const bin = join(config.venvDir, "bin", "yt-dlp");
    const want = config.ytDlpVersion;
    const installed = async () => {
      if (!existsSync(bin)) return null;
      const res = await runMeasured(bin, ["--version"], { timeoutMs: 30_000 });
      return res.code === 0 ? res.stdout.trim() : null;
    };
    let have = await installed();
    if (have !== want) {
      log(`installing yt-dlp==${want} from PyPI into ${config.venvDir}`);
      if (!existsSync(join(config.venvDir, "bin", "pip"))) {
        const venv = await runMeasured(config.python, ["-m", "venv", config.venvDir], { timeoutMs: 120_000 });
        if (venv.code !== 0)
          return { ok: false, error: `yt-dlp unavailable: ${failureReason(venv, "python3 -m venv")}` };
      }
      const pip = await runMeasured(
        join(config.venvDir, "bin", "pip"),
        ["install", "--quiet", "--disable-pip-version-check", `yt-dlp==${want}`],
        { timeoutMs: 300_000 },
      );
      if (pip.code !== 0)
        return { ok: false, error: `yt-dlp unavailable: ${failureReason(pip, `pip install yt-dlp==${want}`)}` };
      have = await installed();
    }
    if (have !== want) return { ok: false, error: `yt-dlp unavailable: found ${have ?? "nothing"}, want ${want}` };
    return { ok: true, bin, version: have };
  });
}

/** An Error that tells runRounds to stop trying this tool for the rest of the scenario. */
export function unavailable(message) {
  return Object.assign(new Error(message), { fatalForTool: true });
}

/**
 * Adds rss_over_idle_mb to the reel row: its peak RSS less that of a Node process with
 * @reel/native loaded and idle, i.e. what the operation itself cost.
 */
export async function annotateReelRss(rows) {
  const avail = await reelAvailable();
  for (const row of rows) {
    if (row.tool === "reel" && row.peak_rss_mb != null && avail.ok && avail.idleRssMb) {
      row.rss_over_idle_mb = Math.round((row.peak_rss_mb - avail.idleRssMb) * 100) / 100;
    }
  }
  return rows;
}
