// The shim's settings, parsed once from the environment (the chart sets them). Nothing else in
// api-shim/ reads process.env.
import { parseBytes, parsePublicBaseUrl, parseRetention, ReelError } from "@reel/crds";
import { TracingEnvShape } from "@reel/crds/tracing";
import { z } from "zod";

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
/**
 * Bytes, or a quantity in the units the operator's REEL_MAX_SOURCE_BYTES takes (20Gi, 500M): the
 * chart passes sizes as strings, since helm prints a large number from values.yaml as a float.
 */
const bytes = (name: string, def: string, min = 0) =>
  z
    .string()
    .default(def)
    .transform((text) => {
      const n = parseBytes(text) ?? Number.NaN;
      if (!(n >= min) || !Number.isSafeInteger(n))
        throw new ReelError(
          "REEL_CONFIG_INVALID",
          `${name} is "${text}": use bytes or a quantity such as 512Mi or 20Gi, at least ${min}`,
        );
      return n;
    });
/** A duration ("24h", "7d", "1h30m") in milliseconds; "" is undefined (never). */
const duration = (name: string, def: string) =>
  z
    .string()
    .default(def)
    .transform((text) => {
      const secs = parseRetention(name, text);
      return secs === undefined ? undefined : secs * 1000;
    });
const list = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );

