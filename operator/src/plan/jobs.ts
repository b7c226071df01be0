// plan: the desired per-episode Jobs and the merge Job of a VideoJob, computed from its spec and
// what is observed. Pure; the reconciler applies the result with Server-Side Apply under one field
// manager, and only when the planned object differs from what exists (see `specHash`).
//
// The worker contract (worker-image/src/worker reads exactly these): REEL_MODE episode|merge,
// REEL_VIDEOJOB ns/name, REEL_VIDEOJOB_UID, REEL_SPEC (the spec; an episode pod gets only its own
// episode), REEL_STAGING (s3://bucket/prefix/.reel-staging/<uid>/ or a directory on the mounted
// volume), REEL_EPISODE_INDEX/URL/TITLE, REEL_MERGE_EPISODES, REEL_EGRESS_ALLOW, REEL_CACHE_DIR,
// REEL_ENCODER_HINT, REEL_REDIS_URL, and S3 credentials from the job's Secret by reference.
// A split episode (the episode pod's result says `split`) gets an Indexed Job of REEL_MODE=segment
// pods (planSegmentJob), and the merge Job's REEL_MERGE_EPISODES carries its segment count.
import { createHash } from "node:crypto";
import type { VideoJob } from "@reel/crds";
import { stableSpanId } from "@reel/crds/tracing";
import { type ObservedNode, type Placement, placeEpisode } from "../scheduling/gpu.ts";
import { type InstallationSettings, installationEnv } from "./installation-env.ts";
import { childName } from "./names.ts";

export const FIELD_MANAGER = "reel-operator";
export const MANAGED_BY = { "app.kubernetes.io/managed-by": FIELD_MANAGER } as const;

/** Exit codes of the worker: bad input is final, anything else is retried by the Job. */
export const EXIT_BAD_INPUT = 2;
/**
 * The GPU encoder failed on this node. The Job fails at once instead of retrying on the same node:
 * the operator plans the next attempt away from it (anti-affinity), then on the CPU when allowed.
 */
export const EXIT_ENCODER_FAILED = 3;
/** Attempts of one episode at most (each on another node, the last on the CPU when allowed). */
export const MAX_ATTEMPTS = 4;

export interface OperatorSettings {
  image: string;
  /** Retries of an episode's pod for infrastructure failures. */
  backoffLimit: number;
  activeDeadlineSeconds: number;
  ttlSecondsAfterFinished: number;
  /** Kueue LocalQueue: Jobs are created suspended with its label, Kueue admits them. */
  kueueQueue?: string;
  /** CIDRs opened past the egress guard for every job (private sources), from the operator's flags. */
  egressAllow: string[];
  /** Redis the workers publish fine progress to. */
  redisUrl?: string;
  /** SSE and public base URL of the installation, passed to the pods (plan/installation-env.ts). */
  installation?: InstallationSettings;
}

export interface EpisodeObservation {
  failedNodes: string[];
  gpuExhausted?: boolean;
  /** Which attempt to plan: 0 is the first Job, n > 0 a retry after an encoder failure. */
  attempt?: number;
}

export interface PlannedEpisode {
  index: number;
  /** The Job to apply, or the reason no Job can run (e.g. GPU required but none capable). */
  job?: KubeJob;
  placement?: Placement;
  refused?: { code: string; message: string };
}

export type KubeJob = {
  apiVersion: "batch/v1";
  kind: "Job";
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: Array<Record<string, unknown>>;
  };
  spec: Record<string, unknown>;
};

type EnvVar =
  | { name: string; value: string }
  | { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } };

const PRIORITY_CLASS = { low: "reel-low", normal: "reel-normal", high: "reel-high" } as const;

/** Annotation holding the hash of the planned object: equal hash, nothing to write. */
export const SPEC_HASH = "reel.dev/spec-hash";
export const GENERATION = "reel.dev/generation";
export const VIDEOJOB_LABEL = "reel.dev/videojob";
export const EPISODE_LABEL = "reel.dev/episode";
export const ROLE_LABEL = "reel.dev/role";
export const ATTEMPT_LABEL = "reel.dev/attempt";
export const OUTPUT_MOUNT = "/output";
const CPU_PREFERRED = {
  weight: 100,
  preference: { matchExpressions: [{ key: "reel.dev/gpu-vendor", operator: "DoesNotExist" }] },
};

