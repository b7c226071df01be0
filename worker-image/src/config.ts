// The worker's configuration, parsed once from the environment. Nothing else reads process.env.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const List = z
  .string()
  .optional()
  .transform((s) =>
    s
      ? s
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean)
      : [],
  );

const ConfigSchema = z.object({
  /** CIDRs the egress guard opens (private sources, loopback in tests). Set by whoever runs Reel. */
  REEL_EGRESS_ALLOW: List,
  REEL_CACHE_DIR: z.string().default(join(homedir(), ".cache", "reel")),
  /** When set, source metadata is cached in Redis (shared by every worker) instead of on disk. */
  REEL_REDIS_URL: z.string().optional(),
  REEL_FFMPEG: z.string().default("ffmpeg"),
  REEL_FFPROBE: z.string().default("ffprobe"),
  REEL_YTDLP: z.string().optional(),
  /** reel-child (crates/child-guard): makes ffmpeg and yt-dlp die with us; "off" spawns them bare. */
  REEL_CHILD_GUARD: z.string().optional(),
  REEL_VENV: z.string().default(join(homedir(), ".cache", "reel", "venv")),
  /** Episodes at least this long are encoded as keyframe-aligned segments in parallel. */
  REEL_SEGMENT_MIN_SECS: z.coerce.number().positive().default(120),
  /**
   * The per-source byte cap: a source claiming more is refused before a byte is written, one that
   * sends more (chunked, HLS, yt-dlp) is stopped there, with REEL_SOURCE_TOO_LARGE. Default 50 GiB.
   */
  REEL_MAX_SOURCE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(50 * 2 ** 30),
  /** Partial downloads in REEL_CACHE_DIR/partial older than this, or past the size, are removed. */
  REEL_PARTIAL_MAX_AGE_HOURS: z.coerce.number().positive().default(72),
  REEL_PARTIAL_MAX_BYTES: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(20 * 2 ** 30),
  /** A source silent this long counts as stalled; it is tried REEL_SOURCE_RETRIES more times. */
  REEL_SOURCE_IDLE_TIMEOUT_SECS: z.coerce.number().positive().default(20),
  REEL_SOURCE_RETRIES: z.coerce.number().int().nonnegative().default(3),
  REEL_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** S3 credentials for spec.output.s3 (in a cluster they come from the job's credentialsSecret). */
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  /** S3 keys of s3:// episodes whose credentialsSecret is not the output's (crds s3-source.ts). */
  REEL_SOURCE_AWS_ACCESS_KEY_ID: z.string().optional(),
  REEL_SOURCE_AWS_SECRET_ACCESS_KEY: z.string().optional(),
  /**
   * The installation's output settings (the operator passes them to its pods; `reel run` reads
   * them from its own environment). Kept as text here and checked where S3 is used
   * (output/s3.ts, REEL_CONFIG_INVALID), so a bad value fails the job with a code, not the import.
   */
  REEL_S3_SSE: z.string().default(""),
  REEL_S3_SSE_KMS_KEY_ID: z.string().default(""),
  REEL_OUTPUT_PUBLIC_BASE_URL: z.string().default(""),
  /** S3 storage class of outputs (crds contract/storage-class.ts); "" is the bucket's default. */
  REEL_S3_STORAGE_CLASS: z.string().default(""),
  PATH: z.string().default("/usr/local/bin:/usr/bin:/bin"),
  HOME: z.string().default(homedir()),
  TMPDIR: z.string().optional(),
});

export type Config = z.output<typeof ConfigSchema> & { ytDlp: string; childEnv: NodeJS.ProcessEnv };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const c = ConfigSchema.parse(env);
  return {
    ...c,
    // scripts/bootstrap.sh installs the pinned yt-dlp into REEL_VENV; the worker image has it on PATH.
    ytDlp:
      c.REEL_YTDLP ?? (existsSync(join(c.REEL_VENV, "bin", "yt-dlp")) ? join(c.REEL_VENV, "bin", "yt-dlp") : "yt-dlp"),
    // Subprocesses (ffmpeg, yt-dlp) get only these: no cloud credentials, no proxy settings.
    childEnv: { PATH: c.PATH, HOME: c.HOME, LANG: "C.UTF-8", ...(c.TMPDIR ? { TMPDIR: c.TMPDIR } : {}) },
  };
}

export const config: Config = loadConfig();
