// `reel run`: a VideoJob on this machine with the real stages, a local output directory and a
// disk cache. Needs ffmpeg; needs no cluster, Redis, PostgreSQL or S3.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readdir, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { parseStorageClass, ReelError, urlSecrets, type VideoJob } from "@reel/crds";
import { Redis } from "ioredis";
import { config } from "./config.ts";
import { classify } from "./fetch/classify.ts";
import type { Cookies } from "./fetch/cookies.ts";
import { DEFAULT_POLITENESS, hostLimiter, memorySlots } from "./fetch/politeness.ts";
import { ytDlpVersion } from "./fetch/ytdlp.ts";
import { childGuard, UNGUARDED_WARNING } from "./ffmpeg/guard.ts";
import { LocalTarget } from "./output/local.ts";
import { outputSettingsFromEnv, parseDuration, S3Target } from "./output/s3.ts";
import type { OutputTarget } from "./output/target.ts";
import type { Emit } from "./pipeline/events.ts";
import { type JobResult, runJob } from "./pipeline/job.ts";
import { realStages } from "./pipeline/stages-real.ts";
import { DiskCache } from "./resilience/cache.ts";
import { RedisCache } from "./resilience/redis-cache.ts";

const run = promisify(execFile);

export interface LocalRunOptions {
  /** A local directory; when absent the job's own output (local path or S3) is used. */
  outDir?: string;
  concurrency: number;
  /** CIDRs opened past the egress guard, from the command line (never from the job). */
  allow: string[];
  /** `--cookies`: checked, for every yt-dlp run of the job (each gets a private copy). */
  cookies?: Cookies;
  /** `--storage-class`: the S3 storage class of the outputs, over REEL_S3_STORAGE_CLASS. */
  storageClass?: string;
  signal?: AbortSignal;
  emit?: Emit;
}

/** Fails before any work when ffmpeg or ffprobe cannot run: nothing is downloaded in vain. */
export async function preflight(binaries = { ffmpeg: config.REEL_FFMPEG, ffprobe: config.REEL_FFPROBE }) {
  for (const bin of [binaries.ffmpeg, binaries.ffprobe]) {
    await run(bin, ["-version"], { env: config.childEnv }).catch((cause: NodeJS.ErrnoException) => {
      throw new ReelError(
        "REEL_FFMPEG_MISSING",
        cause.code === "ENOENT" ? `${bin} is not installed or not on PATH` : `${bin} -version failed: ${cause.message}`,
        { cause },
      );
    });
  }
}

/**
 * The job's own checks before any work: the output directory can be written, and yt-dlp runs when
 * an episode needs it. Found after the other episodes ran, either wastes the whole run.
 */
export async function preflightJob(job: VideoJob, target: OutputTarget): Promise<void> {
  if (target instanceof LocalTarget) await checkWritable(target.dir);
  const needsYtDlp = job.spec.episodes.some((e) => {
    try {
      return classify(e.url) === "page";
    } catch {
      return false; // its own episode fails with the URL's code
    }
  });
  if (needsYtDlp) await ytDlpVersion(config.ytDlp);
}

async function checkWritable(dir: string): Promise<void> {
  const probe = join(dir, `.reel-write-check-${randomBytes(6).toString("hex")}`);
  try {
    await mkdir(dir, { recursive: true });
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    await (await open(probe, flags, 0o600)).close();
    await rm(probe, { force: true });
  } catch (cause) {
    throw new ReelError("REEL_IO", `output directory ${dir} is not writable: ${(cause as Error).message}`, { cause });
  }
}

/** Values no message may show: each episode URL's secret parts and the credentials in our environment. */
export function knownSecrets(job: VideoJob): string[] {
  const env = [config.AWS_ACCESS_KEY_ID, config.AWS_SECRET_ACCESS_KEY, ...urlSecrets(config.REEL_REDIS_URL ?? "")];
  return [...job.spec.episodes.flatMap((e) => urlSecrets(e.url)), ...env].filter((s): s is string => !!s);
}

