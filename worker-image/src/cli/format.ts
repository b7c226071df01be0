// Plain-text formatting for the CLI: sizes, durations, the final table, and `printable`, which
// every text that came from a manifest or a source passes before it reaches the terminal.
import type { JobResult } from "../pipeline/job.ts";

// C0 and C1 controls, DEL, and the bidi overrides/isolates that reorder what a line shows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const TERMINAL_ACTIVE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * `text` made inert for a terminal: every control character (ESC of ANSI/OSC sequences, CR, LF,
 * BEL, C1) shown as an escape, so a title cannot clear the screen, set the window title or forge a
 * row. With `lines`, LF stays a line break and the lines after the first are indented.
 */
export function printable(text: string, o: { lines?: boolean } = {}): string {
  const inert = (s: string) =>
    s.replace(TERMINAL_ACTIVE, (c) => {
      const n = c.codePointAt(0) ?? 0;
      return NAMED[c] ?? (n > 0xff ? `\\u${n.toString(16)}` : `\\x${n.toString(16).padStart(2, "0")}`);
    });
  if (!o.lines) return inert(text);
  return text
    .split("\n")
    .map((l, i) => (i === 0 ? inert(l) : `    ${inert(l)}`))
    .join("\n");
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return "-";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

export function secs(s: number | undefined): string {
  if (s === undefined) return "-";
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - m * 60)
    .toString()
    .padStart(2, "0")}s`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

type Episode = JobResult["episodes"][number];

/** "-41.8 → -16.0 LUFS", "(limited)" when the limiter held peaks, "silent"; "-" when not normalised. */
export function loudnessCell(e: Episode): string {
  const l = e.loudness;
  if (!l) return "-";
  if (l.method === "none") return "silent";
  const db = (n: number | undefined) => (n === undefined ? "?" : n.toFixed(1));
  return `${db(l.input.integrated)} → ${db(l.output?.integrated)} LUFS${l.method === "limited" ? " (limited)" : ""}`;
}

/** "94.56", with how a VMAF target was met: "94.56 (target 93, level 4)", "91.20 (target 93 missed, level 1)". */
export function vmafCell(e: Episode): string {
  const q = e.quality;
  if (q?.vmaf === undefined) return "-";
  const t = q.target?.metric === "vmaf" ? q.target : undefined;
  const how = t ? ` (target ${t.score}${t.reached ? "" : " missed"}, level ${t.level})` : "";
  return `${q.vmaf.toFixed(2)}${how}`;
}

/** What was done to the picture: "tone-mapped PQ", "deinterlaced", "from BT.601", "from full range". */
export function pictureCell(e: Episode): string {
  const p = e.picture;
  if (!p) return "-";
  const what: string[] = [];
  if (p.toneMapped) what.push(`tone-mapped ${p.toneMapped.from === "smpte2084" ? "PQ" : "HLG"}`);
  if (p.deinterlaced) what.push(p.deinterlaced.pulldown ? "film rebuilt (pulldown)" : "deinterlaced");
  const from = p.convertedFrom ?? "";
  if (/smpte170m|bt470bg|bt470m/.test(from)) what.push("from BT.601");
  else if (from && !from.includes("full")) what.push(`from ${from.split(",")[0]}`);
  if (from.includes("full range")) what.push("from full range");
  return what.join(", ") || "-";
}

export function summary(r: JobResult): string {
  // A vmaf column only when some episode was scored with VMAF (qualityMetrics or a VMAF target).
  const vmaf = r.episodes.some((e) => e.quality?.vmaf !== undefined);
  const rows = [
    ["#", "title", "phase", "source", "output", "ratio", "ssim", "psnr", "loudness", "picture", "encoder", "error"],
  ];
  if (vmaf) rows[0]?.splice(8, 0, "vmaf");
  for (const e of r.episodes) {
    const ratio = e.bytesDownloaded && e.bytesOutput ? `${(e.bytesDownloaded / e.bytesOutput).toFixed(2)}x` : "-";
    rows.push([
      String(e.index + 1),
      printable(e.title ?? ""),
      e.phase,
      bytes(e.bytesDownloaded),
      bytes(e.bytesOutput),
      ratio,
      e.quality?.ssim?.toFixed(4) ?? "-",
      e.quality?.psnr !== undefined ? `${e.quality.psnr.toFixed(1)} dB` : "-",
      loudnessCell(e),
      pictureCell(e),
      printable(e.encoder ?? "-"),
      printable(e.error?.code ?? (e.warnings ?? []).map((w) => `${w.code} (warning)`).join(" ")),
    ]);
    if (vmaf) rows.at(-1)?.splice(8, 0, vmafCell(e));
  }
  const stages = Object.entries(r.stageSeconds)
    .map(([k, v]) => `${k} ${secs(v)}`)
    .join(", ");
  const warned = r.episodes.flatMap((e) => (e.warnings ?? []).map((w) => `episode ${e.index + 1}: ${w.message}`));
  const warnings = warned.length ? `\n\nwarnings:\n${warned.map((w) => `  ${printable(w)}`).join("\n")}` : "";
  return `${table(rows)}${warnings}\n\ntime per stage (summed over episodes): ${stages || "-"}`;
}
