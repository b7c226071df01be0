// `reel worker`: what runs inside each Kubernetes Job pod the operator creates. Reads the contract
// in env.ts, runs one episode or the merge, writes one JSON result to the termination log, logs
// JSON lines (pino) on stdout, and answers the exit code the Job's podFailurePolicy reads
// (crds/src/contract/exit-codes.ts): 0 done, 2 bad input that retrying cannot fix (the Job fails at
// once), 3 the GPU encoder failed on this node (retried elsewhere), 1 anything else (retried).
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  COOKIES_PATH,
  cookiesSecretName,
  EXIT,
  episodeNeedsCookies,
  isBadInput,
  metadataPrefix,
  politenessPrefix,
  ReelError,
  redactText,
  type SegmentOutcome,
  urlSecrets,
} from "@reel/crds";
import { type Span, SpanStatusCode, startTracing, type Tracing, TracingEnv } from "@reel/crds/tracing";
import type { Redis } from "ioredis";
import { type Logger, pino } from "pino";
import { type Cookies, readCookies } from "../fetch/cookies.ts";
import { DEFAULT_POLITENESS, failOpen, hostLimiter, memorySlots, redisSlots } from "../fetch/politeness.ts";
import { ytDlpVersion } from "../fetch/ytdlp.ts";
import { preflight } from "../local.ts";
import type { S3Connection } from "../output/s3.ts";
import type { OutputTarget } from "../output/target.ts";
import { realStages } from "../pipeline/stages-real.ts";
import { DiskCache } from "../resilience/cache.ts";
import { RedisCache } from "../resilience/redis-cache.ts";
import { type EpisodeOutcome, type PodContext, runEpisodePod } from "./episode.ts";
import { parseWorkerEnv, terminationLogPath, type WorkerEnv } from "./env.ts";
import { type MergeOutcome, outputTarget, runMergePod } from "./merge.ts";
import { deniedLine, noProgress, type ProgressSink, redisDenied, redisProgress, workerRedis } from "./progress.ts";
import { runSegmentPod } from "./segment.ts";
import { openStaging } from "./staging.ts";
import { terminationMessage, writeTermination } from "./termination.ts";
import { tracedStages, tracedStaging, tracedTarget } from "./tracing.ts";

export type WorkerResult =
  | EpisodeOutcome
  | SegmentOutcome
  | MergeOutcome
  | { mode: string; phase: "Failed" | "Cancelled"; index?: number; error: { code: string; message: string } };

