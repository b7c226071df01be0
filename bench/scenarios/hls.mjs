// hls: an HLS VOD (master playlist -> one variant -> N one-second TS segments) on a
// rate-limited loopback nginx, fetched by reel's downloadHls and by yt-dlp's native HLS
// downloader with 1 and 8 concurrent fragments. Seconds of wall time, lower is better.
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../lib/cleanup.mjs";
import { hlsVod } from "../lib/fixtures.mjs";
import { startNginx } from "../lib/nginx.mjs";
import { failureReason, runMeasured } from "../lib/proc.mjs";
import { goal } from "../lib/report.mjs";
import { rowsFrom, runRounds } from "../lib/rounds.mjs";
import {
  nodeBinary,
  reelOutcome,
  reelAvailable,
  reelCli,
  repoRoot,
  unavailable,
  ytDlpAvailable,
} from "../lib/tools.mjs";
import { LOOPBACK } from "./download-tools.mjs";

/**
 * The fixed, safe yt-dlp flag set (as in the worker): no config files, no cache, no
 * external downloader or --exec, the native HLS downloader, output kept as MPEG-TS and
 * no ffmpeg fixup, so it writes the same concatenated segments reel does.
 */
export function ytDlpArgs({ url, dest, fragments }) {
  return [
    "--ignore-config",
    "--no-cache-dir",
    "--no-playlist",
    "--no-part",
    "--no-mtime",
    "--no-progress",
    "--quiet",
    "--no-warnings",
    "--hls-prefer-native",
    "--hls-use-mpegts",
    "--fixup",
    "never",
    "--socket-timeout",
    "30",
    "--concurrent-fragments",
    String(fragments),
    "-o",
    dest,
    url,
  ];
}

export async function hls({ quick, log }) {
  const p = quick ? { segments: 100, rounds: 2 } : { segments: 500, rounds: 5 };
  const limitRate = "1m";
  const videoKbps = 800;
  const height = 240;
  const reelConcurrency = 8;
  const vod = await hlsVod({ segments: p.segments, height, videoKbps });
  const segBytes = readdirSync(join(vod.dir, "v0"))
    .filter((f) => f.endsWith(".ts"))
    .reduce((sum, f) => sum + statSync(join(vod.dir, "v0", f)).size, 0);
  const server = await startNginx({ root: vod.dir, limitRate });
  const { dir, remove } = makeTempDir("reel-bench-hls-");
  const url = `${server.baseUrl}/${vod.master}`;
  const timeoutMs = quick ? 120_000 : 600_000;
  const bytesSeen = {};

  const checkOutput = (name, dest) => {
    const bytes = existsSync(dest) ? statSync(dest).size : 0;
    bytesSeen[name] = bytes;
    // Both write the segments back to back; a short file means missing segments.
    if (bytes < segBytes * 0.99) throw new Error(`${name}: wrote ${bytes} bytes, the segments hold ${segBytes}`);
  };
  const clean = (dest) => {
    rmSync(dest, { force: true });
    for (const f of readdirSync(dir))
      if (f.startsWith(dest.split("/").at(-1))) rmSync(join(dir, f), { force: true, recursive: true });
  };

  let reelReport;
  const reel = {
    name: "reel",
    async run(r) {
      const avail = await reelAvailable();
      if (!avail.ok) throw unavailable(avail.error);
      const dest = join(dir, `reel-${r}.ts`);
      clean(dest);
      try {
        const options = { url, dest, concurrency: reelConcurrency, net: { allow: LOOPBACK } };
        const res = await runMeasured(nodeBinary(), [reelCli, "hls", JSON.stringify(options)], {
          timeoutMs,
          cwd: repoRoot,
        });
        const { done } = reelOutcome(res);
        if (done.report.segments !== vod.segments)
          throw new Error(`reel: fetched ${done.report.segments} segments, want ${vod.segments}`);
        checkOutput("reel", dest);
        reelReport = done.report;
        return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
      } finally {
        clean(dest);
      }
    },
  };
  const ytDlp = (fragments) => ({
    name: `yt-dlp-N${fragments}`,
    async run(r) {
      const avail = await ytDlpAvailable(log);
      if (!avail.ok) throw unavailable(avail.error);
      const dest = join(dir, `ytdlp-n${fragments}-${r}.ts`);
      clean(dest);
      try {
        const res = await runMeasured(avail.bin, ytDlpArgs({ url, dest, fragments }), { timeoutMs, cwd: dir });
        if (res.code !== 0) throw new Error(failureReason(res, `yt-dlp -N ${fragments}`));
        checkOutput(`yt-dlp-N${fragments}`, dest);
        return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
      } finally {
        clean(dest);
      }
    },
  });

  try {
    const tools = [reel, ytDlp(1), ytDlp(8)];
    const results = await runRounds({ rounds: p.rounds, tools, log });
    const rows = rowsFrom(results, (name) => ({
      concurrency: name === "reel" ? reelConcurrency : Number(name.split("-N")[1]),
      output_bytes: bytesSeen[name] ?? null,
      ...(name === "reel" && reelReport
        ? { segments: reelReport.segments, variant_height: reelReport.variantHeight }
        : {}),
    }));
    const by = Object.fromEntries(rows.map((r) => [r.tool, r]));
    const yt = await ytDlpAvailable();
    const goals = [
      goal(
        "reel <= yt-dlp-N8 time",
        by.reel.median != null && by["yt-dlp-N8"].median != null ? by.reel.median <= by["yt-dlp-N8"].median : null,
        `${by.reel.median ?? "-"} s vs ${by["yt-dlp-N8"].median ?? "-"} s`,
      ),
    ];
    return {
      scenario: "hls",
      unit: "s",
      higher_is_better: false,
      rows,
      goals,
      params: {
        segments: vod.segments,
        segment_seconds: 1,
        variant: `${Math.round((height * 16) / 9 / 2) * 2}x${height}, ${videoKbps} kb/s CBR video + 64 kb/s AAC`,
        segment_bytes_total: segBytes,
        limit_rate_per_connection: limitRate,
        rounds: p.rounds,
        reel_concurrency: reelConcurrency,
        yt_dlp_version: yt.ok ? yt.version : null,
        yt_dlp_flags: ytDlpArgs({ url: "URL", dest: "OUT", fragments: "N" }).join(" "),
      },
    };
  } finally {
    await server.stop();
    await remove();
  }
}
