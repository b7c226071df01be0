// The worker pod's environment, parsed once: the variables themselves are the contract in
// crds/src/contract/worker-env.ts (the operator builds them with buildWorkerEnv); here they become
// what `reel worker` runs on — the VideoJob rebuilt and validated, staging and output resolved,
// the configuration loaded. Every failure is a coded error naming the variable.
import { basename, dirname, resolve } from "node:path";
import {
  episodeTitle,
  parseVideoJob,
  parseWorkerEnvVars,
  type RedisAuth,
  ReelError,
  type VideoJob,
  VideoJobInvalidError,
  WorkerEnvError,
} from "@reel/crds";
import { type Config, loadConfig } from "../config.ts";

export type StagingRef = { kind: "s3"; bucket: string; prefix: string } | { kind: "dir"; dir: string };

interface Base {
  /** namespace/name, for logs and Redis keys. */
  ref: string;
  uid: string;
  /** The VideoJob rebuilt from REEL_VIDEOJOB, the uid and REEL_SPEC (validated, defaults applied). */
  job: VideoJob;
  staging: StagingRef;
  redisUrl?: string;
  /** The namespace's Redis user (REEL_REDIS_USERNAME/PASSWORD, by secretKeyRef); never logged. */
  redisAuth?: RedisAuth;
  terminationLog: string;
  config: Config;
}

export interface EpisodeEnv extends Base {
  mode: "episode";
  episode: { index: number; url: string; title: string };
  encoderHint?: string;
  onEncoderFailure: "fallback" | "exit";
}

/** A pod of a split episode's Indexed Job: encodes one segment. */
export interface SegmentEnv extends Omit<EpisodeEnv, "mode"> {
  mode: "segment";
  segment: number;
}

export interface MergeEnv extends Base {
  mode: "merge";
  /** `segments`: a split episode, joined from that many staged segments first. */
  episodes: { index: number; title: string; segments?: number }[];
  /** Where the merged file goes when the output is not S3 (a volume): see volumeOutputDir. */
  outputDir?: string;
  /** Keep the staged files once the outputs are stored (REEL_KEEP_STAGING, for debugging). */
  keepStaging: boolean;
}

export type WorkerEnv = EpisodeEnv | SegmentEnv | MergeEnv;

function envError(message: string, cause?: unknown): ReelError {
  return new ReelError("REEL_WORKER_ENV_INVALID", message, cause ? { cause } : undefined);
}

/** Where the termination message goes, readable even when the rest of the environment is not. */
export function terminationLogPath(env: NodeJS.ProcessEnv): string {
  return env.REEL_TERMINATION_LOG?.trim() || "/dev/termination-log";
}

export function parseStaging(text: string): StagingRef {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(text);
  if (m) return { kind: "s3", bucket: m[1] as string, prefix: m[2] as string };
  return { kind: "dir", dir: resolve(text) };
}

/** The directory the merged file goes to when the output is a volume: the parent of .reel-staging. */
export function volumeOutputDir(stagingDir: string): string {
  const parent = dirname(resolve(stagingDir));
  if (basename(parent) !== ".reel-staging") {
    throw envError(`REEL_STAGING ${stagingDir} must be <output dir>/.reel-staging/<uid>/ for a volume output`);
  }
  return dirname(parent);
}

/** Parses and checks the whole contract; throws a coded ReelError that names the variable. */
export function parseWorkerEnv(env: NodeJS.ProcessEnv): WorkerEnv {
  let e: ReturnType<typeof parseWorkerEnvVars>;
  try {
    e = parseWorkerEnvVars(env);
  } catch (err) {
    if (err instanceof WorkerEnvError) throw envError(err.message, err);
    throw err;
  }
  const [namespace, name] = e.videojob.split("/") as [string, string];
  const job = parseSpec(e.spec, namespace, name, e.uid);

  let config: Config;
  try {
    config = loadConfig(env);
  } catch (cause) {
    throw envError(`bad worker environment: ${(cause as Error).message}`, cause);
  }
  const staging = parseStaging(e.staging);
  if (staging.kind === "s3") {
    if (!job.spec.output.s3) throw envError("REEL_STAGING is on S3 but spec.output.s3 is absent (endpoint, region)");
    if (!config.AWS_ACCESS_KEY_ID || !config.AWS_SECRET_ACCESS_KEY) {
      throw envError("S3 staging needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (from the credentials Secret)");
    }
  }
  const base: Base = {
    ref: e.videojob,
    uid: e.uid,
    job,
    staging,
    terminationLog: e.terminationLog,
    config,
    ...(e.redisUrl ? { redisUrl: e.redisUrl } : {}),
    ...(e.redisAuth ? { redisAuth: e.redisAuth } : {}),
  };

  if (e.mode !== "merge") {
    const only = job.spec.episodes[0];
    if (job.spec.episodes.length !== 1 || only?.url !== e.episode.url) {
      throw envError(`REEL_SPEC of an ${e.mode} pod must hold exactly its one episode, with REEL_EPISODE_URL as url`);
    }
    const index = e.episode.index;
    const episode: EpisodeEnv = {
      ...base,
      mode: "episode",
      episode: { index, url: only.url, title: e.episode.title ?? episodeTitle(only, index) },
      ...(e.encoderHint ? { encoderHint: e.encoderHint } : {}),
      onEncoderFailure: e.onEncoderFailure ?? "fallback",
    };
    return e.mode === "segment" ? { ...episode, mode: "segment", segment: e.segment ?? 0 } : episode;
  }

  let outputDir: string | undefined;
  if (!job.spec.output.s3) {
    if (staging.kind !== "dir") throw envError("a volume output needs REEL_STAGING to be a directory on the volume");
    outputDir = volumeOutputDir(staging.dir);
  }
  const seen = new Set<number>();
  for (const { index } of e.episodes) {
    if (index >= job.spec.episodes.length || seen.has(index)) {
      throw envError(`REEL_MERGE_EPISODES: index ${index} is out of range or repeated`);
    }
    seen.add(index);
  }
  return {
    ...base,
    mode: "merge",
    episodes: e.episodes.map(({ index, title, segments }) => ({
      index,
      title: title ?? episodeTitle(job.spec.episodes[index], index),
      ...(segments ? { segments } : {}),
    })),
    ...(outputDir ? { outputDir } : {}),
    keepStaging: e.keepStaging === true,
  };
}

/** The VideoJob from REEL_SPEC; a bad spec is the job's fault (REEL_JOB_INVALID), not the operator's. */
function parseSpec(text: string, namespace: string, name: string, uid: string): VideoJob {
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (cause) {
    throw new ReelError("REEL_JOB_INVALID", `REEL_SPEC is not JSON: ${(cause as Error).message}`);
  }
  try {
    // The spec came through the API server (the operator copies it): a CRD newer than this image
    // may carry fields this worker does not know, which must not fail the pod.
    return parseVideoJob(
      { apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name, namespace, uid }, spec },
      { unknownFields: "ignore" },
    );
  } catch (err) {
    if (err instanceof VideoJobInvalidError) {
      throw new ReelError("REEL_JOB_INVALID", `REEL_SPEC is not a valid VideoJob spec: ${err.issues.join("; ")}`, {
        cause: err,
      });
    }
    throw err;
  }
}
