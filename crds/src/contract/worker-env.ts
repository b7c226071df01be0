// The worker pod's environment: what the operator sets on every pod it plans (buildWorkerEnv, in
// operator/src/plan/jobs.ts) and what `reel worker` reads back (parseWorkerEnvVars, then the deeper
// checks of worker-image/src/worker/env.ts: the spec against the VideoJob schema, staging against
// the output). One list of names; values are never secrets (S3 keys arrive by secretKeyRef).
//
// Every mode
//   REEL_MODE              episode | segment | merge
//   REEL_VIDEOJOB          <namespace>/<name> of the VideoJob
//   REEL_VIDEOJOB_UID      its metadata.uid (part of every idempotency key)
//   REEL_STAGING           s3://<bucket>/<prefix>.reel-staging/<uid>/ or <volume dir>/.reel-staging/<uid>/
//   REEL_SPEC              JSON of the VideoJob spec (episode and segment pods: only their episode)
//   REEL_EGRESS_ALLOW      comma-separated CIDRs opened past the egress guard (may be empty)
//   REEL_CACHE_DIR         scratch (an emptyDir); the root filesystem may be read-only
//   REEL_TERMINATION_LOG   where the one-line JSON result goes (/dev/termination-log)
//   REEL_REDIS_URL         optional: live progress is published there (contract/progress.ts); never
//                          with credentials in it
//   REEL_REDIS_USERNAME, REEL_REDIS_PASSWORD  by secretKeyRef (Secret reel-redis-worker, contract/
//                          redis-access.ts): the namespace's Redis user, unless redis.workerAcl is off
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  by secretKeyRef: the output's S3 keys (or, with a
//                          volume output, an s3:// episode's own Secret's)
//   REEL_SOURCE_AWS_ACCESS_KEY_ID, REEL_SOURCE_AWS_SECRET_ACCESS_KEY  by secretKeyRef, episode pods
//                          of an s3:// episode whose credentialsSecret is not the output's
//                          (names from s3-source.ts credentialEnvNames; set by operator plan/jobs.ts s3KeyRefs)
// Episode and segment pods
//   REEL_EPISODE_INDEX     the episode's index in the whole VideoJob (0-based)
//   REEL_EPISODE_URL       its URL (equal to the one episode in REEL_SPEC)
//   REEL_EPISODE_TITLE     optional, its title
//   REEL_ENCODER_HINT      optional, the encoder the node was chosen for (informational)
//   REEL_ON_ENCODER_FAILURE  optional: "exit" on GPU placements (exit 3, contract/exit-codes.ts), else "fallback"
//   JOB_COMPLETION_INDEX   segment pods only, set by Kubernetes (Indexed Job): the piece to encode
// Merge pods
//   REEL_MERGE_EPISODES    JSON [{"index":0,"title":"Pilot"},{"index":1,"title":"Two","segments":12}]:
//                          the staged episodes to store, in order; `segments` marks a split episode
//   REEL_KEEP_STAGING      optional, "true": keep the staged files once the outputs are stored (debugging);
//                          by default the merge pod removes all of staging but merge.json
import { z } from "zod";

export type WorkerMode = "episode" | "segment" | "merge";

export const MergeEpisode = z.object({
  index: z.number().int().min(0),
  title: z.string().max(200).optional(),
  segments: z.number().int().min(1).max(10_000).optional(),
});
export type MergeEpisode = z.infer<typeof MergeEpisode>;
export const MergeEpisodes = z.array(MergeEpisode).min(1).max(500);

interface Common {
  videojob: string;
  uid: string;
  staging: string;
  /** The spec as JSON text (the worker validates it against the VideoJob schema). */
  spec: string;
  egressAllow: string[];
  cacheDir: string;
  terminationLog: string;
  redisUrl?: string;
}

/** The namespace's Redis user, read from the pod env (the operator sets it by secretKeyRef only). */
export interface RedisAuth {
  username: string;
  password: string;
}

