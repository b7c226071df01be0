// download-throttled and download-unthrottled: one file over loopback nginx, reel against
// aria2c and curl, MB/s (10^6 bytes per second) of wall time per child process.
import { join } from "node:path";
import { makeTempDir } from "../lib/cleanup.mjs";
import { blob, sha256File } from "../lib/fixtures.mjs";
import { nginxSizeBytes, startNginx } from "../lib/nginx.mjs";
import { goal, round } from "../lib/report.mjs";
import { rowsFrom, runRounds } from "../lib/rounds.mjs";
import { nodeFloorRssMb, reelAvailable } from "../lib/tools.mjs";
import { MB, aria2Download, curlDownload, reelDownload, removeDownload } from "./download-tools.mjs";

const MiB = 1024 ** 2;

function sizing(quick) {
  return quick
    ? { size: 128 * MiB, rounds: 3, curlCapSeconds: 5 }
    : { size: 1024 * MiB, rounds: 5, curlCapSeconds: 20 };
}

/**
 * Wraps a tool's download so each round starts from an empty dest, the first successful
 * round is checked against the source's sha256, and the file is removed afterwards.
 */
function tool(name, dir, source, fn) {
  const state = { checksumOk: null };
  return {
    name,
    state,
    async run(r) {
      const dest = join(dir, `${name}-${r}.bin`);
      removeDownload(dest);
      try {
        const out = await fn(dest);
        if (state.checksumOk === null && !out.capped) state.checksumOk = (await sha256File(dest)) === source.sha256;
        state.last = out;
        return out;
      } finally {
        removeDownload(dest);
      }
    },
  };
}

export async function downloadThrottled({ quick, log }) {
  const { size, rounds, curlCapSeconds } = sizing(quick);
  const connections = 16;
  const limitRate = "4m";
  const perConn = nginxSizeBytes(limitRate);
  const source = await blob(size);
  const server = await startNginx({ root: source.path.slice(0, source.path.lastIndexOf("/")), limitRate });
  const { dir, remove } = makeTempDir("reel-bench-dl-");
  const url = `${server.baseUrl}/${source.path.split("/").at(-1)}`;
  // Generous: ten times the time the slowest tool should need.
  const timeoutMs = Math.max(60_000, ((size / perConn) * 1000 * 10) / connections);
  try {
    const tools = [
      tool("reel", dir, source, (dest) => reelDownload({ url, dest, size, connections, timeoutMs })),
      tool("aria2c", dir, source, (dest) => aria2Download({ url, dest, size, timeoutMs })),
      tool("curl", dir, source, (dest) =>
        curlDownload({ url, dest, size, capSeconds: curlCapSeconds, timeoutMs: (curlCapSeconds + 30) * 1000 }),
      ),
    ];
    const results = await runRounds({ rounds, tools, log });
    const rows = rowsFrom(results, (name) => {
      const t = tools.find((x) => x.name === name);
      const extra = { checksum_ok: t.state.checksumOk };
      if (name === "reel")
        Object.assign(extra, { connections, connections_used: t.state.last?.report?.connectionsUsed ?? null });
      if (name === "aria2c") extra.connections = 16;
      if (name === "curl") Object.assign(extra, { connections: 1, capped_at_s: curlCapSeconds });
      return extra;
    });
    const by = Object.fromEntries(rows.map((r) => [r.tool, r]));
    const ideal = (connections * perConn) / MB;
    const reel = by.reel?.median;
    const goals = [
      goal(
        "reel >= aria2c",
        reel != null && by.aria2c?.median != null ? reel >= by.aria2c.median : null,
        `${reel ?? "-"} vs ${by.aria2c?.median ?? "-"} MB/s`,
      ),
      goal(
        `reel >= 0.9 x ${connections} connections x ${limitRate}/s`,
        reel != null ? reel >= 0.9 * ideal : null,
        `${reel ?? "-"} vs ${round(0.9 * ideal)} MB/s (ideal ${round(ideal)})`,
      ),
      goal(
        "reel peak RSS < 64 MiB",
        by.reel?.peak_rss_mb != null ? by.reel.peak_rss_mb < 64 : null,
        rssDetail(by.reel, await reelAvailable(), await nodeFloorRssMb()),
      ),
    ];
    return {
      scenario: "download-throttled",
      unit: "MB/s",
      higher_is_better: true,
      rows,
      goals,
      params: {
        file_bytes: size,
        limit_rate_per_connection: `${limitRate} (${perConn} B/s)`,
        rounds,
        reel_connections: connections,
        aria2c_flags: "-x16 -s16 -k1M --file-allocation=none",
        curl_capped_at_s: curlCapSeconds,
        node_rss_floor_mb: round(await nodeFloorRssMb()),
        reel_idle_rss_mb: (await reelAvailable()).ok ? round((await reelAvailable()).idleRssMb) : null,
        mb: "10^6 bytes",
        wall_time: "child process spawn to exit, including startup",
      },
    };
  } finally {
    await server.stop();
    await remove();
  }
}

