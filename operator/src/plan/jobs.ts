// plan: the desired per-episode Jobs, a split episode's Indexed Job and the merge Job of a VideoJob,
// computed from its spec and what is observed. Pure; the reconciler creates each Job once by POST
// under the operator's field manager (`specHash` records what was planned).
//
// The pods' environment is the worker contract (crds/src/contract/worker-env.ts, built here with
// buildWorkerEnv), plus the installation's settings, the trace, and the S3 credentials from the
// job's Secret by reference. Exit codes the podFailurePolicy reads: crds/src/contract/exit-codes.ts.
// A page episode's pod of a job with spec.ytdlp.cookiesSecret also gets that Secret key as a
// read-only file (crds cookies.ts); no other pod does.
import { createHash } from "node:crypto";
import {
  buildWorkerEnv,
  COOKIES_DIR,
  COOKIES_FILE,
  credentialEnvNames,
  episodeNeedsCookies,
  EXIT,
  FAIL_JOB_EXIT_CODES,
  FIELD_MANAGER,
  isS3Url,
  type MergeEpisode,
  s3SourceOf,
  type EpisodeStatus,
  stagingFolder,
  type VideoJob,
  WORKER_REDIS_ENV,
  WORKER_REDIS_SECRET,
  type WorkerEnvVars,
} from "@reel/crds";
import { stableSpanId } from "@reel/crds/tracing";
import { type ObservedNode, type Placement, placeEpisode } from "../scheduling/gpu.ts";
import { type InstallationSettings, installationEnv } from "./installation-env.ts";
import { childName } from "./names.ts";
import {
  DEFAULT_MAX_SOURCE_BYTES,
  DEFAULT_RESOURCES,
  podResources,
  type ScratchBasis,
  scratchLimit,
  type WorkerResources,
} from "./resources.ts";

export { FIELD_MANAGER };
export const MANAGED_BY = { "app.kubernetes.io/managed-by": FIELD_MANAGER } as const;

/** Exit code of a pod whose GPU encoder failed: the operator plans the next attempt elsewhere. */
export const EXIT_ENCODER_FAILED = EXIT.encoderFailed;
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
  /** Redis the workers publish fine progress to (without credentials: see workerRedisAcl). */
  redisUrl?: string;
  /**
   * The pods log in as their namespace's Redis user (crds contract/redis-access.ts), its password
   * from the Secret by reference; off for a Redis without ACLs (every pod then shares one space).
   */
  workerRedisAcl?: boolean;
  /** SSE and public base URL of the installation, passed to the pods (plan/installation-env.ts). */
  installation?: InstallationSettings;
  /** The merge pod keeps the staged files once the outputs are stored (debugging). */
  keepStaging?: boolean;
  /** Requests, limits and scratch size of the worker pods (plan/resources.ts); its defaults when absent. */
  resources?: WorkerResources;
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

type SecretKeyRef = { name: string; key: string };

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
  if (s3) return stagingFolder(`s3://${s3.bucket}/${s3.prefix}`, uid);
  const vol = job.spec.output.volume;
  if (vol) return stagingFolder(`${OUTPUT_MOUNT}${`/${vol.path}`.replace(/\/+/g, "/").replace(/\/$/, "")}/`, uid);
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
  /** What the pod's worker env carries for its mode. */
  work: { mode: "episode" | "segment"; index: number } | { mode: "merge"; episodes: MergeEpisode[] };
  placement?: Placement;
  /** An Indexed Job: one pod per completion index (a split episode's segments). */
  indexed?: { completions: number; parallelism: number };
  /** What the pod's scratch is sized from (plan/resources.ts). */
  scratch: ScratchBasis;
}

type CommonWork = Omit<Extract<WorkerEnvVars, { mode: "merge" }>, "mode" | "episodes">;

/**
 * The worker container's env: the worker contract (crds/src/contract/worker-env.ts) for this pod's
 * mode, the installation's settings, the trace, and the S3 credentials by Secret reference.
 */
function podEnv({ job, s, role, suffix, work, placement }: Omit<PodParts, "labels" | "indexed" | "scratch">): EnvVar[] {
  const staging = stagingLocation(job);
  const common: CommonWork = {
    videojob: `${job.metadata.namespace ?? "default"}/${job.metadata.name}`,
    uid: job.metadata.uid ?? "",
    staging: typeof staging === "string" ? staging : "",
    // An episode's pods get a spec with only their own episode.
    spec: JSON.stringify(work.mode === "merge" ? job.spec : { ...job.spec, episodes: [job.spec.episodes[work.index]] }),
    egressAllow: s.egressAllow,
    cacheDir: "/scratch",
    terminationLog: "/dev/termination-log",
    ...(s.redisUrl ? { redisUrl: s.redisUrl } : {}),
  };
  const env: EnvVar[] = [
    ...buildWorkerEnv(
      work.mode === "merge"
        ? { ...common, mode: "merge", episodes: work.episodes, ...(s.keepStaging ? { keepStaging: true } : {}) }
        : { ...common, mode: work.mode, ...episodeWork(job, work.index, placement) },
    ),
    ...installationEnv(s.installation, role),
    ...traceEnv(job, suffix),
  ];
  return [...env, ...s3KeyRefs(job, work), ...(s.redisUrl && s.workerRedisAcl ? redisUserRefs() : [])];
}

