// The operator's settings, parsed once from the environment (the chart sets them). Nothing else
// in operator/ reads process.env.
import { hostname } from "node:os";
import { parsePublicBaseUrl, parseRetention, parseSse, parseStorageClass, ReelError } from "@reel/crds";
import { TracingEnvShape } from "@reel/crds/tracing";
import { z } from "zod";
import type { InstallationSettings } from "./plan/installation-env.ts";
import {
  DEFAULT_MAX_SOURCE_BYTES,
  DEFAULT_RESOURCES,
  parseBytes,
  SCRATCH_ROOM,
  type WorkerResources,
} from "./plan/resources.ts";
import type { RetentionSettings } from "./retention/due.ts";

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
  /**
   * Worker pods log in to Redis as their namespace's ACL user (operator/src/redis/): "false" only for
   * a Redis without channel ACLs (before 6.2), where every pod can write every tenant's progress.
   */
  REEL_REDIS_WORKER_ACL: bool.default(true),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  /** Server-side encryption the workers ask on every S3 write: "" (bucket default), AES256, aws:kms. */
  REEL_S3_SSE: z.string().default(""),
  REEL_S3_SSE_KMS_KEY_ID: z.string().default(""),
  /** Outputs reported as <base>/<key> instead of a presigned URL (a CDN in front of the bucket). */
  REEL_OUTPUT_PUBLIC_BASE_URL: z.string().default(""),
  /** S3 storage class of outputs (merge pods only; crds contract/storage-class.ts); "" is the bucket's default. */
  REEL_S3_STORAGE_CLASS: z.string().default(""),
  /** Output objects deleted this long after their VideoJob finished ("30d", "720h"; "" keeps). */
  REEL_OUTPUT_RETENTION: z.string().default(""),
  /** Finished VideoJobs deleted this long after they finished ("" keeps). */
  REEL_FINISHED_RETENTION: z.string().default(""),
  /** Keep a job's staged files once its outputs are stored (debugging); by default the merge pod removes them. */
  REEL_KEEP_STAGING: bool.default(false),
  /** The per-source byte cap the worker pods enforce (bytes or a quantity: 50Gi); scratch is sized for it. */
  REEL_MAX_SOURCE_BYTES: z.string().default(String(DEFAULT_MAX_SOURCE_BYTES)),
  /** Worker pods' requests and limits (plan/resources.ts); quantities as Kubernetes writes them. */
  REEL_WORKER_CPU_REQUEST: z.string().default(DEFAULT_RESOURCES.cpuRequest),
  REEL_WORKER_MEMORY_REQUEST: z.string().default(DEFAULT_RESOURCES.memoryRequest),
  REEL_WORKER_MEMORY_LIMIT: z.string().default(DEFAULT_RESOURCES.memoryLimit),
  /** Ephemeral storage an episode pod requests; its scratch (emptyDir sizeLimit) is REEL_WORKER_SCRATCH_LIMIT. */
  REEL_WORKER_SCRATCH_REQUEST: z.string().default("10Gi"),
  /** "" sizes an episode pod's scratch for a source at the cap: 2 × REEL_MAX_SOURCE_BYTES + 2Gi. */
  REEL_WORKER_SCRATCH_LIMIT: z.string().default(""),
  /** OTLP/HTTP trace export (off unless an endpoint is set); the service is reel-operator by default. */
  ...TracingEnvShape,
});

export type Config = z.infer<typeof ConfigSchema> & {
  /** Checked REEL_S3_SSE*, REEL_OUTPUT_PUBLIC_BASE_URL, passed to the worker pods. */
  installation: InstallationSettings;
  /** Checked REEL_OUTPUT_RETENTION / REEL_FINISHED_RETENTION, in seconds. */
  retention: RetentionSettings;
  /** Checked REEL_WORKER_* sizes of the worker pods. */
  resources: WorkerResources;
};