export interface WorkerIO {
  /** Where the JSON log lines go (stdout by default). */
  logStream?: NodeJS.WritableStream;
  /** Cancels the run (SIGTERM does too). */
  signal?: AbortSignal;
  /** Where the job's cookies Secret is mounted (COOKIES_PATH; tests give a file of their own). */
  cookiesPath?: string;
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export function exitCodeOf(result: WorkerResult): number {
  if (result.phase === "Completed") return EXIT.ok;
  if (result.error?.code === "REEL_ENCODER_FAILED") return EXIT.encoderFailed;
  return result.error && isBadInput(result.error.code) ? EXIT.badInput : EXIT.retry;
}

export async function workerMain(env: NodeJS.ProcessEnv, io: WorkerIO = {}): Promise<number> {
  // A list pod (the operator's playlist listing) has its own small contract: crds contract/listing.ts.
  if (env.REEL_MODE === "list") return (await import("./list.ts")).listMain(env);
  const level = env.REEL_LOG_LEVEL && LEVELS.has(env.REEL_LOG_LEVEL) ? env.REEL_LOG_LEVEL : "info";
  const root = pino(
    {
      level,
      // The REST call's trace (set by the operator from the VideoJob), so logs join up across shim, operator and worker.
      base: { component: "reel-worker", ...(env.REEL_TRACE_ID ? { trace_id: env.REEL_TRACE_ID } : {}) },
      // Nothing secret is ever put in a log line; this is the belt to those braces.
      redact: {
        paths: ["*.secretAccessKey", "*.AWS_SECRET_ACCESS_KEY", "*.REEL_SOURCE_AWS_SECRET_ACCESS_KEY", "*.accessKeyId"],
        censor: "[redacted]",
      },
    },
    (io.logStream ?? process.stdout) as pino.DestinationStream,
  );
  const ac = new AbortController();
  const onSigterm = () => {
    root.warn("SIGTERM: cancelling");
    ac.abort();
  };
  process.once("SIGTERM", onSigterm);
  const stopOnIo = () => ac.abort();
  io.signal?.addEventListener("abort", stopOnIo, { once: true });
  if (io.signal?.aborted) ac.abort();

  const mode = env.REEL_MODE === "merge" || env.REEL_MODE === "segment" ? env.REEL_MODE : "episode";
  const index = /^\d+$/.test(env.REEL_EPISODE_INDEX ?? "") ? Number(env.REEL_EPISODE_INDEX) : undefined;
  let log: Logger = root.child({
    videojob: env.REEL_VIDEOJOB,
    mode,
    ...(mode !== "merge" && index !== undefined ? { episode: index } : {}),
  });
  // OTLP export when an endpoint is set: a span for this pod run, a child of the pod's TRACEPARENT.
  const tracing = await startTracing(TracingEnv.parse(env), "reel-worker").catch((err) => {
    log.warn({ reason: (err as Error).message }, "tracing not started");
    return undefined;
  });
  const span = tracing?.startSpan(`worker ${mode}`, {
    parent: env.TRACEPARENT,
    attributes: {
      "reel.mode": mode,
      ...(env.REEL_VIDEOJOB ? { "reel.videojob": env.REEL_VIDEOJOB } : {}),
      ...(mode !== "merge" && index !== undefined ? { "reel.episode": index } : {}),
      ...(mode === "segment" && /^\d+$/.test(env.JOB_COMPLETION_INDEX ?? "")
        ? { "reel.segment": Number(env.JOB_COMPLETION_INDEX) }
        : {}),
    },
  });
  let result: WorkerResult;
  try {
    const w = parseWorkerEnv(env);
    log = root.child({
      videojob: w.ref,
      mode: w.mode,
      ...(w.mode !== "merge" ? { episode: w.episode.index } : {}),
      ...(w.mode === "segment" ? { segment: w.segment } : {}),
    });
    const trace = tracing && span ? { tracing, span } : undefined;
    result = await run(w, log, ac.signal, trace, io.cookiesPath ?? COOKIES_PATH);
  } catch (err) {
    const e = ReelError.from(err, "REEL_INTERNAL");
    const code = ac.signal.aborted ? "REEL_CANCELLED" : e.code;
    // A stack helps only where Reel itself went wrong; coded errors say what happened.
    log.error(
      { code, err: { message: e.message, ...(code === "REEL_INTERNAL" ? { stack: e.stack } : {}) } },
      "worker failed",
    );
    result = {
      mode,
      phase: ac.signal.aborted ? "Cancelled" : "Failed",
      ...(mode !== "merge" && index !== undefined ? { index } : {}),
      error: { code, message: e.message },
    };
  } finally {
    process.off("SIGTERM", onSigterm);
    io.signal?.removeEventListener("abort", stopOnIo);
  }
  // The error leaves the pod (status, events, webhooks): no secret part of its source URL, however
  // the text that carries it was produced (ReelError already drops the URLs' query and userinfo).
  if (result.error && env.REEL_EPISODE_URL) {
    const secrets = urlSecrets(env.REEL_EPISODE_URL);
    result = { ...result, error: { ...result.error, message: redactText(result.error.message, secrets) } };
  }
  const code = exitCodeOf(result);
  const message = terminationMessage(result);
  try {
    await writeTermination(terminationLogPath(env), message);
  } catch (err) {
    log.warn({ path: terminationLogPath(env), reason: (err as Error).message }, "cannot write the termination log");
  }
  log.info({ result: JSON.parse(message), exitCode: code }, "worker done");
  if (tracing && span) await endPodSpan(tracing, span, result, code, log);
  await new Promise<void>((resolve) => root.flush(() => resolve()));
  return code;
}

/** Ends the pod's span with its outcome and sends every queued span (waiting at most 5 s for the collector). */
async function endPodSpan(tracing: Tracing, span: Span, result: WorkerResult, code: number, log: Logger) {
  span.setAttributes({ "reel.phase": result.phase, "reel.exit_code": code });
  if (result.error) {
    span.setAttribute("reel.error.code", result.error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message });
  }
  span.end();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    tracing.shutdown().catch((err) => log.warn({ reason: (err as Error).message }, "trace export failed")),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 5000).unref();
    }),
  ]);
  clearTimeout(timer);
}

