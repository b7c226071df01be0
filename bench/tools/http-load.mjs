#!/usr/bin/env node
// api-status's load generator in its own process: autocannon (pinned in the root devDependencies),
// a warm-up run, then the measured run on fresh connections.
//   node bench/tools/http-load.mjs '{"url","connections","durationS","warmupS","headers"}'
// JSON lines on stdout: {"event":"start","pid"}, {"event":"warm"} between the two runs (the harness
// starts the server's CPU clock there), then {"event":"done","report"} (exit 0) or
// {"event":"error","code","message"} (exit 1).
import autocannon from "autocannon";

/**
 * What the benchmark keeps of an autocannon result. `rps` is autocannon's own Req/Sec average (the
 * mean of its one-second samples); latencies are milliseconds, recorded at 1 ms resolution and for
 * 2xx answers only (autocannon's rule).
 */
export function summarizeAutocannon(r) {
  return {
    rps: r.requests.average,
    requests: r.requests.total,
    ok: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    durationS: r.duration,
    latencyMs: {
      avg: r.latency.average,
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      p999: r.latency.p99_9,
      max: r.latency.max,
    },
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    connections: r.connections,
  };
}

/** Why a run's numbers cannot stand (any non-2xx answer, error or timeout), or null when they can. */
export function loadProblem(s) {
  const parts = [];
  if (s.non2xx) parts.push(`${s.non2xx} non-2xx answers (${JSON.stringify(s.statusCodes)})`);
  if (s.errors) parts.push(`${s.errors} connection errors`);
  if (s.timeouts) parts.push(`${s.timeouts} timeouts`);
  if (!s.ok) parts.push("no 2xx answer at all");
  return parts.length ? parts.join(", ") : null;
}

if (import.meta.main) {
  const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  emit({ event: "start", pid: process.pid });
  try {
    const o = JSON.parse(process.argv[2] ?? "{}");
    const base = { url: o.url, connections: o.connections, headers: o.headers ?? {}, timeout: 10 };
    if (o.warmupS > 0) await autocannon({ ...base, duration: o.warmupS });
    emit({ event: "warm" });
    const cpu0 = process.cpuUsage();
    const report = summarizeAutocannon(await autocannon({ ...base, duration: o.durationS }));
    const cpu = process.cpuUsage(cpu0);
    emit({ event: "done", report: { ...report, cpuS: (cpu.user + cpu.system) / 1e6 } });
  } catch (err) {
    emit({ event: "error", code: err?.code ?? "error", message: err?.message ?? String(err) });
    process.exitCode = 1;
  }
}
