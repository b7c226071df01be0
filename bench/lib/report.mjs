// The one result shape every Reel benchmark writes, and the table printed for it:
// { scenario, unit, higher_is_better, rows: [{ tool, median, min, max, peak_rss_mb, ...extra }],
//   params, goals: [{ name, pass, detail }], date, host }
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "results");

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return null;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Rounds to 3 significant decimals without turning 1234.5 into 1230. */
export function round(x, digits = 3) {
  if (x == null || !Number.isFinite(x)) return x ?? null;
  const mag = Math.abs(x) >= 1 ? Math.floor(Math.log10(Math.abs(x))) + 1 : 1;
  const d = Math.max(0, digits - mag + 1);
  return Number(x.toFixed(Math.min(d, 6)));
}

/**
 * Folds the samples of one tool into a row. samples: [{ value, rssMb }] of the successful
 * rounds; errors: messages of the failed ones. A tool that never ran gets only "error".
 */
export function makeRow(tool, samples, errors = [], extra = {}) {
  const values = samples.map((s) => s.value);
  const rss = samples.map((s) => s.rssMb).filter((v) => v != null);
  const row = {
    tool,
    median: round(median(values)),
    min: values.length ? round(Math.min(...values)) : null,
    max: values.length ? round(Math.max(...values)) : null,
    peak_rss_mb: rss.length ? round(Math.max(...rss)) : null,
    rounds: values.length,
    ...extra,
  };
  if (errors.length) {
    row.error = errors[0];
    if (errors.length > 1 || values.length) row.failed_rounds = errors.length;
  }
  return row;
}

export function errorRow(tool, error, extra = {}) {
  return { tool, median: null, min: null, max: null, peak_rss_mb: null, rounds: 0, ...extra, error };
}

/** pass: true/false, or null when it could not be judged (a row it needs has no numbers). */
export function goal(name, pass, detail) {
  return { name, pass: pass == null ? null : Boolean(pass), detail };
}

export function hostInfo() {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpu: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    mem_gib: round(os.totalmem() / 2 ** 30),
    loadavg_at_start: os.loadavg().map((l) => round(l)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

export function writeResult(result) {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${result.scenario}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

const CORE = ["tool", "median", "min", "max", "peak_rss_mb"];

export function formatTable(result) {
  const { rows } = result;
  const extraKeys = [];
  for (const row of rows) {
    for (const k of Object.keys(row)) {
      if (!CORE.includes(k) && k !== "error" && !extraKeys.includes(k)) extraKeys.push(k);
    }
  }
  const headers = [...CORE.map((h) => (h === "median" ? `median ${result.unit}` : h)), ...extraKeys];
  const keys = [...CORE, ...extraKeys];
  const cell = (v) => (v == null ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const body = rows.map((r) => keys.map((k) => cell(r[k])));
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const out = [];
  const better = result.higher_is_better ? "higher is better" : "lower is better";
  out.push(`== ${result.scenario} (${result.unit}, ${better})`);
  out.push(line(headers));
  out.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) out.push(line(b));
  for (const r of rows) if (r.error) out.push(`  ! ${r.tool}: ${r.error}`);
  for (const g of result.goals ?? []) {
    const mark = g.pass === true ? "PASS" : g.pass === false ? "FAIL" : "N/A ";
    out.push(`  [${mark}] ${g.name}${g.detail ? ` — ${g.detail}` : ""}`);
  }
  return out.join("\n");
}

/** Prints the table and writes bench/results/<scenario>.json; returns the path. */
export function report(result) {
  const full = {
    scenario: result.scenario,
    unit: result.unit,
    higher_is_better: result.higher_is_better,
    rows: result.rows,
    params: result.params ?? {},
    goals: result.goals ?? [],
    date: new Date().toISOString(),
    host: hostInfo(),
  };
  process.stdout.write(`\n${formatTable(full)}\n`);
  const path = writeResult(full);
  process.stdout.write(`  -> ${path}\n`);
  return path;
}
