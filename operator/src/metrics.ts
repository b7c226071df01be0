// Prometheus metrics of the operator, served on /metrics.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * `phases` lists the phase of every VideoJob known and `oldestPendingSecs` the age of the oldest
 * one still Pending; both are read at each scrape.
 */
export function createMetrics(phases: () => Iterable<string> = () => [], oldestPendingSecs: () => number = () => 0) {
  const registry = new Registry();
  const reconcileDuration = new Histogram({
    name: "reel_operator_reconcile_duration_seconds",
    help: "Time to reconcile one VideoJob.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const reconcileErrors = new Counter({
    name: "reel_operator_reconcile_errors_total",
    help: "Reconciles that failed and were requeued with backoff.",
    labelNames: ["code"],
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: "reel_operator_queue_depth",
    help: "VideoJob keys waiting.",
    registers: [registry],
  });
  const apiWrites = new Counter({
    name: "reel_operator_api_writes_total",
    help: "Writes sent to the apiserver, by verb and kind (Lease renewals included, as kind Lease).",
    labelNames: ["verb", "kind"],
    registers: [registry],
  });
  const watchEvents = new Counter({
    name: "reel_operator_watch_events_total",
    help: "Watch lifecycle events (connect, reconnect, old_resource_version, list, errors), by resource.",
    labelNames: ["resource", "event"],
    registers: [registry],
  });
  const leader = new Gauge({
    name: "reel_operator_leader",
    help: "1 while this replica leads.",
    registers: [registry],
  });
  const videojobs = new Gauge({
    name: "reel_operator_videojobs",
    help: "VideoJobs by phase.",
    labelNames: ["phase"],
    registers: [registry],
    collect() {
      this.reset();
      for (const phase of phases()) this.inc({ phase });
    },
  });
  const finished = new Counter({
    name: "reel_operator_videojobs_finished_total",
    help: "VideoJobs that reached a final phase (Completed, Failed, Cancelled), counted when seen.",
    labelNames: ["phase"],
    registers: [registry],
  });
  const oldestPending = new Gauge({
    name: "reel_operator_oldest_pending_seconds",
    help: "Age of the oldest VideoJob still Pending (0 when none is).",
    registers: [registry],
    collect() {
      this.set(oldestPendingSecs());
    },
  });
  const retentionDeletions = new Counter({
    name: "reel_operator_retention_deletions_total",
    help: "Deletions by retention: what is output (a finished job's output objects, REEL_OUTPUT_RETENTION) or videojob (a finished VideoJob, REEL_FINISHED_RETENTION).",
    labelNames: ["what"],
    registers: [registry],
  });
  return {
    registry,
    finished,
    retentionDeletions,
    oldestPending,
    reconcileDuration,
    reconcileErrors,
    queueDepth,
    apiWrites,
    watchEvents,
    leader,
    videojobs,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