/** The namespace's Redis user, by Secret reference only (the operator makes the Secret first). */
export const redisUserRefs = (): EnvVar[] =>
  WORKER_REDIS_ENV.map(([name, key]) => ({ name, valueFrom: { secretKeyRef: { name: WORKER_REDIS_SECRET, key } } }));

/**
 * The S3 keys a pod reads, by Secret reference only (no secret value is ever part of a planned
 * object): the output's as AWS_*, and an s3:// episode's (crds s3-source.ts) as the env pair
 * s3SourceOf names — REEL_SOURCE_AWS_* when its Secret is not the output's.
 */
export function s3KeyRefs(job: VideoJob, work: PodParts["work"]): EnvVar[] {
  const ref = (prefix: "AWS" | "REEL_SOURCE_AWS", secret: string): EnvVar[] =>
    credentialEnvNames(prefix).map(([name, key]) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } }));
  const out = job.spec.output.s3;
  const env = out ? ref("AWS", out.credentialsSecret) : [];
  if (work.mode === "merge" || !isS3Url(job.spec.episodes[work.index]?.url ?? "")) return env;
  const src = s3SourceOf(job.spec, work.index);
  // The output's pair is already there when the source shares its Secret.
  if (!src.credentialsSecret || (src.credentialsEnv === "AWS" && out)) return env;
  return [...env, ...ref(src.credentialsEnv, src.credentialsSecret)];
}

const POD_FAILURE_POLICY = {
  rules: [
    // Bad input never gets better by retrying, and a broken GPU encoder is retried elsewhere by
    // the operator: fail the Job at once with the worker's code.
    { action: "FailJob", onExitCodes: { containerName: "worker", operator: "In", values: [...FAIL_JOB_EXIT_CODES] } },
    // Evictions and node loss are not the episode's fault: retry without counting.
    { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] },
  ],
};

/**
 * The worker pod: placed like `placement` (or off GPU nodes), restricted, with bounded memory and
 * scratch (plan/resources.ts) and the output volume.
 */
function podTemplate(
  job: VideoJob,
  s: OperatorSettings,
  labels: Record<string, string>,
  env: EnvVar[],
  placement: Placement | undefined,
  scratch: ScratchBasis,
  cookies: SecretKeyRef | undefined,
) {
  const vol = job.spec.output.volume;
  const limits = scratchLimit(
    scratch,
    s.resources ?? DEFAULT_RESOURCES,
    s.installation?.maxSourceBytes ?? DEFAULT_MAX_SOURCE_BYTES,
  );
  const sized = podResources(s.resources ?? DEFAULT_RESOURCES, limits, placement?.limits);
  const volumes: Array<Record<string, unknown>> = [sized.scratch];
  const mounts: Array<Record<string, unknown>> = [{ name: "scratch", mountPath: "/scratch" }];
  if (vol) {
    volumes.push({ name: "output", persistentVolumeClaim: { claimName: vol.claimName } });
    mounts.push({ name: "output", mountPath: OUTPUT_MOUNT });
  }
  if (cookies) {
    volumes.push(cookiesVolume(cookies));
    mounts.push({ name: "cookies", mountPath: COOKIES_DIR, readOnly: true });
  }
  return {
    metadata: { labels },
    spec: {
      restartPolicy: "Never",
      priorityClassName: PRIORITY_CLASS[job.spec.priority],
      ...(placement
        ? { affinity: affinity(placement), tolerations: placement.tolerations }
        : // The merge needs no GPU: keep it off GPU nodes when others have room.
          { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [CPU_PREFERRED] } } }),
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: "RuntimeDefault" },
        // The cookies' 0400 file is root's: with fsGroup the kubelet gives it to the worker's group, read-only.
        ...(cookies ? { fsGroup: 10001, fsGroupChangePolicy: "OnRootMismatch" } : {}),
      },
      containers: [
        {
          name: "worker",
          image: s.image,
          command: ["reel", "worker"],
          env,
          resources: sized.resources,
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
  };
}

