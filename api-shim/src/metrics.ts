// Prometheus metrics of the shim (GET /api/metrics).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "reel_shim_" });
  return {
    registry,
    requests: new Counter({
      name: "reel_shim_http_requests_total",
      help: "HTTP requests by route, method and status.",
      labelNames: ["route", "method", "status"] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: "reel_shim_http_request_duration_seconds",
      help: "HTTP request duration by route and method.",
      labelNames: ["route", "method"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    sseClients: new Gauge({ name: "reel_shim_sse_clients", help: "Open SSE streams.", registers: [registry] }),
    wsClients: new Gauge({ name: "reel_shim_ws_clients", help: "Open WebSocket streams.", registers: [registry] }),
    cachedJobs: new Gauge({
      name: "reel_shim_cached_videojobs",
      help: "VideoJobs in the watch-fed cache.",
      registers: [registry],
    }),
    auditWrites: new Counter({
      name: "reel_shim_audit_writes_total",
      help: "Audit log rows written, by action and result.",
      labelNames: ["action", "result"] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
