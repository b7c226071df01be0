import { parseVideoJob, parseWorkerEnvVars } from "@reel/crds";
import { describe, expect, it } from "vitest";
import type { ObservedNode } from "../scheduling/gpu.ts";
import {
  type EpisodeObservation,
  type OperatorSettings,
  planEpisodeJobs,
  s3KeyRefs,
  planMergeJob,
  planSegmentJob,
  SPEC_HASH,
  stagingLocation,
} from "./jobs.ts";
import { childName } from "./names.ts";

const nodes: ObservedNode[] = [
  { name: "cpu-1", labels: {} },
  { name: "nvidia-2", labels: { "reel.dev/gpu-vendor": "nvidia", "reel.dev/encoder.h264_nvenc": "true" } },
];

const settings: OperatorSettings = {
  image: "ghcr.io/reel/worker:0.1.0",
  backoffLimit: 3,
  activeDeadlineSeconds: 21_600,
  ttlSecondsAfterFinished: 3600,
  egressAllow: [],
};

function videoJob(spec: Record<string, unknown> = {}) {
  return parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "season-1", namespace: "media", uid: "uid-1", generation: 1 },
    spec: {
      episodes: [{ url: "https://cdn.example.com/1.mp4" }, { url: "https://cdn.example.com/2.mp4" }],
      gpu: { policy: "auto", vendor: "nvidia" },
      priority: "high",
      output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
      ...spec,
    },
  });
}

type JobShape = {
  metadata: { name: string; labels: Record<string, string>; ownerReferences: { uid: string; controller: boolean }[] };
  spec: {
    suspend?: boolean;
    backoffLimit: number;
    podFailurePolicy: { rules: { action: string }[] };
    template: {
      spec: {
        priorityClassName: string;
        affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: unknown } };
        containers: {
          env: { name: string; value?: string; valueFrom?: unknown }[];
          resources: { limits?: Record<string, string> };
        }[];
      };
    };
  };
};

/** The planned Job of episode i, typed for the assertions (throws if there is none). */
function jobOf(planned: ReturnType<typeof planEpisodeJobs>, i: number): JobShape {
  const job = planned[i]?.job;
  if (!job) throw new Error(`episode ${i} has no planned Job`);
  return job as unknown as JobShape;
}

const plan = (spec?: Record<string, unknown>, observed = new Map<number, EpisodeObservation>(), s = settings) =>
  planEpisodeJobs(videoJob(spec), nodes, observed, s);