function affinity(p: Placement) {
  const a: Record<string, unknown> = {};
  const nodeAffinity: Record<string, unknown> = {};
  if (p.required.length) {
    nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
      nodeSelectorTerms: [{ matchExpressions: p.required }],
    };
  }
  if (p.preferred.length) {
    nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution = [
      { weight: 100, preference: { matchExpressions: p.preferred } },
    ];
  }
  if (Object.keys(nodeAffinity).length) a.nodeAffinity = nodeAffinity;
  return a;
}

/** A stable hash of a planned object (keys sorted), stored on it as SPEC_HASH. */
export function specHash(o: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canon(o)))
    .digest("hex")
    .slice(0, 16);
}

/** Where episodes are staged before the merge: a prefix in the output bucket, or a volume directory. */
export function stagingLocation(job: VideoJob): string | { error: string } {
  const uid = job.metadata.uid ?? "";
  const s3 = job.spec.output.s3;
  if (s3) return `s3://${s3.bucket}/${s3.prefix}.reel-staging/${uid}/`;
  const vol = job.spec.output.volume;
  if (vol) return `${OUTPUT_MOUNT}${`/${vol.path}`.replace(/\/+/g, "/").replace(/\/$/, "")}/.reel-staging/${uid}/`;
  return {
    error:
      "output.local names a directory on the machine running `reel run`; in a cluster use output.s3 or output.volume",
  };
}

export const TRACE_ANNOTATION = "reel.dev/trace-id";
export const SPAN_ANNOTATION = "reel.dev/parent-span-id";

/** The VideoJob's trace id (annotation reel.dev/trace-id), when it is a valid W3C one. */
export function videoJobTraceId(job: { metadata: { annotations?: Record<string, string> } }): string | undefined {
  const trace = job.metadata.annotations?.[TRACE_ANNOTATION];
  return trace && /^[0-9a-f]{32}$/.test(trace) && !/^0+$/.test(trace) ? trace : undefined;
}

/**
 * The span the VideoJob's work hangs from: the shim's create request (annotation
 * reel.dev/parent-span-id, a span the shim exports), else a stable id derived from the trace and
 * `fallback` (a VideoJob made by kubectl: only the trace id was given; planning stays deterministic).
 */
export function parentSpanId(
  job: { metadata: { annotations?: Record<string, string> } },
  traceId: string,
  fallback: string,
): string {
  const span = job.metadata.annotations?.[SPAN_ANNOTATION];
  return span && /^[0-9a-f]{16}$/.test(span) && !/^0+$/.test(span) ? span : stableSpanId(traceId, fallback);
}

/**
 * The trace the REST call started, carried into the pods as W3C `TRACEPARENT` (parent: see
 * parentSpanId) and as `REEL_TRACE_ID` for the worker's logs.
 */
function traceEnv(job: VideoJob, suffix: string): EnvVar[] {
  const trace = videoJobTraceId(job);
  if (!trace) return [];
  return [
    { name: "REEL_TRACE_ID", value: trace },
    { name: "TRACEPARENT", value: `00-${trace}-${parentSpanId(job, trace, suffix)}-01` },
  ];
}

interface PodParts {
  job: VideoJob;
  s: OperatorSettings;
  role: "episode" | "segment" | "merge";
  suffix: string;
  labels: Record<string, string>;
  env: EnvVar[];
  placement?: Placement;
  /** An Indexed Job: one pod per completion index (a split episode's segments). */
  indexed?: { completions: number; parallelism: number };
}

