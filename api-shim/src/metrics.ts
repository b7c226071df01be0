// Prometheus metrics of the shim (GET /api/metrics).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface MethodCell {
  /** Requests per status code, and how many of them the counter has been given. */
  statuses: Map<number, { count: number; exported: number }>;
  /** Per bucket (not cumulative), then the sum and count of the durations. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * Every HTTP request is counted and timed here in plain numbers, per route, method and status, and
 * handed to prom-client when /api/metrics is scraped: prom-client's inc() and observe() hash and
 * validate their label object on every call (labels() children too), about 2 us per request
 * together in the status GET's profile.
 */
export class HttpMetrics {
  readonly routes = new Map<string, Map<string, MethodCell>>();

  record(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.routes.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.routes.set(route, byMethod);
    }
    let cell = byMethod.get(method);
    if (!cell) {
      cell = { statuses: new Map(), buckets: new Float64Array(DURATION_BUCKETS.length), sum: 0, count: 0 };
      byMethod.set(method, cell);
    }
    const st = cell.statuses.get(status);
    if (st) st.count++;
    else cell.statuses.set(status, { count: 1, exported: 0 });
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++;
    if (i < DURATION_BUCKETS.length) (cell.buckets[i] as number)++;
    cell.sum += seconds;
    cell.count++;
  }
}

const DURATION = "reel_shim_http_request_duration_seconds";
const DURATION_HELP = "HTTP request duration by route and method.";

/** reel_shim_http_request_duration_seconds from HttpMetrics, in prom-client's histogram shape. */
class HttpDurations extends Histogram<"route" | "method"> {
  private readonly http: HttpMetrics;

  constructor(http: HttpMetrics, registry: Registry) {
    super({
      name: DURATION,
      help: DURATION_HELP,
      labelNames: ["route", "method"] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    this.http = http;
  }

  // The registry reads getForPromString() when a metric has one (Histogram does), get() otherwise.
  override async get(): ReturnType<Histogram<"route" | "method">["get"]> {
    const d = (await this.getForPromString()) as unknown as { values: { labels: object; sharedLabels: object }[] };
    return { ...d, values: d.values.map((v) => ({ ...v, labels: { ...v.sharedLabels, ...v.labels } })) } as never;
  }

  async getForPromString(): ReturnType<Histogram<"route" | "method">["get"]> {
    const bucket = `${DURATION}_bucket`;
    const values: { labels: object; sharedLabels: object; value: number; metricName: string }[] = [];
    for (const [route, byMethod] of this.http.routes) {
      for (const [method, cell] of byMethod) {
        const shared = { route, method };
        let acc = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          acc += cell.buckets[i] as number;
          values.push({ labels: { le }, sharedLabels: shared, value: acc, metricName: bucket });
        });
        values.push({ labels: { le: "+Inf" }, sharedLabels: shared, value: cell.count, metricName: bucket });
        values.push({ labels: {}, sharedLabels: shared, value: cell.sum, metricName: `${DURATION}_sum` });
        values.push({ labels: {}, sharedLabels: shared, value: cell.count, metricName: `${DURATION}_count` });
      }
    }
    return { name: DURATION, help: DURATION_HELP, type: "histogram", values, aggregator: "sum" } as never;
  }
}

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "reel_shim_" });
  const http = new HttpMetrics();
  return {
    registry,
    http,
    requests: new Counter({
      name: "reel_shim_http_requests_total",
      help: "HTTP requests by route, method and status.",
      labelNames: ["route", "method", "status"] as const,
      registers: [registry],
      // What HttpMetrics counted since the last scrape.
      collect() {
        for (const [route, byMethod] of http.routes) {
          for (const [method, cell] of byMethod) {
            for (const [status, c] of cell.statuses) {
              if (c.count === c.exported) continue;
              this.inc({ route, method, status: String(status) }, c.count - c.exported);
              c.exported = c.count;
            }
          }
        }
      },
    }),
    duration: new HttpDurations(http, registry),
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