/** Throws REEL_CONFIG_INVALID (naming the variable) for a bad output or retention setting. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const c = ConfigSchema.parse(env);
  const publicBaseUrl = parsePublicBaseUrl(c.REEL_OUTPUT_PUBLIC_BASE_URL);
  const storageClass = parseStorageClass(c.REEL_S3_STORAGE_CLASS);
  const outputsSecs = parseRetention("REEL_OUTPUT_RETENTION", c.REEL_OUTPUT_RETENTION);
  const finishedSecs = parseRetention("REEL_FINISHED_RETENTION", c.REEL_FINISHED_RETENTION);
  const maxSourceBytes = bytesSetting("REEL_MAX_SOURCE_BYTES", c.REEL_MAX_SOURCE_BYTES);
  return {
    ...c,
    resources: workerResources(c, maxSourceBytes),
    installation: {
      maxSourceBytes,
      ...parseSse(c.REEL_S3_SSE, c.REEL_S3_SSE_KMS_KEY_ID),
      ...(publicBaseUrl ? { publicBaseUrl } : {}),
      ...(storageClass ? { storageClass } : {}),
      // Where the operator sends its spans, its pods send theirs (the worker reads the same variables).
      ...(c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
        ? { otlpTracesEndpoint: c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.trim() }
        : c.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
          ? { otlpEndpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT.trim() }
          : {}),
    },
    retention: {
      ...(outputsSecs !== undefined ? { outputsSecs } : {}),
      ...(finishedSecs !== undefined ? { finishedSecs } : {}),
    },
  };
}

const invalid = (message: string) => new ReelError("REEL_CONFIG_INVALID", message);

function bytesSetting(name: string, text: string): number {
  const bytes = parseBytes(text);
  if (bytes === undefined || bytes <= 0)
    throw invalid(`${name} is "${text}": use bytes or a quantity such as 512Mi or 20Gi`);
  return bytes;
}

/** The worker pods' sizes; a scratch too small for a source at the cap is refused (it would be evicted). */
function workerResources(c: z.infer<typeof ConfigSchema>, maxSourceBytes: number): WorkerResources {
  const memoryRequest = bytesSetting("REEL_WORKER_MEMORY_REQUEST", c.REEL_WORKER_MEMORY_REQUEST);
  const memoryLimit = bytesSetting("REEL_WORKER_MEMORY_LIMIT", c.REEL_WORKER_MEMORY_LIMIT);
  if (memoryRequest > memoryLimit) {
    throw invalid(`REEL_WORKER_MEMORY_REQUEST (${c.REEL_WORKER_MEMORY_REQUEST}) is above REEL_WORKER_MEMORY_LIMIT`);
  }
  if (!/^[0-9]+(\.[0-9]+)?m?$/.test(c.REEL_WORKER_CPU_REQUEST)) {
    throw invalid(`REEL_WORKER_CPU_REQUEST is "${c.REEL_WORKER_CPU_REQUEST}": use cores such as 1, 0.5 or 500m`);
  }
  const limit = c.REEL_WORKER_SCRATCH_LIMIT.trim()
    ? bytesSetting("REEL_WORKER_SCRATCH_LIMIT", c.REEL_WORKER_SCRATCH_LIMIT)
    : undefined;
  if (limit !== undefined && limit < maxSourceBytes + SCRATCH_ROOM) {
    throw invalid(
      `REEL_WORKER_SCRATCH_LIMIT (${c.REEL_WORKER_SCRATCH_LIMIT}) cannot hold a source at REEL_MAX_SOURCE_BYTES (${c.REEL_MAX_SOURCE_BYTES}) and 2Gi of encode room; raise it or lower the cap`,
    );
  }
  return {
    cpuRequest: c.REEL_WORKER_CPU_REQUEST,
    memoryRequest: c.REEL_WORKER_MEMORY_REQUEST,
    memoryLimit: c.REEL_WORKER_MEMORY_LIMIT,
    scratchRequestBytes: bytesSetting("REEL_WORKER_SCRATCH_REQUEST", c.REEL_WORKER_SCRATCH_REQUEST),
    ...(limit !== undefined ? { scratchLimitBytes: limit } : {}),
  };
}