describe("planEpisodeJobs", () => {
  it("plans one owned, labelled Job per episode, on a capable NVIDIA node, with the job's priority", () => {
    const planned = plan();
    expect(planned.map((_, i) => jobOf(planned, i).metadata.name)).toEqual(["season-1-ep0", "season-1-ep1"]);
    const j = jobOf(planned, 0);
    expect(j.metadata.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "reel-operator",
      "reel.dev/videojob": "season-1",
      "reel.dev/episode": "0",
    });
    expect(j.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: "uid-1", controller: true })]);
    expect(j.spec.template.spec.priorityClassName).toBe("reel-high");
    expect(j.spec.template.spec.containers[0]?.resources.limits).toMatchObject({ "nvidia.com/gpu": "1" });
    expect(JSON.stringify(j.spec.template.spec.affinity)).toContain("reel.dev/encoder.h264_nvenc");
    expect(j.spec.podFailurePolicy.rules.map((r) => r.action)).toEqual(["FailJob", "Ignore"]);
  });

  it("puts Secret references in the pod, never secret values", () => {
    const env = jobOf(plan(), 0).spec.template.spec.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === "AWS_SECRET_ACCESS_KEY")).toEqual({
      name: "AWS_SECRET_ACCESS_KEY",
      valueFrom: { secretKeyRef: { name: "s3-creds", key: "secretAccessKey" } },
    });
    expect(env.filter((e) => e.name.startsWith("AWS_")).every((e) => e.value === undefined)).toBe(true);
  });

  it("gives the pods their namespace's Redis user by Secret reference only, and a Redis URL without the operator's credentials", () => {
    const acl = { ...settings, redisUrl: "redis://redis.reel:6379", workerRedisAcl: true };
    const env = jobOf(plan(undefined, undefined, acl), 0).spec.template.spec.containers[0]?.env ?? [];
    expect(env.filter((e) => e.name.startsWith("REEL_REDIS_"))).toEqual([
      { name: "REEL_REDIS_URL", value: "redis://redis.reel:6379" },
      { name: "REEL_REDIS_USERNAME", valueFrom: { secretKeyRef: { name: "reel-redis-worker", key: "username" } } },
      { name: "REEL_REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "reel-redis-worker", key: "password" } } },
    ]);
    // What the kubelet makes of it (the Secret's values filled in) is what the worker reads.
    const secret: Record<string, string> = { username: "reel-w-media", password: "p".repeat(43) };
    const pod = Object.fromEntries(
      env.map((e) => [
        e.name,
        e.value ?? secret[(e.valueFrom as { secretKeyRef: { key: string } }).secretKeyRef.key] ?? "",
      ]),
    );
    expect(parseWorkerEnvVars(pod).redisAuth).toEqual({ username: "reel-w-media", password: "p".repeat(43) });
    const merge = planMergeJob(videoJob(), [{ index: 0 }], acl) as unknown as JobShape;
    expect(merge.spec.template.spec.containers[0]?.env.filter((e) => e.name.startsWith("REEL_REDIS_"))).toHaveLength(3);
    // Without ACLs (redis.workerAcl=false) or without Redis, no reference to a Secret that may not exist.
    const off = jobOf(plan(undefined, undefined, { ...acl, workerRedisAcl: false }), 0);
    expect(off.spec.template.spec.containers[0]?.env.map((e) => e.name)).not.toContain("REEL_REDIS_USERNAME");
    const none = jobOf(plan(undefined, undefined, { ...settings, workerRedisAcl: true }), 0);
    expect(none.spec.template.spec.containers[0]?.env.map((e) => e.name)).not.toContain("REEL_REDIS_USERNAME");
  });

  it("passes an s3:// episode's own Secret as REEL_SOURCE_AWS_*, and nothing more when it shares the output's", () => {
    const refs = (episode: Record<string, unknown>, output?: Record<string, unknown>) =>
      s3KeyRefs(videoJob({ episodes: [episode], ...(output ? { output } : {}) }), { mode: "episode", index: 0 }).map(
        (e) =>
          `${e.name}=${"valueFrom" in e ? `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}` : "?"}`,
      );
    const own = { url: "s3://media/ep1.mp4", s3: { credentialsSecret: "media-keys" } };
    expect(refs(own)).toEqual([
      "AWS_ACCESS_KEY_ID=s3-creds/accessKeyId",
      "AWS_SECRET_ACCESS_KEY=s3-creds/secretAccessKey",
      "REEL_SOURCE_AWS_ACCESS_KEY_ID=media-keys/accessKeyId",
      "REEL_SOURCE_AWS_SECRET_ACCESS_KEY=media-keys/secretAccessKey",
    ]);
    expect(refs({ url: "s3://media/ep1.mp4" })).toEqual([
      "AWS_ACCESS_KEY_ID=s3-creds/accessKeyId",
      "AWS_SECRET_ACCESS_KEY=s3-creds/secretAccessKey",
    ]);
    // A volume output has no keys: the source's Secret fills the AWS_* pair.
    expect(refs(own, { volume: { claimName: "out" } })).toEqual([
      "AWS_ACCESS_KEY_ID=media-keys/accessKeyId",
      "AWS_SECRET_ACCESS_KEY=media-keys/secretAccessKey",
    ]);
  });

  it("is stable: planning the same VideoJob twice gives the same objects (so applying again writes nothing)", () => {
    expect(plan()).toEqual(plan());
  });

  it("moves an episode off the node where its encoder failed, and falls back to CPU when none is left", () => {
    const planned = plan(undefined, new Map([[1, { failedNodes: ["nvidia-2"] }]]));
    expect(planned[0]?.placement?.kind).toBe("gpu");
    expect(planned[1]?.placement?.kind).toBe("cpu");
    expect(jobOf(planned, 1).spec.template.spec.containers[0]?.resources.limits?.["nvidia.com/gpu"]).toBeUndefined();
  });

  it("refuses, with a code, an episode that requires a GPU no node can provide", () => {
    const planned = plan({ gpu: { policy: "require", vendor: "amd" } });
    expect(planned[0]).toMatchObject({ refused: { code: "REEL_ENCODER_UNAVAILABLE" } });
    expect(planned[0]?.job).toBeUndefined();
  });

  it("creates Jobs suspended with the queue label when Kueue is used", () => {
    const j = jobOf(plan(undefined, undefined, { ...settings, kueueQueue: "media-queue" }), 0);
    expect(j.spec.suspend).toBe(true);
    expect(j.metadata.labels["kueue.x-k8s.io/queue-name"]).toBe("media-queue");
  });
});

