// plan: the desired per-episode Jobs of a VideoJob, computed from its spec and what is observed.
// Pure; the reconciler applies the result with Server-Side Apply under one field manager, so a
// plan that equals what exists writes nothing.
import type { VideoJob } from "@reel/crds";
import { type ObservedNode, type Placement, placeEpisode } from "../scheduling/gpu.ts";
import { childName } from "./names.ts";

export const FIELD_MANAGER = "reel-operator";
export const MANAGED_BY = { "app.kubernetes.io/managed-by": FIELD_MANAGER } as const;

/** Exit codes of the worker: bad input is final, anything else is retried by the Job. */
export const EXIT_BAD_INPUT = 2;

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
}

export interface EpisodeObservation {
  failedNodes: string[];
  gpuExhausted?: boolean;
}

export interface PlannedEpisode {
  index: number;
  /** The Job to apply, or the reason no Job can run (e.g. GPU required but none capable). */
  job?: Record<string, unknown>;
  placement?: Placement;
  refused?: { code: string; message: string };
}

type EnvVar =
  | { name: string; value: string }
  | { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } };

const PRIORITY_CLASS = { low: "reel-low", normal: "reel-normal", high: "reel-high" } as const;

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

export function planEpisodeJobs(
  job: VideoJob,
  nodes: ObservedNode[],
  observed: Map<number, EpisodeObservation>,
  s: OperatorSettings,
): PlannedEpisode[] {
  const name = job.metadata.name;
  const owner = {
    apiVersion: job.apiVersion,
    kind: job.kind,
    name,
    uid: job.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
  return job.spec.episodes.map((episode, index) => {
    const o = observed.get(index) ?? { failedNodes: [] };
    const placed = placeEpisode({ gpu: job.spec.gpu, codec: job.spec.codec, nodes, ...o });
    if (!placed.ok) return { index, refused: { code: placed.code, message: placed.message } };
    const p = placed.placement;
    const labels = {
      ...MANAGED_BY,
      "app.kubernetes.io/name": "reel-worker",
      "reel.dev/videojob": name,
      "reel.dev/episode": String(index),
      ...(s.kueueQueue ? { "kueue.x-k8s.io/queue-name": s.kueueQueue } : {}),
    };
    const env: EnvVar[] = [
      { name: "REEL_MODE", value: "episode" },
      { name: "REEL_VIDEOJOB", value: `${job.metadata.namespace ?? "default"}/${name}` },
      { name: "REEL_EPISODE_INDEX", value: String(index) },
      { name: "REEL_EPISODE_URL", value: episode.url },
      { name: "REEL_ENCODER_HINT", value: p.encoder },
      { name: "REEL_EGRESS_ALLOW", value: s.egressAllow.join(",") },
    ];
    const s3 = job.spec.output.s3;
    if (s3) {
      // Secret references only: no secret value is ever part of a planned object.
      for (const [envName, key] of [
        ["AWS_ACCESS_KEY_ID", "accessKeyId"],
        ["AWS_SECRET_ACCESS_KEY", "secretAccessKey"],
      ] as const) {
        env.push({ name: envName, valueFrom: { secretKeyRef: { name: s3.credentialsSecret, key } } });
      }
    }
    const jobObject = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: childName(name, `ep${index}`),
        namespace: job.metadata.namespace,
        labels,
        ownerReferences: [owner],
      },
      spec: {
        ...(s.kueueQueue ? { suspend: true } : {}),
        backoffLimit: s.backoffLimit,
        activeDeadlineSeconds: s.activeDeadlineSeconds,
        ttlSecondsAfterFinished: s.ttlSecondsAfterFinished,
        podFailurePolicy: {
          rules: [
            // Bad input never gets better by retrying: fail the episode at once with its code.
            { action: "FailJob", onExitCodes: { containerName: "worker", operator: "In", values: [EXIT_BAD_INPUT] } },
            // Evictions and node loss are not the episode's fault: retry without counting.
            { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] },
          ],
        },
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            priorityClassName: PRIORITY_CLASS[job.spec.priority],
            affinity: affinity(p),
            tolerations: p.tolerations,
            containers: [
              {
                name: "worker",
                image: s.image,
                command: ["reel", "worker"],
                env,
                resources: { limits: p.limits, requests: { cpu: "1", memory: "1Gi" } },
                terminationMessagePolicy: "FallbackToLogsOnError",
              },
            ],
          },
        },
      },
    };
    return { index, job: jobObject, placement: p };
  });
}