async function run(
  w: WorkerEnv,
  log: Logger,
  signal: AbortSignal,
  trace: { tracing: Tracing; span: Span } | undefined,
  cookiesPath: string,
): Promise<WorkerResult> {
  const c = w.config;
  await preflight({ ffmpeg: c.REEL_FFMPEG, ffprobe: c.REEL_FFPROBE });
  const cookies = await podCookies(w, cookiesPath);
  // The root filesystem may be read-only: every temporary file goes under the scratch volume.
  const tmpRoot = join(c.REEL_CACHE_DIR, "tmp");
  await mkdir(tmpRoot, { recursive: true });
  const scratch = await mkdtemp(join(tmpRoot, `${w.mode}-`));
  const warn = redisWarnings(log);
  const ns = w.job.metadata.namespace ?? "default";
  const redis = w.redisUrl ? connectRedis(w.redisUrl, w.redisAuth, warn("Redis unavailable")) : undefined;
  const progress: ProgressSink = redis
    ? redisProgress(redis, w.ref, { onError: warn("progress not published to Redis") })
    : noProgress;
  const conn: S3Connection | undefined =
    c.AWS_ACCESS_KEY_ID && c.AWS_SECRET_ACCESS_KEY && w.job.spec.output.s3
      ? {
          accessKeyId: c.AWS_ACCESS_KEY_ID,
          secretAccessKey: c.AWS_SECRET_ACCESS_KEY,
          ...(w.job.spec.output.s3.endpoint ? { endpoint: w.job.spec.output.s3.endpoint } : {}),
          ...(w.job.spec.output.s3.region ? { region: w.job.spec.output.s3.region } : {}),
        }
      : undefined;
  let ytDlp: Promise<string | undefined> | undefined;
  const ctx: PodContext = {
    stages: realStages({
      binaries: { ffmpeg: c.REEL_FFMPEG, ffprobe: c.REEL_FFPROBE },
      ytDlp: c.ytDlp,
      childEnv: { ...c.childEnv, TMPDIR: scratch },
      allow: c.REEL_EGRESS_ALLOW,
      cacheDir: c.REEL_CACHE_DIR,
      metadata: redis
        ? new RedisCache(redis, metadataPrefix(w.job.metadata.namespace ?? "default"))
        : new DiskCache(join(c.REEL_CACHE_DIR, "metadata")),
      segmentMinSecs: c.REEL_SEGMENT_MIN_SECS,
      concurrency: 1,
      onGpuEncoderFailure: w.mode !== "merge" ? w.onEncoderFailure : "fallback",
      s3Keys: c,
      ...(cookies ? { cookies } : {}),
      // Every pod of the job counts against one limit per host, in Redis; alone without it.
      politeness: hostLimiter(
        redis
          ? failOpen(redisSlots(redis, politenessPrefix(ns, w.job.metadata.name)), warn("politeness not kept in Redis"))
          : memorySlots(),
        w.job.spec.politeness ?? DEFAULT_POLITENESS,
      ),
    }),
    staging: openStaging(w.staging, conn),
    scratch,
    cacheDir: c.REEL_CACHE_DIR,
    binaries: { ffmpeg: c.REEL_FFMPEG, ffprobe: c.REEL_FFPROBE },
    log,
    progress,
    signal,
    ytDlpVersion: () => {
      ytDlp ??= ytDlpVersion(c.ytDlp).then(
        (v) => v || undefined,
        () => undefined,
      );
      return ytDlp;
    },
  };
  let target = w.mode === "merge" ? outputTarget(w, conn) : undefined;
  if (trace) {
    ctx.stages = tracedStages(ctx.stages, trace.tracing, trace.span);
    ctx.staging = tracedStaging(ctx.staging, trace.tracing, trace.span);
    if (target) target = tracedTarget(target, trace.tracing, trace.span);
  }
  try {
    if (w.mode === "episode") return await runEpisodePod(w, ctx);
    if (w.mode === "segment") return await runSegmentPod(w, ctx);
    return await runMergePod(w, ctx, target as OutputTarget);
  } finally {
    await progress.close();
    redis?.disconnect();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The job's cookies, read from the Secret's read-only mount in a page episode's pod (the operator
 * mounts it there only); a missing Secret or key (the volume is optional) fails with
 * REEL_COOKIES_INVALID naming them, before any download.
 */
async function podCookies(w: WorkerEnv, path: string): Promise<Cookies | undefined> {
  const ref = w.job.spec.ytdlp?.cookiesSecret;
  if (w.mode !== "episode" || !ref || !episodeNeedsCookies(w.job.spec, 0)) return undefined;
  return readCookies(path, cookiesSecretName(ref));
}

function connectRedis(url: string, auth: WorkerEnv["redisAuth"], onError: (err: Error) => void): Redis {
  const redis = workerRedis(url, auth);
  // Redis is an extra (progress, metadata cache): an outage is logged once, never fatal.
  redis.on("error", onError);
  return redis;
}

/**
 * Warnings about Redis, each kind once per pod: a refusal of its user (REEL_REDIS_DENIED, however
 * many clients or calls meet it) apart from an outage, which each caller names itself.
 */
function redisWarnings(log: Logger) {
  let denied = false;
  return (msg: string) => {
    let warned = false;
    return (err: Error) => {
      if (redisDenied(err)) {
        if (denied) return;
        denied = true;
        log.warn(deniedLine(err), "Redis refused this pod's user; progress is not published");
        return;
      }
      if (warned) return;
      warned = true;
      log.warn({ reason: err.message }, msg);
    };
  };
}