describe("childName", () => {
  it("keeps short names readable and long ones unique within 63 characters", () => {
    expect(childName("season-1", "ep3")).toBe("season-1-ep3");
    const long = "a".repeat(60);
    const a = childName(long, "ep1");
    const b = childName(`${long}b`, "ep1");
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(a.endsWith("-ep1")).toBe(true);
  });
});

describe("the worker contract in the planned pods", () => {
  const envOf = (j: JobShape) =>
    Object.fromEntries((j.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));

  it("gives each episode pod only its own episode, the staging prefix and the job's identity", () => {
    const env = envOf(jobOf(plan(), 1));
    expect(env.REEL_MODE).toBe("episode");
    expect(env.REEL_VIDEOJOB).toBe("media/season-1");
    expect(env.REEL_VIDEOJOB_UID).toBe("uid-1");
    expect(env.REEL_STAGING).toBe("s3://videos/.reel-staging/uid-1/");
    const spec = JSON.parse(String(env.REEL_SPEC));
    expect(spec.episodes).toEqual([{ url: "https://cdn.example.com/2.mp4" }]);
    expect(spec.quality).toBe("720p");
  });

  it("carries the REST call's trace into the pods (TRACEPARENT, REEL_TRACE_ID), and none when there is none", () => {
    const traced = parseVideoJob({
      ...videoJob(),
      metadata: { ...videoJob().metadata, annotations: { "reel.dev/trace-id": "4bf92f3577b34da6a3ce929d0e0e4736" } },
    });
    const env = envOf(jobOf(planEpisodeJobs(traced, nodes, new Map(), settings), 0));
    expect(env.REEL_TRACE_ID).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(env.TRACEPARENT).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(envOf(jobOf(plan(), 0)).TRACEPARENT).toBeUndefined();
    // With the create request's span named by the shim, the pods are its children (a span it exports).
    const fromShim = parseVideoJob({
      ...videoJob(),
      metadata: {
        ...videoJob().metadata,
        annotations: {
          "reel.dev/trace-id": "4bf92f3577b34da6a3ce929d0e0e4736",
          "reel.dev/parent-span-id": "00f067aa0ba902b7",
        },
      },
    });
    expect(envOf(jobOf(planEpisodeJobs(fromShim, nodes, new Map(), settings), 0)).TRACEPARENT).toBe(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    );
  });

  it("stamps a hash of the planned object, equal for equal plans and different when the spec changes", () => {
    const a = plan()[0]?.job?.metadata.annotations[SPEC_HASH];
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(plan()[0]?.job?.metadata.annotations[SPEC_HASH]).toBe(a);
    expect(plan({ quality: "1080p" })[0]?.job?.metadata.annotations[SPEC_HASH]).not.toBe(a);
  });

  it("mounts the output volume and stages episodes on it", () => {
    const planned = plan({ output: { volume: { claimName: "media-out", path: "/shows/s1/" } } });
    const j = planned[0]?.job as unknown as {
      spec: { template: { spec: { volumes: unknown[]; containers: { volumeMounts: unknown[] }[] } } };
    };
    expect(j.spec.template.spec.volumes).toContainEqual({
      name: "output",
      persistentVolumeClaim: { claimName: "media-out" },
    });
    expect(envOf(jobOf(planned, 0)).REEL_STAGING).toBe("/output/shows/s1/.reel-staging/uid-1/");
  });

  it("refuses output.local in a cluster with a code", () => {
    const planned = plan({ output: { local: { path: "/tmp/out" } } });
    expect(planned[0]?.refused?.code).toBe("REEL_JOB_INVALID");
    expect(stagingLocation(videoJob({ output: { local: { path: "/x" } } }))).toEqual({
      error: expect.stringContaining("output.s3 or output.volume"),
    });
  });

  it("plans the merge Job with the episodes to join, on the CPU", () => {
    const m = planMergeJob(videoJob(), [{ index: 1, title: "Two" }], settings) as unknown as JobShape;
    expect(m.metadata.name).toBe("season-1-merge");
    expect(m.metadata.labels["reel.dev/role"]).toBe("merge");
    const env = envOf(m);
    expect(env.REEL_MODE).toBe("merge");
    expect(JSON.parse(String(env.REEL_MERGE_EPISODES))).toEqual([{ index: 1, title: "Two" }]);
    // No GPU asked, and nodes without one preferred (found on L4: merges landed on GPU nodes).
    expect(m.spec.template.spec.containers[0]?.resources.limits?.["nvidia.com/gpu"]).toBeUndefined();
    expect(m.spec.template.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    expect(JSON.stringify(m.spec.template.spec.affinity)).toContain(
      '"preference":{"matchExpressions":[{"key":"reel.dev/gpu-vendor","operator":"DoesNotExist"}]}',
    );
  });

  it("keeps the staged episodes of a job with a failed episode for a retry to reuse, and only then", () => {
    const episode = (index: number, phase: "Completed" | "Failed") => ({ index, phase, progress: 100, attempts: 1 });
    const partial = planMergeJob(videoJob(), [{ index: 0 }], settings, [episode(0, "Completed"), episode(1, "Failed")]);
    expect(envOf(partial as unknown as JobShape).REEL_KEEP_STAGING).toBe("true");
    const whole = planMergeJob(videoJob(), [{ index: 0 }], settings, [
      episode(0, "Completed"),
      episode(1, "Completed"),
    ]);
    expect(envOf(whole as unknown as JobShape).REEL_KEEP_STAGING).toBeUndefined();
  });
});

describe("worker pods are bounded (memory, ephemeral storage, scratch size)", () => {
  const GiB = 2 ** 30;
  type Pod = {
    spec: {
      template: {
        spec: {
          containers: { resources: { requests: Record<string, string>; limits: Record<string, string> } }[];
          volumes: { name: string; emptyDir?: { sizeLimit?: string } }[];
        };
      };
    };
  };
  const bounds = (job: unknown) => {
    const t = (job as Pod).spec.template.spec;
    return {
      requests: t.containers[0]?.resources.requests,
      limits: t.containers[0]?.resources.limits,
      sizeLimit: t.volumes.find((v) => v.name === "scratch")?.emptyDir?.sizeLimit,
    };
  };
  const capped = (maxSourceBytes: number, extra: Partial<OperatorSettings> = {}): OperatorSettings => ({
    ...settings,
    installation: { maxSourceBytes },
    ...extra,
  });
  const withStatus = (episodes: Array<Record<string, unknown>>) =>
    parseVideoJob({ ...videoJob(), status: { episodes } });
  const segmentPod = (vj: ReturnType<typeof videoJob>, s: OperatorSettings, known?: { bytesDownloaded?: number }) =>
    planSegmentJob(vj, 0, 8, nodes, { failedNodes: [] }, s, ...(known ? [known] : [])).job;

  it.each([
    [
      "an episode pod, default cap (50 GiB): room for a source at the cap, twice, and 2 GiB",
      jobOf(plan(), 0),
      {
        requests: { cpu: "1", memory: "1Gi", "ephemeral-storage": "10Gi" },
        limits: { memory: "8Gi", "ephemeral-storage": "103Gi", "nvidia.com/gpu": "1" },
        sizeLimit: "102Gi",
      },
    ],
    [
      "an episode pod, cap 1 GiB: the request shrinks to the scratch size",
      jobOf(plan(undefined, undefined, capped(GiB)), 0),
      {
        requests: { cpu: "1", memory: "1Gi", "ephemeral-storage": "4Gi" },
        limits: { memory: "8Gi", "ephemeral-storage": "5Gi", "nvidia.com/gpu": "1" },
        sizeLimit: "4Gi",
      },
    ],
    [
      "an episode pod, the chart's own sizes",
      jobOf(
        plan(
          undefined,
          undefined,
          capped(GiB, {
            resources: {
              cpuRequest: "500m",
              memoryRequest: "512Mi",
              memoryLimit: "2Gi",
              scratchRequestBytes: 6 * GiB,
              scratchLimitBytes: 20 * GiB,
            },
          }),
        ),
        0,
      ),
      {
        requests: { cpu: "500m", memory: "512Mi", "ephemeral-storage": "6Gi" },
        limits: { memory: "2Gi", "ephemeral-storage": "21Gi", "nvidia.com/gpu": "1" },
        sizeLimit: "20Gi",
      },
    ],
    [
      "segment pods of an episode that downloaded 4 GiB in 8 segments (just reported)",
      segmentPod(videoJob(), capped(10 * GiB), { bytesDownloaded: 4 * GiB }),
      expect.objectContaining({ sizeLimit: "4Gi", limits: expect.objectContaining({ "ephemeral-storage": "5Gi" }) }),
    ],
    [
      "segment pods planned again after an encoder failure: the bytes from status",
      segmentPod(
        withStatus([{ index: 0, phase: "Transcoding", progress: 50, bytesDownloaded: 4 * GiB }]),
        capped(10 * GiB),
      ),
      expect.objectContaining({ sizeLimit: "4Gi" }),
    ],
    [
      "segment pods of an episode of unknown size: the episode pod's scratch",
      segmentPod(videoJob(), capped(10 * GiB)),
      expect.objectContaining({ sizeLimit: "22Gi" }),
    ],
    [
      "segment pods never get more than the episode pod",
      segmentPod(videoJob(), capped(GiB), { bytesDownloaded: 40 * GiB }),
      expect.objectContaining({ sizeLimit: "4Gi" }),
    ],
    [
      "a merge pod of episodes that encoded to 1 and 2 GiB: both fetched and joined",
      planMergeJob(videoJob(), [{ index: 0 }, { index: 1 }], capped(10 * GiB), [
        { index: 0, phase: "Completed", progress: 100, attempts: 1, bytesOutput: GiB },
        { index: 1, phase: "Completed", progress: 100, attempts: 1, bytesOutput: 2 * GiB },
      ]),
      {
        requests: { cpu: "1", memory: "1Gi", "ephemeral-storage": "8Gi" },
        limits: { memory: "8Gi", "ephemeral-storage": "9Gi" },
        sizeLimit: "8Gi",
      },
    ],
    [
      "a merge pod with an episode of unknown size: the episode pod's scratch",
      planMergeJob(
        withStatus([{ index: 0, phase: "Completed", progress: 100, bytesOutput: GiB }]),
        [{ index: 0 }, { index: 1 }],
        capped(10 * GiB),
      ),
      expect.objectContaining({ sizeLimit: "22Gi" }),
    ],
  ])("%s", (_what, job, expected) => {
    expect(bounds(job)).toEqual(expected);
  });

  const envNames = (job: unknown) => ((job as JobShape).spec.template.spec.containers[0]?.env ?? []).map((e) => e.name);

  it("passes the installation's byte cap to every pod, after the env it had before", () => {
    const before = envNames(jobOf(plan(), 0));
    const after = envNames(jobOf(plan(undefined, undefined, capped(GiB)), 0));
    expect(after.filter((n) => n !== "REEL_MAX_SOURCE_BYTES")).toEqual(before);
    expect(
      (jobOf(plan(undefined, undefined, capped(GiB)), 0).spec.template.spec.containers[0]?.env ?? []).find(
        (e) => e.name === "REEL_MAX_SOURCE_BYTES",
      ),
    ).toEqual({ name: "REEL_MAX_SOURCE_BYTES", value: String(GiB) });
    expect(envNames(planMergeJob(videoJob(), [{ index: 0 }], capped(GiB)))).toContain("REEL_MAX_SOURCE_BYTES");
    expect(envNames(segmentPod(videoJob(), capped(GiB)))).toContain("REEL_MAX_SOURCE_BYTES");
  });
});
