// `reel run`: a VideoJob on this machine with the real stages, a local output directory and a
// disk cache. Needs ffmpeg; needs no cluster, Redis, PostgreSQL or S3.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ReelError, type VideoJob } from "@reel/crds";
import { Redis } from "ioredis";
import { config } from "./config.ts";
import { LocalTarget } from "./output/local.ts";
import type { Emit } from "./pipeline/events.ts";
import { type JobResult, runJob } from "./pipeline/job.ts";
import { realStages } from "./pipeline/stages-real.ts";
import { DiskCache } from "./resilience/cache.ts";
import { RedisCache } from "./resilience/redis-cache.ts";

const run = promisify(execFile);

export interface LocalRunOptions {
  outDir: string;
  concurrency: number;
  /** CIDRs opened past the egress guard, from the command line (never from the job). */
  allow: string[];
  signal?: AbortSignal;
  emit?: Emit;
}

/** Fails before any work when ffmpeg or ffprobe cannot run: nothing is downloaded in vain. */
export async function preflight(binaries = { ffmpeg: config.REEL_FFMPEG, ffprobe: config.REEL_FFPROBE }) {
  for (const bin of [binaries.ffmpeg, binaries.ffprobe]) {
    await run(bin, ["-version"]).catch((cause: NodeJS.ErrnoException) => {
      throw new ReelError(
        "REEL_FFMPEG_MISSING",
        cause.code === "ENOENT" ? `${bin} is not installed or not on PATH` : `${bin} -version failed: ${cause.message}`,
        { cause },
      );
    });
  }
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
  });
  try {
    return await runJob(job, {
      stages,
      target: new LocalTarget(o.outDir),
      cacheDir: config.REEL_CACHE_DIR,
      tmpDir: config.TMPDIR ?? tmpdir(),
      concurrency: o.concurrency,
      ...(o.emit ? { emit: o.emit } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } finally {
    redis?.disconnect();
  }
}