export async function runLocal(job: VideoJob, o: LocalRunOptions): Promise<JobResult> {
  await preflight();
  const redis = config.REEL_REDIS_URL ? new Redis(config.REEL_REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
  const stages = realStages({
    binaries: { ffmpeg: config.REEL_FFMPEG, ffprobe: config.REEL_FFPROBE },
    ytDlp: config.ytDlp,
    childEnv: config.childEnv,
    allow: [...config.REEL_EGRESS_ALLOW, ...o.allow],
    cacheDir: config.REEL_CACHE_DIR,
    metadata: redis ? new RedisCache(redis) : new DiskCache(join(config.REEL_CACHE_DIR, "metadata")),
    segmentMinSecs: config.REEL_SEGMENT_MIN_SECS,
    concurrency: o.concurrency,
    ...(o.cookies ? { cookies: o.cookies } : {}),
    // One count for the whole run: all its episodes from one host share the job's limits.
    politeness: hostLimiter(memorySlots(), job.spec.politeness ?? DEFAULT_POLITENESS),
  });
  const tmpDir = await runTempDir(config.TMPDIR ?? tmpdir());
  if (!childGuard()) o.emit?.({ type: "note", level: "warn", message: UNGUARDED_WARNING });
  try {
    return await runJob(job, {
      stages,
      target: targetFor(job, o.outDir, o.storageClass),
      cacheDir: config.REEL_CACHE_DIR,
      tmpDir,
      concurrency: o.concurrency,
      ...(o.emit ? { emit: o.emit } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ytDlpVersion: () => ytDlpVersion(config.ytDlp).catch(() => undefined),
    });
  } finally {
    redis?.disconnect();
    await rm(tmpDir, { recursive: true, force: true });
  }
}

const RUN_DIR = /^reel-run-(\d+)$/;

/**
 * This run's temp dir, `reel-run-<pid>` under `base`, after removing those of runs that died
 * without cleaning up (SIGKILL, power loss): a dir whose pid no longer runs is nobody's.
 */
export async function runTempDir(base: string): Promise<string> {
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const pid = Number(RUN_DIR.exec(name)?.[1]);
    if (!pid || pid === process.pid || running(pid)) continue;
    // Another user's dir in a shared /tmp is theirs to sweep.
    await rm(join(base, name), { recursive: true, force: true }).catch(() => {});
  }
  const dir = join(base, `reel-run-${process.pid}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * `--out` wins; else the job's local path; else its S3 output with credentials from the environment
 * (and `--storage-class`, when given, over REEL_S3_STORAGE_CLASS).
 */
export function targetFor(job: VideoJob, outDir?: string, storageClass?: string): OutputTarget {
  const out = job.spec.output;
  if (outDir) return new LocalTarget(outDir);
  if (out.local) return new LocalTarget(out.local.path);
  if (out.s3) {
    if (!config.AWS_ACCESS_KEY_ID || !config.AWS_SECRET_ACCESS_KEY) {
      throw new ReelError(
        "REEL_JOB_INVALID",
        "spec.output.s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment for reel run (or give --out DIR)",
      );
    }
    return new S3Target({
      bucket: out.s3.bucket,
      prefix: out.s3.prefix,
      ...(out.s3.region ? { region: out.s3.region } : {}),
      ...(out.s3.endpoint ? { endpoint: out.s3.endpoint } : {}),
      accessKeyId: config.AWS_ACCESS_KEY_ID,
      secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
      urlExpirySecs: parseDuration(out.s3.urlExpiry),
      ...(storageClass !== undefined ? { settings: withStorageClass(storageClass) } : {}),
    });
  }
  throw new ReelError(
    "REEL_JOB_INVALID",
    "reel run writes to a local directory or S3: give --out DIR or set spec.output",
  );
}

/** The environment's output settings with the flag's storage class ("" there: the bucket's default). */
function withStorageClass(flag: string) {
  const { storageClass: _fromEnv, ...settings } = outputSettingsFromEnv();
  const storageClass = parseStorageClass(flag, "--storage-class");
  return { ...settings, ...(storageClass ? { storageClass } : {}) };
}
