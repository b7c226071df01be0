// The operator's settings, parsed once from the environment (the chart sets them). Nothing else
// in operator/ reads process.env.
import { hostname } from "node:os";
import { z } from "zod";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const list = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );

export const ConfigSchema = z.object({
  /** Namespace to watch; every namespace when empty. */
  REEL_WATCH_NAMESPACE: z.string().default(""),
  REEL_WORKER_IMAGE: z.string().min(1).default("ghcr.io/reel-dev/reel-worker:0.1.0"),
  REEL_BACKOFF_LIMIT: int(3),
  REEL_ACTIVE_DEADLINE_SECONDS: int(6 * 3600, 60),
  REEL_TTL_AFTER_FINISHED_SECONDS: int(3600),
  /** Kueue LocalQueue name; Jobs are then created suspended with its label. */
  REEL_KUEUE_QUEUE: z.string().optional(),
  /** CIDRs opened past the workers' egress guard (private sources); never set by a VideoJob. */
  REEL_EGRESS_ALLOW: list,
  /** Episode Jobs running at once per namespace; the rest wait. 0 = no cap. */
  REEL_MAX_RUNNING_PER_NAMESPACE: int(50),
  /** Reconciles running at once (different VideoJobs; one key is never reconciled twice at once). */
  REEL_WORKERS: int(8, 1),
  /** Reconciles per second over all VideoJobs, and the burst above it. */
  REEL_RECONCILE_QPS: int(200, 1),
  REEL_RECONCILE_BURST: int(500, 1),
  /** Client-side limit on API requests per second, and the burst above it. */
  REEL_API_QPS: int(200, 1),
  REEL_API_BURST: int(400, 1),
  /** Every VideoJob is reconciled again this often even without events. */
  REEL_RESYNC_SECONDS: int(300, 1),
  /** A watch that delivers nothing for this long is reconnected. */
  REEL_WATCH_STALL_SECONDS: int(120, 5),
  REEL_LEADER_ELECT: bool.default(true),
  REEL_LEASE_NAMESPACE: z.string().default("reel-system"),
  REEL_LEASE_NAME: z.string().default("reel-operator"),
  REEL_LEASE_SECONDS: int(15, 2),
  /** Identity in the Lease: the pod name in a cluster. */
  POD_NAME: z.string().default(`${hostname()}-${process.pid}`),
  /** Port of /metrics, /healthz and /readyz; 0 picks a free one. */
  REEL_METRICS_PORT: int(8080),
  REEL_METRICS_HOST: z.string().default("0.0.0.0"),
  /** Redis for fine-grained episode progress from the workers (optional). */
  REEL_REDIS_URL: z.string().optional(),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type Config = z.infer<typeof ConfigSchema>;

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  return ConfigSchema.parse(env);
}