/**
 * The job's cookies Secret key as one read-only file (crds cookies.ts COOKIES_PATH), for a page
 * episode's pod only. Optional: a missing Secret or key leaves the file absent, and the worker fails
 * the episode with REEL_COOKIES_INVALID naming them instead of the pod waiting forever to start.
 */
function cookiesVolume(ref: SecretKeyRef) {
  return {
    name: "cookies",
    secret: { secretName: ref.name, items: [{ key: ref.key, path: COOKIES_FILE }], defaultMode: 0o400, optional: true },
  };
}

function jobObject({ job, s, role, suffix, labels: extra, work, placement, indexed, scratch }: PodParts): KubeJob {
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
    podFailurePolicy: POD_FAILURE_POLICY,
    template: podTemplate(
      job,
      s,
      labels,
      podEnv({ job, s, role, suffix, work, ...(placement ? { placement } : {}) }),
      placement,
      scratch,
      work.mode === "episode" && episodeNeedsCookies(job.spec, work.index) ? job.spec.ytdlp?.cookiesSecret : undefined,
    ),
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
    const labels = { [EPISODE_LABEL]: String(index), [ATTEMPT_LABEL]: String(attempt) };
    const suffix = attempt === 0 ? `ep${index}` : `ep${index}-r${attempt}`;
    const obj = jobObject({
      job,
      s,
      role: "episode",
      suffix,
      labels,
      work: { mode: "episode", index },
      placement: p,
      scratch: { role: "episode" },
    });
    return { index, job: obj, placement: p };
  });
}

/** What an episode's (or its segments') pods are told: the episode, and how to treat its encoder. */
function episodeWork(job: VideoJob, index: number, p: Placement | undefined) {
  const episode = job.spec.episodes[index] as VideoJob["spec"]["episodes"][number];
  return {
    episode: { index, url: episode.url, ...(episode.title ? { title: episode.title } : {}) },
    ...(p ? { encoderHint: p.encoder } : {}),
    // On a GPU node a failed encoder is reported (exit 3) rather than replaced by the CPU in
    // the pod: another capable node comes first.
    ...(p?.kind === "gpu" ? { onEncoderFailure: "exit" as const } : {}),
  };
}

export const SEGMENT_SUFFIX = "seg";

/**
 * The Indexed Job of a split episode: pod k encodes segment k (JOB_COMPLETION_INDEX) with the
 * episode's settings, placed like the episode (same vendor and encoder capability), at most
 * spec.split.maxParallel at once. `o.attempt` > 0: all segments again after an encoder failure on
 * `o.failedNodes` (another capable node, else the CPU when the GPU policy allows). The pods' scratch
 * is sized from the episode's downloaded bytes: `known` (what its pod just reported), else its status.
 */
export function planSegmentJob(
  job: VideoJob,
  index: number,
  segments: number,
  nodes: ObservedNode[],
  o: EpisodeObservation,
  s: OperatorSettings,
  known: Pick<EpisodeStatus, "bytesDownloaded"> | undefined = episodeStatus(job, index),
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
    work: { mode: "segment", index },
    placement: p,
    indexed: { completions: segments, parallelism: Math.min(segments, job.spec.split.maxParallel) },
    scratch: {
      role: "segment",
      segments,
      ...(known?.bytesDownloaded !== undefined ? { bytesDownloaded: known.bytesDownloaded } : {}),
    },
  });
  return { index, job: obj, placement: p };
}

/**
 * The merge Job: joins the listed episodes (in order, a chapter per title) into the output. Its
 * scratch is sized from the episodes' encoded bytes: `statuses` (the status being written), else
 * the VideoJob's status.
 */
export function planMergeJob(
  job: VideoJob,
  episodes: MergeEpisode[],
  s: OperatorSettings,
  statuses: EpisodeStatus[] = job.status?.episodes ?? [],
): KubeJob {
  const bytesOutput = episodes.map((e) => statuses.find((st) => st.index === e.index)?.bytesOutput);
  // A job with failed episodes keeps its staged ones: a retry (or any job of the namespace asking
  // the same) copies them instead of encoding again. Staging goes with the VideoJob or its retention.
  const keepStaging = s.keepStaging === true || statuses.some((st) => st.phase === "Failed");
  return jobObject({
    job,
    s: keepStaging ? { ...s, keepStaging } : s,
    role: "merge",
    suffix: "merge",
    labels: {},
    work: { mode: "merge", episodes },
    scratch: { role: "merge", bytesOutput },
  });
}

function episodeStatus(job: VideoJob, index: number): EpisodeStatus | undefined {
  return job.status?.episodes?.find((e) => e.index === index);
}