function jobObject({ job, s, role, suffix, labels: extra, env, placement, indexed }: PodParts): KubeJob {
  const name = job.metadata.name;
  const namespace = job.metadata.namespace ?? "default";
  const labels = {
    ...MANAGED_BY,
    "app.kubernetes.io/name": "reel-worker",
    [VIDEOJOB_LABEL]: name,
    [ROLE_LABEL]: role,
    ...extra,
    ...(s.kueueQueue ? { "kueue.x-k8s.io/queue-name": s.kueueQueue } : {}),
  };
  const s3 = job.spec.output.s3;
  const vol = job.spec.output.volume;
  const staging = stagingLocation(job);
  const fullEnv: EnvVar[] = [
    { name: "REEL_MODE", value: role },
    { name: "REEL_VIDEOJOB", value: `${namespace}/${name}` },
    { name: "REEL_VIDEOJOB_UID", value: job.metadata.uid ?? "" },
    { name: "REEL_STAGING", value: typeof staging === "string" ? staging : "" },
    ...env,
    { name: "REEL_EGRESS_ALLOW", value: s.egressAllow.join(",") },
    { name: "REEL_CACHE_DIR", value: "/scratch" },
    { name: "REEL_TERMINATION_LOG", value: "/dev/termination-log" },
    ...(s.redisUrl ? [{ name: "REEL_REDIS_URL", value: s.redisUrl }] : []),
    ...installationEnv(s.installation, role),
    ...traceEnv(job, suffix),
  ];
  if (s3) {
    // Secret references only: no secret value is ever part of a planned object.
    for (const [envName, key] of [
      ["AWS_ACCESS_KEY_ID", "accessKeyId"],
      ["AWS_SECRET_ACCESS_KEY", "secretAccessKey"],
    ] as const) {
      fullEnv.push({ name: envName, valueFrom: { secretKeyRef: { name: s3.credentialsSecret, key } } });
    }
  }
  const volumes: Array<Record<string, unknown>> = [{ name: "scratch", emptyDir: {} }];
  const mounts: Array<Record<string, unknown>> = [{ name: "scratch", mountPath: "/scratch" }];
  if (vol) {
    volumes.push({ name: "output", persistentVolumeClaim: { claimName: vol.claimName } });
    mounts.push({ name: "output", mountPath: OUTPUT_MOUNT });
  }
  const spec = {
    ...(s.kueueQueue ? { suspend: true } : {}),
    ...(indexed
      ? {
          completionMode: "Indexed",
          completions: indexed.completions,
          parallelism: indexed.parallelism,
          // Retries are counted per segment, and one segment that runs out of them ends the Job:
          // the episode cannot be joined without it.
          backoffLimitPerIndex: s.backoffLimit,
          maxFailedIndexes: 0,
        }
      : { backoffLimit: s.backoffLimit }),
    // A replacement pod starts only once the old one is gone: two pods of one episode never upload at once.
    podReplacementPolicy: "Failed",
    activeDeadlineSeconds: s.activeDeadlineSeconds,
    ttlSecondsAfterFinished: s.ttlSecondsAfterFinished,
    podFailurePolicy: {
      rules: [
        // Bad input never gets better by retrying, and a broken GPU encoder is retried elsewhere by
        // the operator: fail the Job at once with the worker's code.
        {
          action: "FailJob",
          onExitCodes: { containerName: "worker", operator: "In", values: [EXIT_BAD_INPUT, EXIT_ENCODER_FAILED] },
        },
        // Evictions and node loss are not the episode's fault: retry without counting.
        { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] },
      ],
    },
    template: {
      metadata: { labels },
      spec: {
        restartPolicy: "Never",
        priorityClassName: PRIORITY_CLASS[job.spec.priority],
        ...(placement
          ? { affinity: affinity(placement), tolerations: placement.tolerations }
          : // The merge needs no GPU: keep it off GPU nodes when others have room.
            { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [CPU_PREFERRED] } } }),
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "worker",
            image: s.image,
            command: ["reel", "worker"],
            env: fullEnv,
            resources: {
              requests: { cpu: "1", memory: "1Gi" },
              ...(placement && Object.keys(placement.limits).length ? { limits: placement.limits } : {}),
            },
            volumeMounts: mounts,
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ["ALL"] },
            },
            terminationMessagePolicy: "FallbackToLogsOnError",
          },
        ],
        volumes,
      },
    },
  };
  const metadata = {
    name: childName(name, suffix),
    namespace,
    labels,
    annotations: { [GENERATION]: String(job.metadata.generation ?? 0) },
    ownerReferences: [
      {
        apiVersion: job.apiVersion,
        kind: job.kind,
        name,
        uid: job.metadata.uid ?? "",
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
  const obj: KubeJob = { apiVersion: "batch/v1", kind: "Job", metadata, spec };
  obj.metadata.annotations[SPEC_HASH] = specHash({ metadata: { ...metadata, annotations: {} }, spec });
  return obj;
}

export function planEpisodeJobs(
  job: VideoJob,
  nodes: ObservedNode[],
  observed: Map<number, EpisodeObservation>,
  s: OperatorSettings,
  /** Plan only these episodes (the others already have their Job); all when absent. */
  only?: ReadonlySet<number>,
): PlannedEpisode[] {
  const staging = stagingLocation(job);
  return job.spec.episodes.map((_episode, index) => {
    if (only && !only.has(index)) return { index };
    if (typeof staging !== "string") return { index, refused: { code: "REEL_JOB_INVALID", message: staging.error } };
    const o = observed.get(index) ?? { failedNodes: [] };
    const placed = placeEpisode({ gpu: job.spec.gpu, codec: job.spec.codec, nodes, ...o });
    if (!placed.ok) return { index, refused: { code: placed.code, message: placed.message } };
    const p = placed.placement;
    const attempt = o.attempt ?? 0;
    const env = episodeEnv(job, index, p);
    const labels = { [EPISODE_LABEL]: String(index), [ATTEMPT_LABEL]: String(attempt) };
    const suffix = attempt === 0 ? `ep${index}` : `ep${index}-r${attempt}`;
    const obj = jobObject({ job, s, role: "episode", suffix, labels, env, placement: p });
    return { index, job: obj, placement: p };
  });
}

function episodeEnv(job: VideoJob, index: number, p: Placement): EnvVar[] {
  const episode = job.spec.episodes[index] as VideoJob["spec"]["episodes"][number];
  return [
    { name: "REEL_EPISODE_INDEX", value: String(index) },
    { name: "REEL_EPISODE_URL", value: episode.url },
    ...(episode.title ? [{ name: "REEL_EPISODE_TITLE", value: episode.title }] : []),
    { name: "REEL_SPEC", value: JSON.stringify({ ...job.spec, episodes: [episode] }) },
    { name: "REEL_ENCODER_HINT", value: p.encoder },
    // On a GPU node a failed encoder is reported (exit 3) rather than replaced by the CPU in
    // the pod: another capable node comes first.
    ...(p.kind === "gpu" ? [{ name: "REEL_ON_ENCODER_FAILURE", value: "exit" }] : []),
  ];
}

export const SEGMENT_SUFFIX = "seg";

/**
 * The Indexed Job of a split episode: pod k encodes segment k (JOB_COMPLETION_INDEX) with the
 * episode's settings, placed like the episode (same vendor and encoder capability), at most
 * spec.split.maxParallel at once. `o.attempt` > 0: all segments again after an encoder failure on
 * `o.failedNodes` (another capable node, else the CPU when the GPU policy allows).
 */
export function planSegmentJob(
  job: VideoJob,
  index: number,
  segments: number,
  nodes: ObservedNode[],
  o: EpisodeObservation,
  s: OperatorSettings,
): PlannedEpisode {
  const staging = stagingLocation(job);
  if (typeof staging !== "string") return { index, refused: { code: "REEL_JOB_INVALID", message: staging.error } };
  const placed = placeEpisode({ gpu: job.spec.gpu, codec: job.spec.codec, nodes, ...o });
  if (!placed.ok) return { index, refused: { code: placed.code, message: placed.message } };
  const p = placed.placement;
  const attempt = o.attempt ?? 0;
  const labels = { [EPISODE_LABEL]: String(index), [ATTEMPT_LABEL]: String(attempt) };
  const suffix = attempt === 0 ? `ep${index}-${SEGMENT_SUFFIX}` : `ep${index}-${SEGMENT_SUFFIX}-r${attempt}`;
  const obj = jobObject({
    job,
    s,
    role: "segment",
    suffix,
    labels,
    env: episodeEnv(job, index, p),
    placement: p,
    indexed: { completions: segments, parallelism: Math.min(segments, job.spec.split.maxParallel) },
  });
  return { index, job: obj, placement: p };
}

/** The merge Job: joins the listed episodes (in order, a chapter per title) into the output. */
export function planMergeJob(
  job: VideoJob,
  episodes: Array<{ index: number; title: string; segments?: number }>,
  s: OperatorSettings,
): KubeJob {
  const env: EnvVar[] = [
    { name: "REEL_SPEC", value: JSON.stringify(job.spec) },
    { name: "REEL_MERGE_EPISODES", value: JSON.stringify(episodes) },
  ];
  return jobObject({ job, s, role: "merge", suffix: "merge", labels: {}, env });
}