export const ConfigSchema = z
  .object({
    /** 0 picks a free port (tests). */
    REEL_SHIM_PORT: int(8080),
    REEL_SHIM_HOST: z.string().default("0.0.0.0"),
    DATABASE_URL: z.string().min(1).default("postgres://reel@127.0.0.1:5432/reel"),
    REEL_REDIS_URL: z.string().min(1).default("redis://127.0.0.1:6379"),
    /** Path of a kubeconfig; in a pod the service account is used when unset. */
    KUBECONFIG: z.string().optional(),
    /** Namespace whose VideoJobs the cache watches; every namespace when empty. */
    REEL_SHIM_WATCH_NAMESPACE: z.string().default(""),
    REEL_JWT_ISSUER: z.string().optional(),
    REEL_JWT_AUDIENCE: z.string().optional(),
    /** JWKS from the identity provider (refreshed, keys rotated by kid) ... */
    REEL_JWT_JWKS_URL: z.url().optional(),
    /** ... or from a local file (re-read when a token names a kid it does not hold). */
    REEL_JWT_JWKS_FILE: z.string().optional(),
    /** The longest JWT lifetime (exp - iat) and age accepted, in seconds. */
    REEL_JWT_MAX_LIFETIME_SECONDS: int(24 * 3600, 60),
    /** Origins allowed to call the API from a browser; none when empty. */
    REEL_CORS_ORIGINS: list,
    REEL_BODY_LIMIT_BYTES: int(256 * 1024, 1024),
    /** A request's headers and body must have arrived within this (408 otherwise). */
    REEL_REQUEST_TIMEOUT_MS: int(30_000, 1000),
    /** Requests per window per client address, and per credential (API key or JWT subject). */
    REEL_RATE_LIMIT_IP: int(600, 1),
    REEL_RATE_LIMIT_KEY: int(300, 1),
    REEL_RATE_LIMIT_WINDOW_MS: int(60_000, 100),
    /** Events kept per job for clients that resume with Last-Event-ID. */
    REEL_EVENTS_PER_JOB: int(256, 8),
    REEL_SSE_HEARTBEAT_MS: int(15_000, 100),
    /** A live stream is ended after this long (the client reconnects and is authenticated again). */
    REEL_STREAM_MAX_SECONDS: int(3600, 1),
    /** Live streams (SSE and WebSocket together) one credential may hold open on one replica. */
    REEL_STREAMS_PER_CREDENTIAL: int(20, 1),
    /** Addresses or CIDRs of proxies (the ingress) whose X-Forwarded-For is believed. */
    REEL_TRUST_PROXY: list,
    /**
     * Tenants whose jobs may ask for priority high (PriorityClass reel-high, which preempts other
     * tenants' pods); none when empty, `*` for every tenant.
     */
    REEL_HIGH_PRIORITY_TENANTS: list,
    /** CIDRs opened past the webhook egress guard (the operator's allowlist; never set by a job). */
    REEL_EGRESS_ALLOW: list,
    /**
     * The installation's public base URL of outputs (chart outputs.publicBaseUrl, as the operator
     * gets it): download links are then `<base>/<key>`, never presigned. Refused at start when
     * malformed (REEL_CONFIG_INVALID).
     */
    REEL_OUTPUT_PUBLIC_BASE_URL: z
      .string()
      .default("")
      .transform((s) => parsePublicBaseUrl(s)),
    /**
     * The upload area (uploads/): tus uploads are written to <bucket>/<prefix><namespace>/<id>.
     * Uploads are off (their routes not served) while the bucket is empty. The keys come from a
     * Secret the chart names (uploads.credentialsSecret), never from a tenant's.
     */
    REEL_UPLOAD_S3_BUCKET: z.string().default(""),
    REEL_UPLOAD_S3_PREFIX: z.string().default("uploads/"),
    REEL_UPLOAD_S3_ENDPOINT: z.url().optional(),
    REEL_UPLOAD_S3_REGION: z.string().min(1).default("us-east-1"),
    REEL_UPLOAD_S3_ACCESS_KEY_ID: z.string().default(""),
    REEL_UPLOAD_S3_SECRET_ACCESS_KEY: z.string().default(""),
    /**
     * The Secret, in each tenant's namespace, whose accessKeyId/secretAccessKey the worker reads an
     * `upload:` episode with (provisioned by the admin, ideally keys limited to that tenant's prefix).
     */
    REEL_UPLOAD_SOURCE_SECRET: z.string().min(1).default("reel-uploads"),
    /** Bytes a tenant may hold in uploads (under way or finished) unless its own quota is set. */
    REEL_UPLOAD_QUOTA_BYTES: bytes("REEL_UPLOAD_QUOTA_BYTES", "20Gi"),
    /** The largest one upload may be (its Upload-Length); 0: only the tenant's quota bounds it. */
    REEL_UPLOAD_MAX_BYTES: bytes("REEL_UPLOAD_MAX_BYTES", "0"),
    /** S3 multipart part size of an upload; S3 wants at least 5 MiB for every part but the last. */
    REEL_UPLOAD_PART_BYTES: bytes("REEL_UPLOAD_PART_BYTES", "8Mi", 5 * 1024 ** 2),
    /** A PATCH that receives no byte for this long is ended (a stalled client frees its lock). */
    REEL_UPLOAD_IDLE_MS: int(60_000, 1000),
    /**
     * An upload not finished this long after it was created is aborted by the sweep (tus
     * Upload-Expires; its parts go and its bytes leave the quota). "": never.
     */
    REEL_UPLOAD_EXPIRY: duration("REEL_UPLOAD_EXPIRY", "24h"),
    /** A finished upload that no VideoJob names is removed this long after it finished. "": never. */
    REEL_UPLOAD_RETENTION: duration("REEL_UPLOAD_RETENTION", "7d"),
    /** How often one replica sweeps expired and unused uploads. */
    REEL_UPLOAD_SWEEP_INTERVAL_MS: int(10 * 60_000, 1000),
    /**
     * An upload's write lock (Redis, shared by the replicas) lasts this long unless its holder renews
     * it: a replica that dies mid-PATCH leaves the upload locked for at most this.
     */
    REEL_UPLOAD_LOCK_LEASE_MS: int(30_000, 1000),
    LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    /** OTLP/HTTP trace export (off unless an endpoint is set); the service is reel-shim by default. */
    ...TracingEnvShape,
  })
  .refine((c) => !(c.REEL_JWT_JWKS_URL || c.REEL_JWT_JWKS_FILE) || (c.REEL_JWT_ISSUER && c.REEL_JWT_AUDIENCE), {
    message: "REEL_JWT_ISSUER and REEL_JWT_AUDIENCE are required when a JWKS is configured",
  });

export type Config = z.infer<typeof ConfigSchema>;

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  return ConfigSchema.parse(env);
}
