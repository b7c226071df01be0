// The GPU check's report (written as JSON) and the one table printed from it. Pure: table-tested.
import type { TestOutcome } from "../../worker-image/src/hw/capabilities.ts";
import type { CheckOptions, CurveRun, DecodeRun } from "./plan.ts";

export type StepStatus = "ok" | "failed" | "skipped";

export interface Timing {
  wallSecs: number;
  /** CPU seconds of this process and every child it waited for (ffmpeg), user + system. */
  cpuSecs: number;
}

export interface DecodeRow extends Partial<Timing> {
  path: DecodeRun["path"];
  status: StepStatus;
  reason?: string;
  ssim?: number;
  psnr?: number;
  /** Peak GPU utilisation (percent) nvidia-smi sampled during the encode: NVDEC and SMs. */
  gpuPeak?: { decoder: number; sm: number; samples: number };
  frames?: number;
}

export interface CurveRow extends Partial<Timing> {
  mode: CurveRun["mode"];
  workers: number;
  threads: number;
  decode: CurveRun["decode"];
  status: StepStatus;
  reason?: string;
  /** The baseline's wall time over this row's. */
  speedup?: number;
  segments?: number;
  frames?: number;
}

export interface Detection {
  gpus: string[];
  ffmpeg: string;
  encoders: Record<string, TestOutcome>;
  decode: Record<string, boolean>;
  labels: Record<string, string>;
  warnings: string[];
}

export interface CheckReport {
  version: 1;
  startedAt: string;
  finishedAt?: string;
  machine: { cores: number; node: string; driverLibs: Record<string, string> };
  options: Omit<CheckOptions, "planOnly" | "out">;
  detection?: Detection;
  source?: { width: number; height: number; seconds: number; frames: number };
  decode: DecodeRow[];
  curve: CurveRow[];
  /** Why the check stopped early, when it did. */
  error?: string;
}

export interface TableRow {
  part: string;
  row: string;
  result: string;
  wall?: number;
  cpu?: number;
  ssim?: number;
  speedup?: number;
  note?: string;
}

const yesNo = (b: boolean) => (b ? "yes" : "no");
const oneLine = (s: string, max = 90) => {
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

function detectionRows(d: Detection, driverLibs: Record<string, string>): TableRow[] {
  const rows: TableRow[] = [{ part: "detect", row: "GPU", result: d.gpus.join(", ") || "none", note: d.ffmpeg }];
  for (const [lib, where] of Object.entries(driverLibs)) rows.push({ part: "detect", row: lib, result: where });
  for (const [kind, ok] of Object.entries(d.decode)) {
    if (kind === "cuda" || ok) rows.push({ part: "detect", row: `decode ${kind}`, result: yesNo(ok) });
  }
  for (const [enc, o] of Object.entries(d.encoders).sort(([a], [b]) => a.localeCompare(b))) {
    rows.push({
      part: "detect",
      row: `encode ${enc}`,
      result: yesNo(o.ok),
      ...(o.error ? { note: oneLine(o.error) } : {}),
    });
  }
  for (const [k, v] of Object.entries(d.labels)) rows.push({ part: "label", row: k, result: v });
  for (const w of d.warnings) rows.push({ part: "warn", row: "node-probe", result: "", note: oneLine(w, 140) });
  return rows;
}

const decodeNames: Record<DecodeRun["path"], string> = {
  "cuda>cpu": "cuda>cpu: NVDEC + scale_cuda, libx264",
  "none>cpu": "none>cpu: CPU decode + scale, libx264",
};

function decodeRow(r: DecodeRow): TableRow {
  const gpu = r.gpuPeak
    ? `NVDEC peak ${r.gpuPeak.decoder}%, SM peak ${r.gpuPeak.sm}% (${r.gpuPeak.samples} samples)`
    : "";
  return {
    part: "decode",
    row: decodeNames[r.path],
    result: r.status,
    ...timing(r),
    ...(r.ssim !== undefined ? { ssim: r.ssim } : {}),
    note: oneLine([r.reason, gpu, r.frames !== undefined ? `${r.frames} frames` : ""].filter(Boolean).join("; ")),
  };
}

function curveRow(r: CurveRow): TableRow {
  const row =
    r.mode === "whole"
      ? `one ffmpeg, -threads ${r.threads}`
      : `${r.workers} worker${r.workers === 1 ? "" : "s"} x ${r.threads} thread${r.threads === 1 ? "" : "s"}${r.decode === "cuda" ? ", cuda decode" : ""}`;
  const facts = [
    r.reason,
    r.segments !== undefined ? `${r.segments} segments` : "",
    r.frames !== undefined ? `${r.frames} frames` : "",
  ];
  return {
    part: "segments",
    row,
    result: r.status,
    ...timing(r),
    ...(r.speedup !== undefined ? { speedup: r.speedup } : {}),
    note: oneLine(facts.filter(Boolean).join("; ")),
  };
}

function timing(t: Partial<Timing>): Pick<TableRow, "wall" | "cpu"> {
  return {
    ...(t.wallSecs !== undefined ? { wall: t.wallSecs } : {}),
    ...(t.cpuSecs !== undefined ? { cpu: t.cpuSecs } : {}),
  };
}

/** Every row of the table, in order: detection and labels, the decode comparison, the curve. */
export function tableRows(r: CheckReport): TableRow[] {
  const rows: TableRow[] = r.detection ? detectionRows(r.detection, r.machine.driverLibs) : [];
  rows.push(...r.decode.map(decodeRow), ...r.curve.map(curveRow));
  if (r.error) rows.push({ part: "error", row: "check", result: "stopped", note: oneLine(r.error, 140) });
  return rows;
}

/** The baseline ("whole") wall time over each row's; undefined where either is missing. */
export function withSpeedups(curve: CurveRow[]): CurveRow[] {
  const base = curve.find((c) => c.mode === "whole" && c.status === "ok")?.wallSecs;
  return curve.map((c) =>
    base !== undefined && c.status === "ok" && c.wallSecs ? { ...c, speedup: round(base / c.wallSecs, 2) } : c,
  );
}

export const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

const columns: Array<{ head: string; cell: (r: TableRow) => string; right?: boolean }> = [
  { head: "part", cell: (r) => r.part },
  { head: "row", cell: (r) => r.row },
  { head: "result", cell: (r) => r.result },
  { head: "wall s", cell: (r) => (r.wall === undefined ? "" : r.wall.toFixed(1)), right: true },
  { head: "cpu s", cell: (r) => (r.cpu === undefined ? "" : r.cpu.toFixed(1)), right: true },
  { head: "ssim", cell: (r) => (r.ssim === undefined ? "" : r.ssim.toFixed(4)), right: true },
  { head: "speedup", cell: (r) => (r.speedup === undefined ? "" : `${r.speedup.toFixed(2)}x`), right: true },
  { head: "note", cell: (r) => r.note ?? "" },
];

/** The table as text: a header line, then one line per row, columns padded. */
export function renderTable(rows: TableRow[]): string {
  const cells = [columns.map((c) => c.head), ...rows.map((r) => columns.map((c) => c.cell(r)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? "").length)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => (columns[i]?.right ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