/** The goal counts the whole Node process; say how much of it Node itself and the idle binding take. */
export function rssDetail(row, avail, floorMb) {
  const floor = floorMb ? `; bare node -e "": ${round(floorMb)} MiB` : "";
  const idle = avail?.ok && avail.idleRssMb ? `; node + @reel/native loaded, idle: ${round(avail.idleRssMb)} MiB` : "";
  return `${row?.peak_rss_mb ?? "-"} MiB peak, whole Node process${floor}${idle}`;
}

export async function downloadUnthrottled({ quick, log }) {
  const { size, rounds } = sizing(quick);
  const source = await blob(size);
  const server = await startNginx({ root: source.path.slice(0, source.path.lastIndexOf("/")) });
  const { dir, remove } = makeTempDir("reel-bench-dl-");
  const url = `${server.baseUrl}/${source.path.split("/").at(-1)}`;
  const timeoutMs = Math.max(120_000, (size / (20 * MB)) * 1000);
  try {
    // Exploration: one run per candidate, keep the fastest as the row.
    const explored = {};
    let best = 8;
    if ((await reelAvailable()).ok) {
      for (const c of [1, 4, 8]) {
        const dest = join(dir, `explore-${c}.bin`);
        try {
          const out = await reelDownload({ url, dest, size, connections: c, timeoutMs });
          explored[c] = round(out.value);
          log(`explore reel connections=${c}: ${round(out.value)} MB/s`);
        } catch (err) {
          explored[c] = `error: ${err.message}`;
          log(`explore reel connections=${c}: ERROR ${err.message}`);
        } finally {
          removeDownload(dest);
        }
      }
      const ok = Object.entries(explored).filter(([, v]) => typeof v === "number");
      if (ok.length) best = Number(ok.sort((a, b) => b[1] - a[1])[0][0]);
    }
    const tools = [
      tool("reel", dir, source, (dest) => reelDownload({ url, dest, size, connections: best, timeoutMs })),
      tool("curl", dir, source, (dest) => curlDownload({ url, dest, size, timeoutMs })),
      tool("aria2c", dir, source, (dest) => aria2Download({ url, dest, size, timeoutMs })),
    ];
    const results = await runRounds({ rounds, tools, log });
    const rows = rowsFrom(results, (name) => {
      const t = tools.find((x) => x.name === name);
      const extra = { checksum_ok: t.state.checksumOk };
      extra.connections = name === "reel" ? best : name === "curl" ? 1 : 16;
      return extra;
    });
    const by = Object.fromEntries(rows.map((r) => [r.tool, r]));
    const reel = by.reel?.median;
    const curl = by.curl?.median;
    const goals = [
      goal(
        "reel >= 0.9 x curl",
        reel != null && curl != null ? reel >= 0.9 * curl : null,
        `${reel ?? "-"} vs ${curl != null ? round(0.9 * curl) : "-"} MB/s (curl ${curl ?? "-"})`,
      ),
    ];
    return {
      scenario: "download-unthrottled",
      unit: "MB/s",
      higher_is_better: true,
      rows,
      goals,
      params: {
        file_bytes: size,
        rounds,
        reel_connections: best,
        reel_connections_explored_mb_s: explored,
        aria2c_flags: "-x16 -s16 -k1M --file-allocation=none",
        mb: "10^6 bytes",
        wall_time: "child process spawn to exit, including startup",
      },
    };
  } finally {
    await server.stop();
    await remove();
  }
}
