// One download by each tool the download scenarios compare, as a measured child process.
// Each returns { value: MB/s, rssMb, bytes, elapsedMs, report? } or throws with a reason.
import { existsSync, rmSync, statSync } from "node:fs";
import { failureReason, runMeasured } from "../lib/proc.mjs";
import {
  commandAvailable,
  nodeBinary,
  parseReelEvents,
  reelOutcome,
  reelAvailable,
  reelCli,
  repoRoot,
  unavailable,
} from "../lib/tools.mjs";

export const MB = 1e6;
/** Loopback is refused by reel's egress guard unless the runner allows it. */
export const LOOPBACK = ["127.0.0.1/32"];

export function removeDownload(dest) {
  for (const p of [dest, `${dest}.part`, `${dest}.reel-ctl`, `${dest}.aria2`]) rmSync(p, { force: true });
}

function sizeOf(path) {
  return existsSync(path) ? statSync(path).size : 0;
}

function throughput(bytes, elapsedMs) {
  return bytes / MB / (elapsedMs / 1000);
}

/** reel's download() in a fresh Node process (tools/reel-cli.mjs). */
export async function reelDownload({ url, dest, size, connections, chunkSize, timeoutMs, onLine, progress = false }) {
  const avail = await reelAvailable();
  if (!avail.ok) throw unavailable(avail.error);
  const options = {
    url,
    dest,
    connections,
    perHostConnections: connections,
    net: { allow: LOOPBACK, progressIntervalMs: 50 },
  };
  if (chunkSize) options.chunkSize = chunkSize;
  const args = [reelCli, "download", JSON.stringify(options)];
  if (progress) args.push("--progress");
  const res = await runMeasured(nodeBinary(), args, { timeoutMs, cwd: repoRoot, onLine });
  if (res.killed) return { killed: true, res, events: parseReelEvents(res.stdout) };
  const { done } = reelOutcome(res);
  const bytes = sizeOf(dest);
  if (size != null && bytes !== size) throw new Error(`reel: wrote ${bytes} bytes, want ${size}`);
  return {
    value: throughput(bytes, res.elapsedMs),
    rssMb: res.peakRssMb,
    bytes,
    elapsedMs: res.elapsedMs,
    report: done.report,
  };
}

/**
 * aria2c -x16 -s16 -k1M, with the config file ignored and no preallocation
 * (--file-allocation=none: the default "prealloc" writes the whole file first, which
 * would measure the disk, not the download).
 */
export async function aria2Download({ url, dest, size, timeoutMs }) {
  const avail = await commandAvailable("aria2c");
  if (!avail.ok) throw unavailable(avail.error);
  const dir = dest.slice(0, dest.lastIndexOf("/"));
  const name = dest.slice(dest.lastIndexOf("/") + 1);
  const res = await runMeasured(
    "aria2c",
    [
      "--no-conf=true",
      "-x16",
      "-s16",
      "-k1M",
      "--file-allocation=none",
      "--allow-overwrite=true",
      "--auto-file-renaming=false",
      "--summary-interval=0",
      "--console-log-level=warn",
      "--download-result=hide",
      "-q",
      "-d",
      dir,
      "-o",
      name,
      url,
    ],
    { timeoutMs },
  );
  if (res.code !== 0) throw new Error(failureReason(res, "aria2c"));
  const bytes = sizeOf(dest);
  if (bytes !== size) throw new Error(`aria2c: wrote ${bytes} bytes, want ${size}`);
  return { value: throughput(bytes, res.elapsedMs), rssMb: res.peakRssMb, bytes, elapsedMs: res.elapsedMs };
}

/**
 * curl, one connection. With capSeconds it stops there (--max-time) and the rate is what
 * it got in that window: a rate-limited single connection is steady, and a full 1 GiB at
 * 4 MiB/s would take over four minutes a round.
 */
export async function curlDownload({ url, dest, size, timeoutMs, capSeconds }) {
  const avail = await commandAvailable("curl");
  if (!avail.ok) throw unavailable(avail.error);
  const args = ["-sS", "--fail", "--no-progress-meter", "-o", dest];
  if (capSeconds) args.push("--max-time", String(capSeconds));
  args.push(url);
  const res = await runMeasured("curl", args, { timeoutMs });
  const bytes = sizeOf(dest);
  const capped = capSeconds && res.code === 28 && bytes > 0;
  if (res.code !== 0 && !capped) throw new Error(failureReason(res, "curl"));
  if (!capped && bytes !== size) throw new Error(`curl: wrote ${bytes} bytes, want ${size}`);
  return {
    value: throughput(bytes, res.elapsedMs),
    rssMb: res.peakRssMb,
    bytes,
    elapsedMs: res.elapsedMs,
    capped: Boolean(capped),
  };
}