export interface EpisodePodEnv extends Common {
  mode: "episode" | "segment";
  episode: { index: number; url: string; title?: string };
  encoderHint?: string;
  onEncoderFailure?: "fallback" | "exit";
}

export interface MergePodEnv extends Common {
  mode: "merge";
  episodes: MergeEpisode[];
  keepStaging?: boolean;
}

export type WorkerEnvVars = EpisodePodEnv | MergePodEnv;

export type EnvVar = { name: string; value: string };

/** The writer's side: the pod's env, in a fixed order (the planned Job's hash depends on it). */
export function buildWorkerEnv(x: WorkerEnvVars): EnvVar[] {
  const v = (name: string, value: string | undefined): EnvVar[] => (value === undefined ? [] : [{ name, value }]);
  const mode =
    x.mode === "merge"
      ? [
          ...v("REEL_SPEC", x.spec),
          ...v("REEL_MERGE_EPISODES", JSON.stringify(x.episodes)),
          ...v("REEL_KEEP_STAGING", x.keepStaging ? "true" : undefined),
        ]
      : [
          ...v("REEL_EPISODE_INDEX", String(x.episode.index)),
          ...v("REEL_EPISODE_URL", x.episode.url),
          ...v("REEL_EPISODE_TITLE", x.episode.title),
          ...v("REEL_SPEC", x.spec),
          ...v("REEL_ENCODER_HINT", x.encoderHint),
          ...v("REEL_ON_ENCODER_FAILURE", x.onEncoderFailure),
        ];
  return [
    ...v("REEL_MODE", x.mode),
    ...v("REEL_VIDEOJOB", x.videojob),
    ...v("REEL_VIDEOJOB_UID", x.uid),
    ...v("REEL_STAGING", x.staging),
    ...mode,
    ...v("REEL_EGRESS_ALLOW", x.egressAllow.join(",")),
    ...v("REEL_CACHE_DIR", x.cacheDir),
    ...v("REEL_TERMINATION_LOG", x.terminationLog),
    ...v("REEL_REDIS_URL", x.redisUrl),
  ];
}

const DnsName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const Optional = z
  .string()
  .optional()
  .transform((s) => (s?.trim() ? s.trim() : undefined));
