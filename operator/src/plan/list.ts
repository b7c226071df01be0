// plan: the list Job of a VideoJob with playlist entries — one short pod (`reel worker`,
// REEL_MODE=list: crds contract/listing.ts) that lists them once with yt-dlp through the egress
// proxy and leaves the listing in the job's S3 staging. It carries the output's keys (by Secret
// reference; staging writes) and nothing else: no Redis, no output volume, no GPU.
import { buildListEnv, credentialEnvNames, EXIT, listedPlaylists, type VideoJob } from "@reel/crds";
import { installationEnv } from "./installation-env.ts";
import {
  GENERATION,
  type KubeJob,
  MANAGED_BY,
  type OperatorSettings,
  ROLE_LABEL,
  SPEC_HASH,
  specHash,
  VIDEOJOB_LABEL,
} from "./jobs.ts";
import { childName } from "./names.ts";

export const LIST_SUFFIX = "list";
/** Listing is one flat page read per entry: minutes are plenty, and a hung site must not hold the job. */
const LIST_DEADLINE_SECONDS = 600;

/**
 * The list Job for `raw` (the VideoJob as stored, playlist entries and all), planned from its
 * stand-in (the same VideoJob parsed with one stand-in episode per playlist) and its S3 staging.
 */
export function planListJob(raw: object, standIn: VideoJob, staging: string, s: OperatorSettings): KubeJob {
  const name = standIn.metadata.name;
  const s3 = standIn.spec.output.s3;
  const env = [
    ...buildListEnv({
      videojob: `${standIn.metadata.namespace ?? "default"}/${name}`,
      uid: standIn.metadata.uid ?? "",
      staging,
      playlists: listedPlaylists(raw),
      egressAllow: s.egressAllow,
      cacheDir: "/scratch",
      ...(s3?.endpoint ? { stagingEndpoint: s3.endpoint } : {}),
      ...(s3?.region ? { stagingRegion: s3.region } : {}),
    }),
    // SSE on the listing as on every staged object.
    ...installationEnv(s.installation, "episode").filter((e) => e.name.startsWith("REEL_S3_SSE")),
    ...(s3
      ? credentialEnvNames("AWS").map(([n, key]) => ({
          name: n,
          valueFrom: { secretKeyRef: { name: s3.credentialsSecret, key } },
        }))
      : []),
  ];
  const labels = {
    ...MANAGED_BY,
    "app.kubernetes.io/name": "reel-worker",
    [VIDEOJOB_LABEL]: name,
    [ROLE_LABEL]: "list",
    ...(s.kueueQueue ? { "kueue.x-k8s.io/queue-name": s.kueueQueue } : {}),
  };
  const spec = {
    ...(s.kueueQueue ? { suspend: true } : {}),
    backoffLimit: s.backoffLimit,
    activeDeadlineSeconds: Math.min(s.activeDeadlineSeconds, LIST_DEADLINE_SECONDS),
    ttlSecondsAfterFinished: s.ttlSecondsAfterFinished,
    podFailurePolicy: {
      rules: [{ action: "FailJob", onExitCodes: { containerName: "worker", operator: "In", values: [EXIT.badInput] } }],
    },
    template: { metadata: { labels }, spec: listPod(standIn, s, env) },
  };
  const metadata = {
    name: childName(name, LIST_SUFFIX),
    namespace: standIn.metadata.namespace ?? "default",
    labels,
    annotations: { [GENERATION]: String(standIn.metadata.generation ?? 0) },
    ownerReferences: [
      {
        apiVersion: standIn.apiVersion,
        kind: standIn.kind,
        name,
        uid: standIn.metadata.uid ?? "",
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
  const job: KubeJob = { apiVersion: "batch/v1", kind: "Job", metadata, spec };
  job.metadata.annotations[SPEC_HASH] = specHash({ metadata: { ...metadata, annotations: {} }, spec });
  return job;
}

/** The list pod: restricted like every worker pod, small, with a scratch emptyDir for yt-dlp. */
function listPod(vj: VideoJob, s: OperatorSettings, env: object[]) {
  return {
    restartPolicy: "Never",
    priorityClassName: `reel-${vj.spec.priority}`,
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "worker",
        image: s.image,
        command: ["reel", "worker"],
        env,
        resources: {
          requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "64Mi" },
          limits: { memory: "512Mi", "ephemeral-storage": "256Mi" },
        },
        volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        },
        terminationMessagePolicy: "FallbackToLogsOnError",
      },
    ],
    volumes: [{ name: "scratch", emptyDir: { sizeLimit: "256Mi" } }],
  };
}
