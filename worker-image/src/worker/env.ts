// The worker pod's contract with the operator: the environment of `reel worker`, parsed once here.
// The operator (operator/src/plan/jobs.ts) sets exactly these; values are never secrets (the S3
// keys arrive through secretKeyRef from the job's credentialsSecret).
//
// Both modes
//   REEL_MODE              episode | merge
//   REEL_VIDEOJOB          <namespace>/<name> of the VideoJob
//   REEL_VIDEOJOB_UID      its metadata.uid (part of every idempotency key)
//   REEL_SPEC              JSON of the VideoJob spec; must parse with the crds VideoJobSpec schema
//                          (defaults applied) and pass its cross-field rules. Episode pods get a spec
//                          whose `episodes` holds only their own episode; merge pods the full spec.
//   REEL_STAGING           s3://<bucket>/<key-prefix>/ (endpoint and region from spec.output.s3) or an
//                          absolute directory on the mounted output volume, which must be
//                          <output dir>/.reel-staging/<uid>/ (the merged file goes to <output dir>)
//   REEL_CACHE_DIR         scratch (an emptyDir): downloads, encodes, temporary files; the root
//                          filesystem may be read-only
//   REEL_EGRESS_ALLOW      comma-separated CIDRs opened past the egress guard (may be empty)
//   REEL_REDIS_URL         optional: fine-grained progress is published there (and probe results cached)
//   REEL_TERMINATION_LOG   optional, default /dev/termination-log: the one-line JSON result
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   for S3 staging and S3 output
// Episode pods
//   REEL_EPISODE_INDEX     the episode's index in the whole VideoJob (0-based)
//   REEL_EPISODE_URL       its URL (must equal spec.episodes[0].url)
//   REEL_EPISODE_TITLE     optional, its title (else spec.episodes[0].title, else "Episode <index+1>")
//   REEL_ENCODER_HINT      the encoder the node was chosen for; informational (logged, compared)
//   REEL_ON_ENCODER_FAILURE  optional, "fallback" (default: the next encoder, the CPU last) or "exit"
//                          (set on GPU placements: a failed GPU encoder exits 3 with REEL_ENCODER_FAILED
//                          so the operator retries on another node before the CPU)
// Segment pods (REEL_MODE=segment; the episode's Indexed Job, when the episode pod split it): the
// episode variables above, plus
//   JOB_COMPLETION_INDEX   set by Kubernetes for an Indexed Job: which segment this pod encodes
// Merge pods
//   REEL_MERGE_EPISODES    JSON [{"index":0,"title":"Pilot"}, {"index":1,"title":"Two","segments":12}]:
//                          the staged episodes to join, in order (failed ones already left out when
//                          allowPartial); `segments` marks a split episode, joined here from its segments
//
// Staging layout (under REEL_STAGING): ep<index>.mp4, then ep<index>.json (an EpisodeRecord; written
// last, it marks the episode complete); merge.json (a MergeRecord) after the final output is stored.
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { parseVideoJob, ReelError, type VideoJob, VideoJobInvalidError } from "@reel/crds";
import { z } from "zod";
import { type Config, loadConfig } from "../config.ts";

const DnsName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const Optional = z
  .string()
  .optional()
  .transform((s) => (s?.trim() ? s.trim() : undefined));

const Common = {
  REEL_VIDEOJOB: z.string().refine((s) => s.split("/").length === 2 && s.split("/").every((p) => DnsName.test(p)), {
    message: "must be <namespace>/<name>",
  }),
  REEL_VIDEOJOB_UID: z.string().min(1),
  REEL_SPEC: z.string().min(1),
  REEL_STAGING: z.string().refine((s) => /^s3:\/\/[^/]+\/(.*\/)?$/.test(s) || isAbsolute(s), {
    message: "must be s3://<bucket>/<prefix>/ or an absolute directory",
  }),
  REEL_REDIS_URL: Optional,
  REEL_TERMINATION_LOG: z.string().min(1).default("/dev/termination-log"),
  REEL_ENCODER_HINT: Optional,
  REEL_ON_ENCODER_FAILURE: z.enum(["fallback", "exit"]).default("fallback"),
};

const EpisodeEnv = z.object({
  REEL_MODE: z.literal("episode"),
  ...Common,
  REEL_EPISODE_INDEX: z
    .string()
    .regex(/^\d+$/, "must be a whole number ≥ 0")
    .transform((s) => Number(s)),
  REEL_EPISODE_URL: z.string().min(1),
  REEL_EPISODE_TITLE: Optional,
});

const SegmentEnv = EpisodeEnv.extend({
  REEL_MODE: z.literal("segment"),
  JOB_COMPLETION_INDEX: z
    .string()
    .regex(/^\d+$/, "must be a whole number ≥ 0 (set by Kubernetes for an Indexed Job)")
    .transform((s) => Number(s)),
});

const MergeEnv = z.object({
  REEL_MODE: z.literal("merge"),
  ...Common,
  REEL_MERGE_EPISODES: z.string().min(1),
});

const WorkerEnvSchema = z.discriminatedUnion("REEL_MODE", [EpisodeEnv, SegmentEnv, MergeEnv]);

const MergeList = z
  .array(
    z.object({
      index: z.number().int().min(0),
      title: z.string().max(200).optional(),
      segments: z.number().int().min(1).max(10_000).optional(),
    }),
  )
  .min(1)
  .max(500);