const Index = (what: string) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number ≥ 0${what}`)
    .transform((s) => Number(s));

const CommonVars = {
  REEL_VIDEOJOB: z.string().refine((s) => s.split("/").length === 2 && s.split("/").every((p) => DnsName.test(p)), {
    message: "must be <namespace>/<name>",
  }),
  REEL_VIDEOJOB_UID: z.string().min(1),
  REEL_SPEC: z.string().min(1),
  REEL_STAGING: z.string().refine((s) => /^s3:\/\/[^/]+\/(.*\/)?$/.test(s) || s.startsWith("/"), {
    message: "must be s3://<bucket>/<prefix>/ or an absolute directory",
  }),
  REEL_EGRESS_ALLOW: z.string().default(""),
  REEL_CACHE_DIR: Optional,
  REEL_TERMINATION_LOG: z.string().min(1).default("/dev/termination-log"),
  REEL_REDIS_URL: Optional,
  REEL_REDIS_USERNAME: Optional,
  REEL_REDIS_PASSWORD: Optional,
};
const EpisodeVars = z.object({
  REEL_MODE: z.literal("episode"),
  ...CommonVars,
  REEL_EPISODE_INDEX: Index(""),
  REEL_EPISODE_URL: z.string().min(1),
  REEL_EPISODE_TITLE: Optional,
  REEL_ENCODER_HINT: Optional,
  REEL_ON_ENCODER_FAILURE: z.enum(["fallback", "exit"]).optional(),
});
const SegmentVars = EpisodeVars.extend({
  REEL_MODE: z.literal("segment"),
  JOB_COMPLETION_INDEX: Index(" (set by Kubernetes for an Indexed Job)"),
});
const MergeVars = z.object({
  REEL_MODE: z.literal("merge"),
  ...CommonVars,
  REEL_MERGE_EPISODES: z.string().min(1),
  REEL_KEEP_STAGING: z.enum(["true", "false"]).optional(),
});
const Vars = z.discriminatedUnion("REEL_MODE", [EpisodeVars, SegmentVars, MergeVars]);

export type ParsedWorkerEnv = ((EpisodePodEnv & { segment?: number }) | MergePodEnv) & { redisAuth?: RedisAuth };

/** The env could not be read: one line per variable, naming it. */
export class WorkerEnvError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`bad worker environment: ${issues.join("; ")}`);
    this.issues = issues;
  }
}

/** The reader's side: every variable checked and typed; throws WorkerEnvError naming the bad ones. */
export function parseWorkerEnvVars(env: Record<string, string | undefined>): ParsedWorkerEnv {
  const parsed = Vars.safeParse(env);
  if (!parsed.success) {
    throw new WorkerEnvError(
      parsed.error.issues.map((i) => {
        const at = i.path.join(".") || "environment";
        if (i.path[0] === "REEL_MODE") return `REEL_MODE: must be "episode", "segment" or "merge"`;
        return env[String(i.path[0])] === undefined ? `${at}: missing` : `${at}: ${i.message}`;
      }),
    );
  }
  const e = parsed.data;
  const common: Common = {
    videojob: e.REEL_VIDEOJOB,
    uid: e.REEL_VIDEOJOB_UID,
    staging: e.REEL_STAGING,
    spec: e.REEL_SPEC,
    egressAllow: e.REEL_EGRESS_ALLOW.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    cacheDir: e.REEL_CACHE_DIR ?? "",
    terminationLog: e.REEL_TERMINATION_LOG,
    ...(e.REEL_REDIS_URL ? { redisUrl: e.REEL_REDIS_URL } : {}),
  };
  const auth = redisAuth(e.REEL_REDIS_USERNAME, e.REEL_REDIS_PASSWORD);
  if (e.REEL_MODE === "merge") {
    let list: unknown;
    try {
      list = JSON.parse(e.REEL_MERGE_EPISODES);
    } catch (cause) {
      throw new WorkerEnvError([`REEL_MERGE_EPISODES: not JSON: ${(cause as Error).message}`]);
    }
    const episodes = MergeEpisodes.safeParse(list);
    if (!episodes.success) {
      const why = episodes.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
      throw new WorkerEnvError([`REEL_MERGE_EPISODES must be a JSON array of {index, title}: ${why}`]);
    }
    return {
      ...common,
      ...auth,
      mode: "merge",
      episodes: episodes.data,
      ...(e.REEL_KEEP_STAGING === "true" ? { keepStaging: true } : {}),
    };
  }
  return {
    ...common,
    ...auth,
    mode: e.REEL_MODE,
    episode: {
      index: e.REEL_EPISODE_INDEX,
      url: e.REEL_EPISODE_URL,
      ...(e.REEL_EPISODE_TITLE ? { title: e.REEL_EPISODE_TITLE } : {}),
    },
    ...(e.REEL_ENCODER_HINT ? { encoderHint: e.REEL_ENCODER_HINT } : {}),
    ...(e.REEL_ON_ENCODER_FAILURE ? { onEncoderFailure: e.REEL_ON_ENCODER_FAILURE } : {}),
    ...(e.REEL_MODE === "segment" ? { segment: e.JOB_COMPLETION_INDEX } : {}),
  };
}

/** Both halves of the Redis user or neither (one alone is an operator bug: say so, naming the variable). */
function redisAuth(username: string | undefined, password: string | undefined): { redisAuth?: RedisAuth } {
  if (!username && !password) return {};
  if (!username || !password) {
    throw new WorkerEnvError([`${username ? "REEL_REDIS_PASSWORD" : "REEL_REDIS_USERNAME"}: missing`]);
  }
  return { redisAuth: { username, password } };
}
