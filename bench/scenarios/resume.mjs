// download-resume: SIGKILL reel's download process at about half way, then run the same
// download again in a fresh process and measure the resumed run. Repeated `runs` times.
//
// Re-fetched bytes are counted on the server: nginx logs the body bytes of every request,
// so (bytes served to both processes) - (file size) is what crossed the wire twice,
// including data that was in flight when the first process died. The count derived from
// reel's own reports (downloaded at kill - resumedBytes, plus any duplicate fetch in the
// resumed run) is kept beside it; it is a lower bound, as the last progress event lags.
import { join } from "node:path";
import { makeTempDir } from "../lib/cleanup.mjs";
import { blob, sha256File } from "../lib/fixtures.mjs";
import { nginxSizeBytes, startNginx } from "../lib/nginx.mjs";
import { errorRow, goal, makeRow, round } from "../lib/report.mjs";
import { reelAvailable } from "../lib/tools.mjs";
import { reelDownload, removeDownload } from "./download-tools.mjs";

const MiB = 1024 ** 2;

export async function downloadResume({ quick, log }) {
  const p = quick ? { size: 64 * MiB, limitRate: "1m", runs: 5 } : { size: 256 * MiB, limitRate: "2m", runs: 20 };
  const connections = 16;
  const chunkSize = 1 * MiB;
  const killAt = 0.5;
  const perConn = nginxSizeBytes(p.limitRate);
  const params = {
    file_bytes: p.size,
    limit_rate_per_connection: `${p.limitRate} (${perConn} B/s)`,
    runs: p.runs,
    connections,
    chunk_size: chunkSize,
    kill_at_fraction: killAt,
    kill_signal: "SIGKILL",
    refetched_bytes: "bytes nginx served across both processes minus the file size (max over runs)",
  };
  const base = { scenario: "download-resume", unit: "s", higher_is_better: false, params };
  const limit = connections * chunkSize;
  const goalName = `refetched bytes <= connections x chunk size (${limit})`;

  const avail = await reelAvailable();
  if (!avail.ok)
    return { ...base, rows: [errorRow("reel", avail.error)], goals: [goal(goalName, null, "reel unavailable")] };

  const source = await blob(p.size);
  const server = await startNginx({
    root: source.path.slice(0, source.path.lastIndexOf("/")),
    limitRate: p.limitRate,
    accessLog: true,
  });
  const { dir, remove } = makeTempDir("reel-bench-resume-");
  const url = `${server.baseUrl}/${source.path.split("/").at(-1)}`;
  const timeoutMs = Math.max(60_000, ((p.size / perConn) * 1000 * 10) / connections);

  const samples = [];
  const errors = [];
  const refetchedServer = [];
  const refetchedReported = [];
  const killedAtFractions = [];
  let checksumOk = true;
  try {
    for (let i = 0; i < p.runs; i++) {
      const dest = join(dir, `resume-${i}.bin`);
      removeDownload(dest);
      const logBefore = server.readAccessLog().length;
      try {
        // 1. First process, killed at about half way.
        let downloadedAtKill = null;
        const first = await reelDownload({
          url,
          dest,
          connections,
          chunkSize,
          timeoutMs,
          progress: true,
          onLine(line, ctl) {
            if (downloadedAtKill !== null || !line.includes('"progress"')) return;
            const ev = JSON.parse(line);
            const total = ev.total ?? p.size;
            if (ev.downloaded >= total * killAt) {
              downloadedAtKill = ev.downloaded;
              ctl.kill("SIGKILL");
            }
          },
        });
        if (!first.killed)
          throw new Error("the first run finished before it could be killed at 50%: lower the rate or grow the file");
        // 2. A fresh process resumes the same dest.
        const second = await reelDownload({ url, dest, size: p.size, connections, chunkSize, timeoutMs });
        const ok = (await sha256File(dest)) === source.sha256;
        checksumOk &&= ok;
        // Give nginx a moment to log the requests the killed process left behind.
        await new Promise((r) => setTimeout(r, 300));
        const served = server
          .readAccessLog()
          .slice(logBefore)
          .reduce((sum, e) => sum + e.bodyBytes, 0);
        const rep = second.report;
        const reported =
          Math.max(0, downloadedAtKill - rep.resumedBytes) + Math.max(0, rep.fetchedBytes + rep.resumedBytes - p.size);
        refetchedServer.push(served - p.size);
        refetchedReported.push(reported);
        killedAtFractions.push(downloadedAtKill / p.size);
        samples.push({ value: second.elapsedMs / 1000, rssMb: second.rssMb });
        log(
          `run ${i + 1}/${p.runs}: killed at ${round((100 * downloadedAtKill) / p.size)}%, resumed ${rep.resumedBytes} B, ` +
            `fetched ${rep.fetchedBytes} B in ${round(second.elapsedMs / 1000)} s; re-fetched ${served - p.size} B (server), ` +
            `${reported} B (reports); sha256 ${ok ? "ok" : "MISMATCH"}`,
        );
      } catch (err) {
        errors.push(err.message);
        log(`run ${i + 1}/${p.runs}: ERROR ${err.message}`);
        if (err.fatalForTool) break;
      } finally {
        removeDownload(dest);
      }
    }
  } finally {
    await server.stop();
    await remove();
  }
  const maxOrNull = (a) => (a.length ? Math.max(...a) : null);
  const refetched = maxOrNull(refetchedServer);
  const row = makeRow("reel", samples, errors, {
    refetched_bytes: refetched,
    refetched_bytes_reported: maxOrNull(refetchedReported),
    checksum_ok: samples.length ? checksumOk : null,
    killed_at_pct: killedAtFractions.length
      ? round((100 * killedAtFractions.reduce((a, b) => a + b, 0)) / killedAtFractions.length)
      : null,
  });
  const goals = [
    goal(
      goalName,
      refetched != null ? refetched <= limit && checksumOk : null,
      `max ${refetched ?? "-"} B over ${samples.length} runs; checksums ${checksumOk ? "all ok" : "MISMATCH"}`,
    ),
  ];
  return { ...base, rows: [row], goals };
}
