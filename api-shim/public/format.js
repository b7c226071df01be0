// Numbers and times as people read them. Pure functions (no DOM), tested in Node.

/** 1536 -> "1.5 KiB" */
export function formatBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** 3725 -> "1:02:05", 65 -> "1:05" */
export function formatDuration(secs) {
  if (typeof secs !== "number" || !Number.isFinite(secs) || secs < 0) return "";
  const s = Math.round(secs);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** An RFC 3339 time in the reader's locale; the raw text when it does not parse. */
export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** Quality scores of an episode as one line: "SSIM 0.987 · PSNR 41.2 dB · VMAF 95.1". */
export function formatQuality(q) {
  if (!q || typeof q !== "object") return "";
  const parts = [];
  if (typeof q.ssim === "number") parts.push(`SSIM ${q.ssim.toFixed(3)}`);
  if (typeof q.psnr === "number") parts.push(`PSNR ${q.psnr.toFixed(1)} dB`);
  if (typeof q.vmaf === "number") parts.push(`VMAF ${q.vmaf.toFixed(1)}`);
  return parts.join(" · ");
}

/** "Transcoding" for "transcoding" or "TRANSCODING" — stages from workers are lower case. */
export function formatStage(stage) {
  if (!stage) return "";
  const s = String(stage);
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

export const finalPhases = new Set(["Completed", "Failed", "Cancelled"]);

/**
 * Whether the shim takes a retry of this job (api-shim/src/jobs/retry.ts retryRefusal): Failed, or
 * Completed with a failed episode.
 * @param {any} status
 */
export function canRetry(status) {
  const phase = status?.phase;
  const failed = (status?.episodes ?? []).some((e) => e.phase === "Failed");
  return phase === "Failed" || (phase === "Completed" && failed);
}

/**
 * What was done to an episode's sound and picture, as `reel run`'s table says it
 * (worker-image/src/cli/format.ts): "-41.8 → -16.0 LUFS (limited)", "silent", "tone-mapped PQ",
 * "deinterlaced" or "film rebuilt (pulldown)", "from BT.601", "from full range".
 * @param {any} e an episode's status
 * @returns {string[]}
 */
export function formatTreatment(e) {
  const done = [];
  const l = e?.loudness;
  const db = (n) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(1) : "?");
  if (l?.method === "none") done.push("silent");
  else if (l)
    done.push(
      `${db(l.input?.integrated)} → ${db(l.output?.integrated)} LUFS${l.method === "limited" ? " (limited)" : ""}`,
    );
  const p = e?.picture;
  if (p?.toneMapped) done.push(`tone-mapped ${p.toneMapped.from === "smpte2084" ? "PQ" : "HLG"}`);
  if (p?.deinterlaced) done.push(p.deinterlaced.pulldown ? "film rebuilt (pulldown)" : "deinterlaced");
  const from = String(p?.convertedFrom ?? "");
  if (/smpte170m|bt470bg|bt470m/.test(from)) done.push("from BT.601");
  else if (from && !from.includes("full")) done.push(`from ${from.split(",")[0]}`);
  if (from.includes("full range")) done.push("from full range");
  return done;
}