export type StagingRef = { kind: "s3"; bucket: string; prefix: string } | { kind: "dir"; dir: string };

interface Base {
  /** namespace/name, for logs and Redis keys. */
  ref: string;
  uid: string;
  /** The VideoJob rebuilt from REEL_VIDEOJOB, the uid and REEL_SPEC (validated, defaults applied). */
  job: VideoJob;
  staging: StagingRef;
  redisUrl?: string;
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

function parseJson(text: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (cause) {
    return { error: (cause as Error).message };
  }
}

/** Parses and checks the whole contract; throws a coded ReelError that names the variable. */
export function parseWorkerEnv(env: NodeJS.ProcessEnv): WorkerEnv {
  const parsed = WorkerEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const at = i.path.join(".") || "environment";
      if (i.path[0] === "REEL_MODE") return `REEL_MODE: must be "episode", "segment" or "merge"`;
      return env[String(i.path[0])] === undefined ? `${at}: missing` : `${at}: ${i.message}`;
    });
    throw envError(`bad worker environment: ${issues.join("; ")}`);
  }
  const e = parsed.data;
  const [namespace, name] = e.REEL_VIDEOJOB.split("/") as [string, string];

  // A bad spec is the job's fault (REEL_JOB_INVALID), not the operator's.
  const specDoc = parseJson(e.REEL_SPEC);
  if ("error" in specDoc) throw new ReelError("REEL_JOB_INVALID", `REEL_SPEC is not JSON: ${specDoc.error}`);
  let job: VideoJob;
  try {
    job = parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name, namespace, uid: e.REEL_VIDEOJOB_UID },
      spec: specDoc.value,
    });
  } catch (err) {
    if (err instanceof VideoJobInvalidError) {
      throw new ReelError("REEL_JOB_INVALID", `REEL_SPEC is not a valid VideoJob spec: ${err.issues.join("; ")}`, {
        cause: err,
      });
    }
    throw err;
  }

  let config: Config;
  try {
    config = loadConfig(env);
  } catch (cause) {
    throw envError(`bad worker environment: ${(cause as Error).message}`, cause);
  }
  const staging = parseStaging(e.REEL_STAGING);
  if (staging.kind === "s3") {
    if (!job.spec.output.s3) throw envError("REEL_STAGING is on S3 but spec.output.s3 is absent (endpoint, region)");
    if (!config.AWS_ACCESS_KEY_ID || !config.AWS_SECRET_ACCESS_KEY) {
      throw envError("S3 staging needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (from the credentials Secret)");
    }
  }
  const base: Base = {
    ref: `${namespace}/${name}`,
    uid: e.REEL_VIDEOJOB_UID,
    job,
    staging,
    terminationLog: e.REEL_TERMINATION_LOG,
    config,
    ...(e.REEL_REDIS_URL ? { redisUrl: e.REEL_REDIS_URL } : {}),
  };

  if (e.REEL_MODE === "episode" || e.REEL_MODE === "segment") {
    const only = job.spec.episodes[0];
    if (job.spec.episodes.length !== 1 || only?.url !== e.REEL_EPISODE_URL) {
      throw envError(
        `REEL_SPEC of an ${e.REEL_MODE} pod must hold exactly its one episode, with REEL_EPISODE_URL as url`,
      );
    }
    const index = e.REEL_EPISODE_INDEX;
    const episode: EpisodeEnv = {
      ...base,
      mode: "episode",
      episode: { index, url: only.url, title: e.REEL_EPISODE_TITLE ?? only.title ?? `Episode ${index + 1}` },
      ...(e.REEL_ENCODER_HINT ? { encoderHint: e.REEL_ENCODER_HINT } : {}),
      onEncoderFailure: e.REEL_ON_ENCODER_FAILURE,
    };
    return e.REEL_MODE === "segment" ? { ...episode, mode: "segment", segment: e.JOB_COMPLETION_INDEX } : episode;
  }

  const listDoc = parseJson(e.REEL_MERGE_EPISODES);
  const list = "error" in listDoc ? undefined : MergeList.safeParse(listDoc.value);
  if (!list?.success) {
    const why =
      "error" in listDoc
        ? `not JSON: ${listDoc.error}`
        : (list?.error?.issues ?? []).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw envError(`REEL_MERGE_EPISODES must be a JSON array of {index, title}: ${why}`);
  }
  let outputDir: string | undefined;
  if (!job.spec.output.s3) {
    if (staging.kind !== "dir") throw envError("a volume output needs REEL_STAGING to be a directory on the volume");
    outputDir = volumeOutputDir(staging.dir);
  }
  const seen = new Set<number>();
  for (const { index } of list.data) {
    if (index >= job.spec.episodes.length || seen.has(index)) {
      throw envError(`REEL_MERGE_EPISODES: index ${index} is out of range or repeated`);
    }
    seen.add(index);
  }
  return {
    ...base,
    mode: "merge",
    episodes: list.data.map(({ index, title, segments }) => ({
      index,
      title: title ?? job.spec.episodes[index]?.title ?? `Episode ${index + 1}`,
      ...(segments ? { segments } : {}),
    })),
    ...(outputDir ? { outputDir } : {}),
  };
}
