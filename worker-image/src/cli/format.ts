// Plain-text formatting for the CLI: sizes, durations and the final table.
import type { JobResult } from "../pipeline/job.ts";

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

export function summary(r: JobResult): string {
  const rows = [["#", "title", "phase", "source", "output", "ratio", "ssim", "psnr", "encoder", "error"]];
  for (const e of r.episodes) {
    const ratio = e.bytesDownloaded && e.bytesOutput ? `${(e.bytesDownloaded / e.bytesOutput).toFixed(2)}x` : "-";
    rows.push([
      String(e.index + 1),
      e.title ?? "",
      e.phase,
      bytes(e.bytesDownloaded),
      bytes(e.bytesOutput),
      ratio,
      e.quality?.ssim?.toFixed(4) ?? "-",
      e.quality?.psnr !== undefined ? `${e.quality.psnr.toFixed(1)} dB` : "-",
      e.encoder ?? "-",
      e.error?.code ?? "",
    ]);
  }
  const stages = Object.entries(r.stageSeconds)
    .map(([k, v]) => `${k} ${secs(v)}`)
    .join(", ");
  return `${table(rows)}\n\ntime per stage (summed over episodes): ${stages || "-"}`;
}
