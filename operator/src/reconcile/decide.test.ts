import {
  EPISODE_STAGES,
  type EpisodeStatus,
  type ProgressInput,
  parseProgressMessage,
  parseVideoJob,
  progressMessage,
  type VideoJob,
  type VideoJobStatus,
} from "@reel/crds";
import { describe, expect, it } from "vitest";
import { type KubeJob, type OperatorSettings, type PlannedEpisode, planEpisodeJobs } from "../plan/jobs.ts";
import type { ObservedNode, Placement } from "../scheduling/gpu.ts";
import { type EpisodeView, indexChildren } from "./children.ts";
import {
  activityOf,
  type DecideSettings,
  decide,
  FINALIZER,
  type KubeEvent,
  ranges,
  runningEpisode,
} from "./decide.ts";
import { actionEvent, episodeEvent, jobEvent, scheduledEvent } from "./decision-events.ts";
import {
  type Creation,
  decideEpisode,
  type EpisodeContext,
  type EpisodeOutcome,
  episodeFinal,
  episodeRetrying,
  episodeRunning,
  episodeSegmenting,
  episodeSegmentsRetrying,
  episodeUnplanned,
} from "./episode-state.ts";
import { type JobInput, type JobState, jobState } from "./job-status.ts";
import type { LiveProgress, Observed, ObservedJob, ObservedPod, PodProgress } from "./observed.ts";
import { readProgress } from "./progress.ts";

/** A worker's progress message as the operator reads it: built and parsed by the contract. */
const said = (u: ProgressInput): PodProgress => {
  const at = u.index === "merge" ? 0 : u.index;
  const stored = [...Array<null>(at).fill(null), JSON.stringify(progressMessage(u))];
  const p = readProgress(stored, u.index === "merge" ? 0 : at + 1).get(u.index);
  if (!p) throw new Error(`unread: ${JSON.stringify(u)}`);
  return p;
};
const live = (...us: ProgressInput[]): LiveProgress => new Map(us.map((u) => [u.index, said(u)]));

const settings: DecideSettings = {
  image: "reel-worker:test",
  backoffLimit: 3,
  activeDeadlineSeconds: 3600,
  ttlSecondsAfterFinished: 600,
  egressAllow: [],
  maxRunningPerNamespace: 0,
} satisfies OperatorSettings & { maxRunningPerNamespace: number };

const now = new Date("2026-11-25T10:00:00Z");

function vj(over: { spec?: Record<string, unknown>; meta?: Record<string, unknown>; status?: unknown } = {}): VideoJob {
  return parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "s1", namespace: "media", uid: "u1", generation: 2, finalizers: [FINALIZER], ...over.meta },
    spec: {
      episodes: [
        { url: "https://cdn.example.com/1.mp4", title: "One" },
        { url: "https://cdn.example.com/2.mp4", title: "Two" },
        { url: "https://cdn.example.com/3.mp4", title: "Three" },
      ],
      gpu: { policy: "off" },
      output: { s3: { bucket: "videos", prefix: "s1/", credentialsSecret: "creds" } },
      ...over.spec,
    },
    ...(over.status ? { status: over.status } : {}),
  });
}

const job = (
  name: string,
  labels: Record<string, string>,
  status: ObservedJob["status"] = { active: 1 },
): ObservedJob => ({
  metadata: { name, labels: { "reel.dev/videojob": "s1", ...labels } },
  status,
});
const ep = (i: number, status?: ObservedJob["status"]) =>
  job(`s1-ep${i}`, { "reel.dev/role": "episode", "reel.dev/episode": String(i) }, status);
const mergeJob = (status?: ObservedJob["status"]) => job("s1-merge", { "reel.dev/role": "merge" }, status);
const complete = {
  succeeded: 1,
  completionTime: "2026-11-25T09:59:00Z",
  conditions: [{ type: "Complete", status: "True" }],
};
const failedJob = (reason = "BackoffLimitExceeded") => ({
  failed: 4,
  conditions: [{ type: "Failed", status: "True", reason, message: "m" }],
});
const pod = (jobName: string, message: unknown, node = "cpu-1"): ObservedPod => ({
  metadata: {
    name: `${jobName}-x`,
    labels: { "batch.kubernetes.io/job-name": jobName },
    creationTimestamp: "2026-11-25T09:00:00Z",
  },
  spec: { nodeName: node },
  status: {
    phase: "Succeeded",
    containerStatuses: [{ name: "worker", state: { terminated: { exitCode: 0, message: JSON.stringify(message) } } }],
  },
});
const observed = (o: Partial<Observed> = {}): Observed => ({
  jobs: [],
  pods: [],
  nodes: [{ name: "cpu-1", labels: {} }],
  namespaceActive: 0,
  ...o,
});
const cond = (d: ReturnType<typeof decide>, type: string) => d.status.conditions?.find((c) => c.type === type);

describe("ranges", () => {
  it.each([
    [[1], "1"],
    [[1, 2, 3, 5, 7, 8], "1-3, 5, 7-8"],
    [[], ""],
  ])("%j -> %s", (ns, want) => expect(ranges(ns)).toBe(want));
});

describe("decide", () => {
  it("creates one Job per episode for a new VideoJob, adds the finalizer when missing, and reports Pending", () => {
    const d = decide(vj({ meta: { finalizers: [] } }), observed(), settings, now);
    expect(d.create.map((j) => j.metadata.name)).toEqual(["s1-ep0", "s1-ep1", "s1-ep2"]);
    expect(d.finalizer).toBe("add");
    expect(d.status).toMatchObject({ phase: "Pending", progress: 0, episodesSummary: "0/3", observedGeneration: 2 });
    expect(cond(d, "Reconciling")).toMatchObject({ status: "True", reason: "EpisodesRunning", observedGeneration: 2 });
    expect(cond(d, "Ready")).toMatchObject({ status: "False" });
    expect(d.events.filter((e) => e.reason === "EpisodesScheduled")).toEqual([
      { type: "Normal", reason: "EpisodesScheduled", message: "created 3 Job(s): episodes 1-3 for the CPU (libx264)" },
    ]);
  });

  it("creates nothing for episodes whose Jobs exist", () => {
    const d = decide(vj(), observed({ jobs: [ep(0), ep(1), ep(2)] }), settings, now);
    expect(d.create).toEqual([]);
    expect(d.finalizer).toBeUndefined();
  });

  it("holds episodes back at the namespace cap and says so", () => {
    const d = decide(vj(), observed({ namespaceActive: 1 }), { ...settings, maxRunningPerNamespace: 2 }, now);
    expect(d.create.map((j) => j.metadata.name)).toEqual(["s1-ep0"]);
    expect(cond(d, "Reconciling")).toMatchObject({
      reason: "NamespaceCapReached",
      message: expect.stringContaining("2 episode(s) wait"),
    });
  });

  it("reads the worker's result from the termination message and starts the merge when all episodes are done", () => {
    const result = {
      mode: "episode",
      index: 0,
      phase: "Completed",
      encoder: "libx264",
      quality: { ssim: 0.99, psnr: 44 },
      bytesOutput: 1000,
      ytDlp: "2026.10.26",
      loudness: {
        method: "linear",
        gainDb: 6.2,
        target: -16,
        input: { integrated: -22.2 },
        output: { integrated: -16 },
      },
      picture: { toneMapped: { from: "smpte2084", operator: "hable", peakNits: 1000 } },
    };
    const d = decide(
      vj(),
      observed({
        jobs: [ep(0, complete), ep(1, complete), ep(2, complete)],
        pods: [pod("s1-ep0", result), pod("s1-ep1", result), pod("s1-ep2", result)],
      }),
      settings,
      now,
    );
    expect(d.status.episodes?.[0]).toMatchObject({
      phase: "Completed",
      encoder: "libx264",
      quality: { ssim: 0.99 },
      bytesOutput: 1000,
      node: "cpu-1",
      progress: 100,
      loudness: { gainDb: 6.2, input: { integrated: -22.2 }, output: { integrated: -16 } },
      picture: { toneMapped: { from: "smpte2084" } },
    });
    expect(d.status.ytDlpVersion).toBe("2026.10.26");
    expect(d.create.map((j) => j.metadata.name)).toEqual(["s1-merge"]);
    expect(d.status.phase).toBe("Merging");
  });

  it("titles an untitled episode with its source's title, records its source facts, and the merge chapters by it", () => {
    const source = { container: "matroska,webm", videoCodec: "vp9", width: 1280, height: 720, fps: 25, title: "Pilot" };
    const result = (index: number) => ({
      mode: "episode",
      index,
      phase: "Completed",
      ...(index === 1 ? { title: "Pilot", source } : {}),
    });
    const untitled = {
      episodes: [
        { url: "https://cdn.example.com/1.mp4", title: "One" },
        { url: "https://video.example.com/watch?v=1" },
        { url: "https://cdn.example.com/3.mp4", title: "Three" },
      ],
    };
    const d = decide(
      vj({ spec: untitled }),
      observed({
        jobs: [ep(0, complete), ep(1, complete), ep(2, complete)],
        pods: [pod("s1-ep0", result(0)), pod("s1-ep1", result(1)), pod("s1-ep2", result(2))],
      }),
      settings,
      now,
    );
    expect(d.status.episodes?.map((e) => e.title)).toEqual(["One", "Pilot", "Three"]);
    expect(d.status.episodes?.[1]?.source).toEqual(source);
    const env = (
      (d.create[0]?.spec ?? { template: { spec: { containers: [] } } }) as {
        template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
      }
    ).template.spec.containers[0]?.env;
    expect(
      JSON.parse(env?.find((e) => e.name === "REEL_MERGE_EPISODES")?.value ?? "").map(
        (e: { title: string }) => e.title,
      ),
    ).toEqual(["One", "Pilot", "Three"]);
  });

  it("is Completed and Ready with the output the merge reported", () => {
    const out = {
      mode: "merge",
      phase: "Completed",
      output: { location: "s3://videos/s1/s1.mp4", bytes: 5, sha256: "ab", chapters: 3, url: "https://x/y" },
    };
    const d = decide(
      vj(),
      observed({
        jobs: [ep(0, complete), ep(1, complete), ep(2, complete), mergeJob(complete)],
        pods: [pod("s1-merge", out)],
      }),
      settings,
      now,
    );
    expect(d.status.phase).toBe("Completed");
    expect(d.status.output).toEqual({
      location: "s3://videos/s1/s1.mp4",
      sizeBytes: 5,
      checksum: "sha256:ab",
      chapters: 3,
      url: "https://x/y",
    });
    expect(cond(d, "Ready")).toMatchObject({ status: "True", reason: "Completed" });
    expect(cond(d, "Reconciling")?.status).toBe("False");
    expect(d.create).toEqual([]);
  });

  it("keeps the merge's subtitle WebVTT files in status.output", () => {
    const subtitles = [{ language: "eng", vtt: "s3://videos/s1/s1-subtitles-eng.vtt" }];
    const out = {
      mode: "merge",
      phase: "Completed",
      output: { location: "s3://videos/s1/s1.mp4", bytes: 5, sha256: "ab", chapters: 3, subtitles },
    };
    const d = decide(
      vj(),
      observed({
        jobs: [ep(0, complete), ep(1, complete), ep(2, complete), mergeJob(complete)],
        pods: [pod("s1-merge", out)],
      }),
      settings,
      now,
    );
    expect(d.status.output?.subtitles).toEqual(subtitles);
    expect(d.status.outputs?.[0]?.subtitles).toEqual(subtitles);
  });

  it("names each merged episode's poster by the crds rule, except those the merge pod could not make", () => {
    const out = {
      mode: "merge",
      phase: "Completed",
      output: { location: "s3://videos/s1/s1.mp4", bytes: 5, sha256: "ab", posters: { stored: 2, missing: [1] } },
    };
    const d = decide(
      vj(),
      observed({
        jobs: [ep(0, complete), ep(1, complete), ep(2, complete), mergeJob(complete)],
        pods: [pod("s1-merge", out)],
      }),
      settings,
      now,
    );
    expect(d.status.episodes?.map((e) => e.poster)).toEqual([
      "s3://videos/s1/s1-ep001-poster.jpg",
      undefined,
      "s3://videos/s1/s1-ep003-poster.jpg",
    ]);
  });

  it("names no posters when the merge pod stored none", () => {
    const out = {
      mode: "merge",
      phase: "Completed",
      output: { location: "s3://videos/s1/s1.mp4", bytes: 5, sha256: "ab" },
    };
    const d = decide(
      vj(),
      observed({
        jobs: [ep(0, complete), ep(1, complete), ep(2, complete), mergeJob(complete)],
        pods: [pod("s1-merge", out)],
      }),
      settings,
      now,
    );
    expect(d.status.phase).toBe("Completed");
    expect(d.status.episodes?.map((e) => e.poster)).toEqual([undefined, undefined, undefined]);
  });

  it("fails the job listing each failed episode's code when partial output is not allowed", () => {
    const bad = {
      mode: "episode",
      index: 1,
      phase: "Failed",
      error: { code: "REEL_SOURCE_NOT_FOUND", message: "404" },
    };
    const d = decide(
      vj(),
      observed({
        jobs: [ep(0, complete), ep(1, failedJob("PodFailurePolicy")), ep(2, complete)],
        pods: [pod("s1-ep1", bad)],
      }),
      settings,
      now,
    );
    expect(d.status.phase).toBe("Failed");
    expect(d.status.episodes?.[1]?.error).toEqual({ code: "REEL_SOURCE_NOT_FOUND", message: "404" });
    expect(cond(d, "Stalled")).toMatchObject({
      status: "True",
      message: expect.stringContaining("episode 2 (Two): REEL_SOURCE_NOT_FOUND"),
    });
    expect(d.create).toEqual([]);
  });

  it("names a Job that ran out of time or retries without a worker result", () => {
    const d = decide(
      vj(),
      observed({ jobs: [ep(0, failedJob("DeadlineExceeded")), ep(1, failedJob()), ep(2)] }),
      settings,
      now,
    );
    expect(d.status.episodes?.map((e) => e.error?.code)).toEqual([
      "REEL_EPISODE_DEADLINE",
      "REEL_WORKER_FAILED",
      undefined,
    ]);
  });

  it("merges without the failed episode when partial output is allowed", () => {
    const d = decide(
      vj({ spec: { merge: { allowPartial: true } } }),
      observed({ jobs: [ep(0, complete), ep(1, failedJob()), ep(2, complete)] }),
      settings,
      now,
    );
    const env = (
      (d.create[0]?.spec ?? { template: { spec: { containers: [] } } }) as {
        template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
      }
    ).template.spec.containers[0]?.env;
    expect(JSON.parse(env?.find((e) => e.name === "REEL_MERGE_EPISODES")?.value ?? "")).toEqual([
      { index: 0, title: "One" },
      { index: 2, title: "Three" },
    ]);
  });

  it("cancels: running Jobs deleted, finished ones kept, phase Cancelled", () => {
    const d = decide(
      vj({ spec: { cancel: true } }),
      observed({ jobs: [ep(0, complete), ep(1), ep(2)] }),
      settings,
      now,
    );
    expect(d.delete).toEqual(["s1-ep1", "s1-ep2"]);
    expect(d.create).toEqual([]);
    expect(d.status.phase).toBe("Cancelled");
    expect(d.status.episodes?.map((e) => e.phase)).toEqual(["Completed", "Cancelled", "Cancelled"]);
    expect(cond(d, "Stalled")).toMatchObject({ status: "True", reason: "Cancelled" });
    expect(cond(d, "Reconciling")?.status).toBe("False");
    expect(d.status.progress).toBe(32); // one of three episodes done, of the 95 % episodes weigh
  });

  it("on deletion removes the children and the S3 staging, then the finalizer", () => {
    const d = decide(
      vj({ meta: { deletionTimestamp: "2026-11-25T09:00:00Z" } }),
      observed({ jobs: [ep(0), ep(1, complete)] }),
      settings,
      now,
    );
    expect(d.delete).toEqual(["s1-ep0", "s1-ep1"]);
    expect(d.cleanupStaging).toBe("s3://videos/s1/.reel-staging/u1/");
    expect(d.finalizer).toBe("remove");
  });

  it("keeps the recorded result of a finished episode whose Job was garbage-collected", () => {
    const status = {
      episodes: [{ index: 0, title: "One", phase: "Completed", progress: 100, attempts: 1, encoder: "libx264" }],
    };
    const d = decide(vj({ status }), observed({ jobs: [ep(1), ep(2)] }), settings, now);
    expect(d.status.episodes?.[0]).toMatchObject({ phase: "Completed", encoder: "libx264" });
    expect(d.create).toEqual([]);
  });

  it("shows the stage a worker reports through Redis", () => {
    const d = decide(
      vj(),
      observed({ jobs: [ep(0), ep(1), ep(2)], progress: live({ index: 1, stage: "encode", fraction: 0.5 }) }),
      settings,
      now,
    );
    expect(d.status.episodes?.[1]).toMatchObject({ phase: "Transcoding", progress: 61 });
    expect(d.status.phase).toBe("Processing");
    expect(d.status.activity).toBe("ep2 Transcoding 61%");
  });

  describe("an encoder that fails on a GPU node", () => {
    const nodes: ObservedNode[] = [
      { name: "cpu-1", labels: {} },
      { name: "nvidia-2", labels: { "reel.dev/gpu-vendor": "nvidia", "reel.dev/encoder.h264_nvenc": "true" } },
    ];
    const gpuJob = (policy: string) =>
      vj({ spec: { gpu: { policy, vendor: "nvidia" }, episodes: [{ url: "https://cdn.example.com/1.mp4" }] } });
    const lost = {
      mode: "episode",
      phase: "Failed",
      error: { code: "REEL_ENCODER_FAILED", message: "h264_nvenc: OpenEncodeSessionEx failed" },
    };
    const failedPod = (() => {
      const p = pod("s1-ep0", lost, "nvidia-2");
      const t = p.status?.containerStatuses?.[0]?.state?.terminated;
      if (t) t.exitCode = 3;
      return p;
    })();

    it("first goes to the GPU node, told to report a failed encoder instead of using the CPU there", () => {
      const d = decide(gpuJob("auto"), observed({ nodes }), settings, now);
      const env = JSON.stringify(d.create[0]?.spec);
      expect(env).toContain("REEL_ON_ENCODER_FAILURE");
      expect(env).toContain("reel.dev/encoder.h264_nvenc");
    });

    it("is retried away from that node, on the CPU when no other capable GPU node is left (policy auto)", () => {
      const d = decide(
        gpuJob("auto"),
        observed({ nodes, jobs: [ep(0, failedJob("PodFailurePolicy"))], pods: [failedPod] }),
        settings,
        now,
      );
      expect(d.create.map((j) => j.metadata.name)).toEqual(["s1-ep0-r1"]);
      const spec = JSON.stringify(d.create[0]?.spec);
      expect(spec).toContain('"NotIn","values":["nvidia-2"]');
      expect(spec).not.toContain("nvidia.com/gpu");
      expect(d.create[0]?.metadata.labels["reel.dev/attempt"]).toBe("1");
      expect(d.events.map((e) => e.reason)).toContain("EncoderFailed");
      expect(d.status.episodes?.[0]?.phase).toBe("Pending");
    });

    it("fails with a code when the policy requires a GPU and none is left", () => {
      const d = decide(
        gpuJob("require"),
        observed({ nodes, jobs: [ep(0, failedJob("PodFailurePolicy"))], pods: [failedPod] }),
        settings,
        now,
      );
      expect(d.create).toEqual([]);
      expect(d.status.episodes?.[0]).toMatchObject({ phase: "Failed", error: { code: "REEL_ENCODER_UNAVAILABLE" } });
    });

    it("follows the latest attempt once a retry exists", () => {
      const retryJob = job(
        "s1-ep0-r1",
        { "reel.dev/role": "episode", "reel.dev/episode": "0", "reel.dev/attempt": "1" },
        complete,
      );
      const d = decide(
        gpuJob("auto"),
        observed({ nodes, jobs: [ep(0, failedJob("PodFailurePolicy")), retryJob], pods: [failedPod] }),
        settings,
        now,
      );
      expect(d.create.map((j) => j.metadata.name)).toEqual(["s1-merge"]);
      expect(d.status.episodes?.[0]?.phase).toBe("Completed");
    });
  });

  it("is stable: deciding again on its own status changes nothing (no write on resync)", () => {
    const o = observed({ jobs: [ep(0, complete), ep(1), ep(2)] });
    const first = decide(vj(), o, settings, now);
    const again = decide(vj({ status: first.status }), o, settings, new Date(now.getTime() + 60_000));
    expect(again.status).toEqual(first.status);
    expect(again.create).toEqual([]);
    expect(again.events).toEqual([]);
  });
});

describe("decide: split episodes (Indexed Job)", () => {
  const seg = (i: number, completions: number, status?: ObservedJob["status"]): ObservedJob => ({
    ...job(`s1-ep${i}-seg`, { "reel.dev/role": "segment", "reel.dev/episode": String(i) }, status),
    spec: { completions },
  });
  const loudness = {
    method: "linear",
    gainDb: 4,
    target: -16,
    input: { integrated: -20 },
    output: { integrated: -16 },
  };
  const splitResult = {
    mode: "episode",
    index: 1,
    phase: "Completed",
    split: { segments: 12 },
    durationSecs: 1800,
    loudness,
  };

  it("plans the Indexed Job when an episode pod reports a split, and reports the episode transcoding", () => {
    const d = decide(
      vj({ spec: { split: { maxParallel: 5 } } }),
      observed({ jobs: [ep(0), ep(1, complete), ep(2)], pods: [pod("s1-ep1", splitResult)] }),
      settings,
      now,
    );
    expect(d.create).toHaveLength(1);
    const j = d.create[0] as NonNullable<(typeof d.create)[0]>;
    expect(j.metadata.name).toBe("s1-ep1-seg");
    expect(j.metadata.labels).toMatchObject({ "reel.dev/role": "segment", "reel.dev/episode": "1" });
    expect(j.spec).toMatchObject({
      completionMode: "Indexed",
      completions: 12,
      parallelism: 5,
      backoffLimitPerIndex: 3,
      maxFailedIndexes: 0,
    });
    expect(j.spec.backoffLimit).toBeUndefined();
    const env = (
      j.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }
    ).template.spec.containers[0]?.env;
    expect(env?.find((e) => e.name === "REEL_MODE")?.value).toBe("segment");
    expect(JSON.parse(env?.find((e) => e.name === "REEL_SPEC")?.value ?? "{}").episodes).toHaveLength(1);
    expect(d.status.episodes?.[1]).toMatchObject({
      phase: "Transcoding",
      segments: { total: 12, completed: 0 },
      durationSecs: 1800,
      loudness, // measured by the pod that cut it (the segments carry no audio)
    });
    expect(d.events.map((e) => e.reason)).toContain("EpisodeSplit");
  });

  it("reports segment progress from completions, even after the splitting Job is gone", () => {
    const d = decide(vj(), observed({ jobs: [ep(0), seg(1, 12, { active: 5, succeeded: 6 }), ep(2)] }), settings, now);
    expect(d.create).toEqual([]);
    expect(d.status.episodes?.[1]).toMatchObject({
      phase: "Transcoding",
      progress: 61, // half of encode (32-90 %)
      segments: { total: 12, completed: 6 },
    });
  });

  it("completes the episode with its Indexed Job and passes the segment count to the merge Job", () => {
    const d = decide(
      vj(),
      observed({
        jobs: [ep(0, complete), seg(1, 12, { ...complete, succeeded: 12 }), ep(2, complete)],
        pods: [pod("s1-ep1-seg", { mode: "segment", index: 1, segment: 3, phase: "Completed", encoder: "libx264" })],
      }),
      settings,
      now,
    );
    expect(d.status.episodes?.[1]).toMatchObject({
      phase: "Completed",
      encoder: "libx264",
      segments: { total: 12, completed: 12 },
    });
    const merge = d.create.find((j) => j.metadata.name === "s1-merge");
    type Spec = { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
    const env = (merge?.spec as Spec | undefined)?.template.spec.containers[0]?.env;
    expect(JSON.parse(env?.find((e) => e.name === "REEL_MERGE_EPISODES")?.value ?? "[]")).toEqual([
      { index: 0, title: "One" },
      { index: 1, title: "Two", segments: 12 },
      { index: 2, title: "Three" },
    ]);
  });

  it("fails the episode with the failing segment's code, not a finished segment's result", () => {
    const failedPod = pod("s1-ep1-seg", {
      mode: "segment",
      index: 1,
      segment: 4,
      phase: "Failed",
      error: { code: "REEL_CHECKSUM_MISMATCH", message: "segment 4 does not match" },
    });
    failedPod.metadata.creationTimestamp = "2026-11-25T09:30:00Z";
    const d = decide(
      vj(),
      observed({
        jobs: [ep(0, complete), seg(1, 12, { succeeded: 4, ...failedJob() }), ep(2, complete)],
        pods: [pod("s1-ep1-seg", { mode: "segment", index: 1, segment: 0, phase: "Completed" }), failedPod],
      }),
      settings,
      now,
    );
    expect(d.status.episodes?.[1]).toMatchObject({ phase: "Failed", error: { code: "REEL_CHECKSUM_MISMATCH" } });
    expect(d.status.phase).toBe("Failed");
  });

  it("takes a joined episode's figures from the merge pod's result", () => {
    const done = (i: number) => ({ index: i, title: `E${i}`, phase: "Completed", progress: 100, attempts: 1 });
    const d = decide(
      vj({
        status: {
          phase: "Merging",
          episodes: [done(0), { ...done(1), segments: { total: 12, completed: 12 } }, done(2)],
        },
      }),
      observed({
        jobs: [mergeJob(complete)],
        pods: [
          pod("s1-merge", {
            mode: "merge",
            phase: "Completed",
            output: { location: "s3://videos/s1/s1.mp4", bytes: 10, sha256: "ab" },
            joined: [
              { index: 1, encoder: "libx264", quality: { ssim: 0.987, psnr: 41.5, method: "encoder" }, bytesOutput: 9 },
            ],
          }),
        ],
      }),
      settings,
      now,
    );
    expect(d.status.phase).toBe("Completed");
    expect(d.status.episodes?.[1]).toMatchObject({ encoder: "libx264", quality: { ssim: 0.987 }, bytesOutput: 9 });
    expect(d.status.episodes?.[0]?.quality).toBeUndefined();
  });

  it("deletes the running Indexed Job on cancel", () => {
    const d = decide(
      vj({ spec: { cancel: true } }),
      observed({ jobs: [ep(0, complete), seg(1, 12), ep(2, complete)] }),
      settings,
      now,
    );
    expect(d.delete).toContain("s1-ep1-seg");
    expect(d.status.episodes?.[1]?.phase).toBe("Cancelled");
  });
});

describe("decide: a split episode whose segment encoder fails on a GPU node", () => {
  const nodes: ObservedNode[] = [
    { name: "cpu-1", labels: {} },
    { name: "nvidia-2", labels: { "reel.dev/gpu-vendor": "nvidia", "reel.dev/encoder.h264_nvenc": "true" } },
  ];
  const gpuJob = vj({
    spec: { gpu: { policy: "auto", vendor: "nvidia" }, episodes: [{ url: "https://cdn.example.com/1.mp4" }] },
  });
  const segJob: ObservedJob = {
    ...job(
      "s1-ep0-seg",
      { "reel.dev/role": "segment", "reel.dev/episode": "0", "reel.dev/attempt": "0" },
      {
        succeeded: 5,
        ...failedJob("PodFailurePolicy"),
      },
    ),
    spec: { completions: 8 },
  };
  const lostPod = (() => {
    const p = pod(
      "s1-ep0-seg",
      {
        mode: "segment",
        index: 0,
        segment: 5,
        phase: "Failed",
        error: { code: "REEL_ENCODER_FAILED", message: "nvenc" },
      },
      "nvidia-2",
    );
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    if (t) t.exitCode = 3;
    return p;
  })();

  it("runs all segments again away from that node (here the CPU), so one encoder makes the whole episode", () => {
    const d = decide(gpuJob, observed({ nodes, jobs: [segJob], pods: [lostPod] }), settings, now);
    expect(d.create.map((j) => j.metadata.name)).toEqual(["s1-ep0-seg-r1"]);
    const spec = JSON.stringify(d.create[0]?.spec);
    expect(spec).toContain('"NotIn","values":["nvidia-2"]');
    expect(spec).not.toContain("nvidia.com/gpu");
    expect(d.create[0]?.spec).toMatchObject({ completionMode: "Indexed", completions: 8 });
    expect(d.create[0]?.metadata.labels["reel.dev/attempt"]).toBe("1");
    expect(d.status.episodes?.[0]).toMatchObject({ phase: "Transcoding", segments: { total: 8, completed: 0 } });
    expect(d.events.find((e) => e.reason === "EncoderFailed")?.message).toContain("all 8 segments again on the CPU");
  });

  it("reports the new Indexed Job once it exists, not the failed one", () => {
    const retry: ObservedJob = {
      ...job(
        "s1-ep0-seg-r1",
        { "reel.dev/role": "segment", "reel.dev/episode": "0", "reel.dev/attempt": "1" },
        { active: 8, succeeded: 2 },
      ),
      spec: { completions: 8 },
    };
    const d = decide(gpuJob, observed({ nodes, jobs: [segJob, retry], pods: [lostPod] }), settings, now);
    expect(d.create).toEqual([]);
    expect(d.status.episodes?.[0]).toMatchObject({ phase: "Transcoding", segments: { total: 8, completed: 2 } });
  });
});

describe("decide: the job's phase and progress only move forward", () => {
  it("stays Processing when the running episodes are (again) downloading, and never lowers progress", () => {
    const pods = [
      { ...pod("s1-ep1", {}), status: { phase: "Running" } },
      { ...pod("s1-ep2", {}), status: { phase: "Running" } },
    ] as ObservedPod[];
    const d = decide(
      vj({ status: { phase: "Processing", progress: 40 } }),
      observed({ jobs: [ep(0, complete), ep(1), ep(2)], pods }),
      settings,
      now,
    );
    expect(d.status.episodes?.[1]?.phase).toBe("Downloading");
    expect(d.status.phase).toBe("Processing");
    expect(d.status.progress).toBe(40);
  });

  it("goes Pending -> Downloading -> Processing as episodes move", () => {
    const running = [{ ...pod("s1-ep0", {}), status: { phase: "Running" } }] as ObservedPod[];
    expect(decide(vj(), observed({ jobs: [ep(0), ep(1), ep(2)] }), settings, now).status.phase).toBe("Pending");
    expect(decide(vj(), observed({ jobs: [ep(0), ep(1), ep(2)], pods: running }), settings, now).status.phase).toBe(
      "Downloading",
    );
    const progress = live({ index: 0, stage: "encode", fraction: 0.5 });
    expect(
      decide(vj(), observed({ jobs: [ep(0), ep(1), ep(2)], pods: running, progress }), settings, now).status.phase,
    ).toBe("Processing");
  });
});

describe("decide: live progress read through the contract", () => {
  it.each(Object.entries(EPISODE_STAGES))("maps the worker's stage %s onto its phase and percent", (stage, t) => {
    const p = said({ index: 0, stage: stage as keyof typeof EPISODE_STAGES, fraction: 0.5 });
    expect(runningEpisode(p, true, undefined)).toEqual({ phase: t.phase, progress: Math.round((t.from + t.to) / 2) });
  });

  it("shows an upload as Uploading with its percentage, and a finished attempt as uploaded", () => {
    const up = (f: number) => runningEpisode(said({ index: 0, stage: "store", fraction: f }), true, undefined);
    expect([up(0), up(0.5), up(1)]).toEqual([
      { phase: "Uploading", progress: 98 },
      { phase: "Uploading", progress: 99 },
      { phase: "Uploading", progress: 100 },
    ]);
    expect(runningEpisode(said({ index: 0, stage: "done", fraction: 1 }), true, undefined)).toEqual({
      phase: "Uploading",
      progress: 100,
    });
  });

  it("after a failed attempt shows what was known, not a finished episode", () => {
    const before = { index: 0, phase: "Transcoding", progress: 50, attempts: 1 } as const;
    const failed = said({ index: 0, stage: "done", fraction: 1, ended: "Failed" });
    expect(runningEpisode(failed, false, before)).toEqual({ phase: "Pending", progress: 50 });
  });

  it("reads no message of an unknown stage, and none filed under another pod's key", () => {
    expect(
      parseProgressMessage(
        JSON.stringify({ ...progressMessage({ index: 0, stage: "fetch", fraction: 0 }), stage: "upload" }),
      ),
    ).toBeUndefined();
    expect(readProgress([JSON.stringify(progressMessage({ index: 3, stage: "fetch", fraction: 0 }))], 1).size).toBe(0);
  });

  it("moves the job from 95 % towards 99 % with the merge pod's progress, and says what it does", () => {
    const done = (i: number) => ({ index: i, title: `E${i}`, phase: "Completed", progress: 100, attempts: 1 });
    const merging = (u: ProgressInput) =>
      decide(
        vj({ status: { phase: "Merging", progress: 95, episodes: [done(0), done(1), done(2)] } }),
        observed({ jobs: [mergeJob()], progress: live(u) }),
        settings,
        now,
      ).status;
    const a = merging({ index: "merge", stage: "merge", fraction: 0.5 });
    const b = merging({ index: "merge", stage: "store", fraction: 0.5 });
    expect(a).toMatchObject({ phase: "Merging", progress: 97, activity: "merging 55%" });
    expect(b).toMatchObject({ phase: "Merging", progress: 98, activity: "storing 90%" });
  });

  it("counts the running episodes by phase when there are many", () => {
    const e = (index: number, phase: string, progress = 10) => ({ index, phase, progress, attempts: 1 }) as never;
    expect(activityOf([e(0, "Uploading", 99), e(1, "Completed", 100), e(2, "Transcoding", 40)])).toBe(
      "ep1 Uploading 99%, ep3 Transcoding 40%",
    );
    expect(activityOf([e(0, "Transcoding"), e(1, "Transcoding"), e(2, "Downloading"), e(3, "Uploading")])).toBe(
      "1 Uploading, 2 Transcoding, 1 Downloading",
    );
    expect(activityOf([e(0, "Completed")])).toBeUndefined();
  });
});

describe("decide: merge.enabled false", () => {
  const off = (status?: unknown) =>
    vj({ spec: { merge: { enabled: false, allowPartial: true } }, ...(status ? { status } : {}) });
  const done = (i: number) => ({
    index: i,
    title: ["One", "Two", "Three"][i],
    phase: "Completed",
    progress: 100,
    attempts: 1,
  });

  it("still runs the merge Job, which stores every episode as its own file", () => {
    const d = decide(off(), observed({ jobs: [ep(0, complete), ep(1, complete), ep(2, complete)] }), settings, now);
    const merge = d.create.find((j) => j.metadata.labels["reel.dev/role"] === "merge");
    expect(merge).toBeDefined();
    type Spec = { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    const env = (merge as unknown as { spec: Spec }).spec.template.spec.containers[0]?.env;
    expect(JSON.parse(env?.find((v) => v.name === "REEL_MERGE_EPISODES")?.value ?? "[]")).toEqual([
      { index: 0, title: "One" },
      { index: 1, title: "Two" },
      { index: 2, title: "Three" },
    ]);
    expect(d.status.phase).toBe("Merging");
    expect(d.status.output).toBeUndefined();
    expect(cond(d, "Reconciling")?.message).toBe("storing 3 episode(s) as separate files");
  });

  it("lists every stored file in status.outputs with its episode, and no merged output", () => {
    const file = (n: string) => ({
      location: `s3://videos/s1/s1-${n}.mp4`,
      bytes: 5,
      sha256: "ab",
      url: `https://s3/${n}`,
    });
    const d = decide(
      off({
        phase: "Merging",
        episodes: [
          done(0),
          { ...done(1), phase: "Failed", error: { code: "REEL_SOURCE_NOT_FOUND", message: "404" } },
          done(2),
        ],
      }),
      observed({
        jobs: [mergeJob(complete)],
        pods: [pod("s1-merge", { mode: "merge", phase: "Completed", outputs: [file("001-one"), file("003-three")] })],
      }),
      settings,
      now,
    );
    expect(d.status.phase).toBe("Completed");
    expect(d.status.output).toBeUndefined();
    expect(d.status.outputs).toEqual([
      {
        location: "s3://videos/s1/s1-001-one.mp4",
        url: "https://s3/001-one",
        sizeBytes: 5,
        checksum: "sha256:ab",
        episode: 0,
        title: "One",
      },
      {
        location: "s3://videos/s1/s1-003-three.mp4",
        url: "https://s3/003-three",
        sizeBytes: 5,
        checksum: "sha256:ab",
        episode: 2,
        title: "Three",
      },
    ]);
    expect(d.events.find((e) => e.reason === "Completed")?.message).toBe(
      "output at s3://videos/s1/s1-001-one.mp4 and 1 more",
    );
    expect(d.cleanupStaging).toBeUndefined();
  });

  it("names each stored episode's own poster beside its file, for the files whose poster was stored", () => {
    const file = (n: string, posters?: { stored: number }) => ({
      location: `s3://videos/s1/s1-${n}.mp4`,
      bytes: 5,
      sha256: "ab",
      ...(posters ? { posters } : {}),
    });
    const d = decide(
      off({ phase: "Merging", episodes: [done(0), { ...done(1), phase: "Failed" }, done(2)] }),
      observed({
        jobs: [mergeJob(complete)],
        pods: [
          pod("s1-merge", {
            mode: "merge",
            phase: "Completed",
            outputs: [file("001-one"), file("003-three", { stored: 1 })],
          }),
        ],
      }),
      settings,
      now,
    );
    expect(d.status.episodes?.map((e) => e.poster)).toEqual([
      undefined,
      undefined,
      "s3://videos/s1/s1-003-three-poster.jpg",
    ]);
  });

  it("keeps the recorded outputs once the merge Job is garbage-collected", () => {
    const outputs = [{ location: "s3://videos/s1/s1-001-one.mp4", episode: 0 }];
    const d = decide(
      off({ phase: "Completed", progress: 100, outputs, episodes: [done(0), done(1), done(2)] }),
      observed(),
      settings,
      now,
    );
    expect(d.create).toEqual([]);
    expect(d.status).toMatchObject({ phase: "Completed", outputs });
  });

  it("lists the merged file in status.outputs too when merge is on", () => {
    const d = decide(
      vj({ status: { phase: "Merging", episodes: [done(0), done(1), done(2)] } }),
      observed({
        jobs: [mergeJob(complete)],
        pods: [
          pod("s1-merge", {
            mode: "merge",
            phase: "Completed",
            output: { location: "s3://videos/s1/s1.mp4", bytes: 10, sha256: "ab", chapters: 3 },
          }),
        ],
      }),
      settings,
      now,
    );
    expect(d.status.output).toEqual({
      location: "s3://videos/s1/s1.mp4",
      sizeBytes: 10,
      checksum: "sha256:ab",
      chapters: 3,
    });
    expect(d.status.outputs).toEqual([{ location: "s3://videos/s1/s1.mp4", sizeBytes: 10, checksum: "sha256:ab" }]);
  });

  it("gives the merged file its episodes' scores, weighted by length (VMAF when every episode has one)", () => {
    const scored = (i: number, durationSecs: number, vmaf: number) => ({
      index: i,
      title: `E${i}`,
      phase: "Completed",
      progress: 100,
      attempts: 1,
      durationSecs,
      quality: { ssim: 0.99, psnr: 40, method: "encoder", vmaf },
    });
    const d = decide(
      vj({ status: { phase: "Merging", episodes: [scored(0, 30, 96), scored(1, 10, 88), scored(2, 20, 93)] } }),
      observed({
        jobs: [mergeJob(complete)],
        pods: [
          pod("s1-merge", {
            mode: "merge",
            phase: "Completed",
            output: { location: "s3://videos/s1/s1.mp4", bytes: 10, sha256: "ab", chapters: 3 },
          }),
        ],
      }),
      settings,
      now,
    );
    expect(d.status.output?.quality?.method).toBe("episodes");
    // (96 x 30 + 88 x 10 + 93 x 20) / 60
    expect(d.status.output?.quality?.vmaf).toBeCloseTo(93.666667, 5);
    expect(d.status.output?.quality?.psnr).toBeCloseTo(40, 9);
  });
});

describe("episode states, one function each", () => {
  const nodes: ObservedNode[] = [
    { name: "cpu-1", labels: {} },
    { name: "nvidia-2", labels: { "reel.dev/gpu-vendor": "nvidia", "reel.dev/encoder.h264_nvenc": "true" } },
  ];
  const lostPod = (jobName: string) => {
    const p = pod(jobName, { mode: "episode", phase: "Failed", error: { code: "REEL_ENCODER_FAILED", message: "x" } });
    if (p.spec) p.spec.nodeName = "nvidia-2";
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    if (t) t.exitCode = 3;
    return p;
  };
  const seg = (status: ObservedJob["status"], attempt = "0"): ObservedJob => ({
    ...job(`s1-ep0-seg${attempt === "0" ? "" : `-r${attempt}`}`, {
      "reel.dev/role": "segment",
      "reel.dev/episode": "0",
      "reel.dev/attempt": attempt,
    }),
    spec: { completions: 12 },
    status,
  });
  const running = { ...pod("s1-ep0", {}), status: { phase: "Running" } } as ObservedPod;
  const planned = { index: 0, job: { metadata: { name: "s1-ep0" } } } as PlannedEpisode;
  type Row = {
    jobs?: ObservedJob[];
    pods?: ObservedPod[];
    before?: Record<string, unknown>;
    plan?: PlannedEpisode;
    cancel?: boolean;
    want: Record<string, unknown>;
    from: EpisodeOutcome["from"];
    create?: string;
    delete?: string;
  };
  const rows: Array<
    [string, (v: EpisodeView, p: PlannedEpisode | undefined, c: EpisodeContext) => EpisodeOutcome, Row]
  > = [
    [
      "unplanned: Pending, its Job planned",
      episodeUnplanned,
      { plan: planned, want: { phase: "Pending" }, from: "plan", create: "s1-ep0" },
    ],
    [
      "unplanned and cancelled: Cancelled, nothing planned",
      episodeUnplanned,
      { plan: planned, cancel: true, want: { phase: "Cancelled" }, from: "plan" },
    ],
    [
      "unplanned and refused: Failed with the planner's reason",
      episodeUnplanned,
      {
        plan: { index: 0, refused: { code: "REEL_X", message: "no" } },
        want: { phase: "Failed", error: { code: "REEL_X", message: "no" }, finishedAt: now.toISOString() },
        from: "plan",
      },
    ],
    [
      "retrying: the next attempt, away from the node whose encoder failed",
      episodeRetrying,
      {
        jobs: [ep(0, failedJob("PodFailurePolicy"))],
        pods: [lostPod("s1-ep0")],
        want: { phase: "Pending" },
        from: "plan",
        create: "s1-ep0-r1",
      },
    ],
    [
      "final: the recorded result stands once the Job is gone",
      (v) => episodeFinal(v.before as EpisodeStatus),
      {
        before: { phase: "Completed", progress: 100, encoder: "x" },
        want: { phase: "Completed", encoder: "x" },
        from: "record",
      },
    ],
    [
      "running: Pending while its pod waits",
      (v, _p, c) => episodeRunning(v, v.job as ObservedJob, c),
      { jobs: [ep(0)], want: { phase: "Pending", progress: 0, attempts: 1 }, from: "job" },
    ],
    [
      "running: Downloading once its pod runs",
      (v, _p, c) => episodeRunning(v, v.job as ObservedJob, c),
      { jobs: [ep(0)], pods: [running], want: { phase: "Downloading", node: "cpu-1" }, from: "job" },
    ],
    [
      "running: Completed with the worker's figures",
      (v, _p, c) => episodeRunning(v, v.job as ObservedJob, c),
      {
        jobs: [ep(0, complete)],
        pods: [pod("s1-ep0", { mode: "episode", index: 0, phase: "Completed", encoder: "libx264", bytesOutput: 7 })],
        want: {
          phase: "Completed",
          progress: 100,
          encoder: "libx264",
          bytesOutput: 7,
          finishedAt: complete.completionTime,
        },
        from: "job",
      },
    ],
    [
      "running: Failed with the Job's reason",
      (v, _p, c) => episodeRunning(v, v.job as ObservedJob, c),
      {
        jobs: [ep(0, failedJob("DeadlineExceeded"))],
        want: { phase: "Failed", error: { code: "REEL_EPISODE_DEADLINE" } },
        from: "job",
      },
    ],
    [
      "running and cancelled: Cancelled, its Job deleted",
      (v, _p, c) => episodeRunning(v, v.job as ObservedJob, c),
      { jobs: [ep(0)], cancel: true, want: { phase: "Cancelled" }, from: "job", delete: "s1-ep0" },
    ],
    [
      "split: Transcoding, the Indexed Job planned",
      (v, _p, c) => episodeRunning(v, v.job as ObservedJob, c),
      {
        jobs: [ep(0, complete)],
        pods: [pod("s1-ep0", { mode: "episode", index: 0, phase: "Completed", split: { segments: 12 } })],
        want: { phase: "Transcoding", segments: { total: 12, completed: 0 } },
        from: "plan",
        create: "s1-ep0-seg",
      },
    ],
    [
      "segmenting: progress from the segments done",
      (v, _p, c) => episodeSegmenting(v, v.segmentJob as ObservedJob, c),
      {
        jobs: [seg({ active: 6, succeeded: 6 })],
        want: { phase: "Transcoding", progress: 61, segments: { total: 12, completed: 6 } },
        from: "segments",
      },
    ],
    [
      "segmenting: Completed with the segments' encoder",
      (v, _p, c) => episodeSegmenting(v, v.segmentJob as ObservedJob, c),
      {
        jobs: [seg({ ...complete, succeeded: 12 })],
        pods: [pod("s1-ep0-seg", { mode: "segment", index: 0, segment: 1, phase: "Completed", encoder: "libx264" })],
        want: { phase: "Completed", encoder: "libx264" },
        from: "segments",
      },
    ],
    [
      "segmenting: Failed with a segment's error",
      (v, _p, c) => episodeSegmenting(v, v.segmentJob as ObservedJob, c),
      { jobs: [seg(failedJob())], want: { phase: "Failed", error: { code: "REEL_WORKER_FAILED" } }, from: "segments" },
    ],
    [
      "segmenting and cancelled: its Indexed Job deleted",
      (v, _p, c) => episodeSegmenting(v, v.segmentJob as ObservedJob, c),
      {
        jobs: [seg({ active: 2 })],
        cancel: true,
        want: { phase: "Cancelled" },
        from: "segments",
        delete: "s1-ep0-seg",
      },
    ],
    [
      "segments retrying: all segments again elsewhere",
      (v, _p, c) => episodeSegmentsRetrying(v, v.segmentJob as ObservedJob, c),
      {
        jobs: [seg(failedJob("PodFailurePolicy"))],
        pods: [lostPod("s1-ep0-seg")],
        want: { phase: "Transcoding", segments: { total: 12, completed: 0 } },
        from: "plan",
        create: "s1-ep0-seg-r1",
      },
    ],
  ];
  it.each(rows)("%s", (_name, state, r) => {
    const spec = {
      gpu: { policy: "auto", vendor: "nvidia" },
      episodes: [{ url: "https://cdn.example.com/1.mp4" }],
      cancel: r.cancel ?? false,
    };
    const v0 = vj({
      spec,
      ...(r.before ? { status: { episodes: [{ index: 0, title: "Episode 1", attempts: 1, ...r.before }] } } : {}),
    });
    const o = observed({ nodes, jobs: r.jobs ?? [], pods: r.pods ?? [] });
    const view = indexChildren(v0, o, v0.status ?? {}).episodes[0] as EpisodeView;
    const plan =
      r.plan ?? (view.retry ? planEpisodeJobs(v0, nodes, new Map([[0, view.retry]]), settings)[0] : undefined);
    const out = state(view, plan, { vj: v0, nodes, settings, now, cancelled: r.cancel ?? false });
    expect(out.status).toMatchObject({ index: 0, ...r.want });
    expect(out.from).toBe(r.from);
    expect(out.create?.job.metadata.name).toBe(r.create);
    expect(out.delete).toBe(r.delete);
    // decideEpisode picks the same state from the view.
    expect(decideEpisode(view, plan, { vj: v0, nodes, settings, now, cancelled: r.cancel ?? false })).toEqual(out);
  });
});

describe("the job's state from its episodes", () => {
  const e = (phase: string, progress = 0, index = 0) =>
    ({ index, title: `E${index}`, phase, progress, attempts: 1 }) as EpisodeStatus;
  const input = (episodes: EpisodeStatus[], over: Partial<JobInput> = {}): JobInput => ({
    vj: vj(),
    prev: {},
    episodes,
    waitingForCap: 0,
    cancelled: false,
    settings: { ...settings, maxRunningPerNamespace: 2 },
    ...over,
  });
  it.each<[string, JobInput, Partial<JobState>]>([
    ["Pending while no episode runs", input([e("Pending"), e("Pending", 0, 1)]), { phase: "Pending", progress: 0 }],
    [
      "Downloading once one downloads",
      input([e("Downloading", 5), e("Pending", 0, 1)]),
      { phase: "Downloading", progress: 2 },
    ],
    [
      "Processing once one is past downloading",
      input([e("Transcoding", 50), e("Pending", 0, 1)]),
      { phase: "Processing", progress: 24 },
    ],
    [
      "never back from Processing, never lower progress",
      input([e("Downloading", 5)], { prev: { phase: "Processing", progress: 40 } }),
      { phase: "Processing", progress: 40 },
    ],
    [
      "says when the namespace cap holds episodes back",
      input([e("Pending")], { waitingForCap: 1 }),
      {
        report: {
          state: "working",
          reason: "NamespaceCapReached",
          message: "1 episode(s) wait: the namespace runs 2 episodes at most",
        },
      },
    ],
    [
      "Cancelled, stalled",
      input([e("Completed", 100), e("Cancelled", 50, 1)], { cancelled: true }),
      {
        phase: "Cancelled",
        progress: 71,
        finished: true,
        report: { state: "stalled", reason: "Cancelled", message: "spec.cancel is true" },
      },
    ],
    [
      "Failed when an episode failed and partial output is not allowed",
      input([e("Completed", 100), { ...e("Failed", 0, 1), error: { code: "REEL_X", message: "x" } }]),
      {
        phase: "Failed",
        finished: true,
        report: { state: "stalled", reason: "EpisodesFailed", message: "REEL_EPISODES_FAILED: episode 2 (E1): REEL_X" },
      },
    ],
    [
      "Merging with a merge Job planned once every episode completed",
      input([e("Completed", 100)]),
      {
        phase: "Merging",
        progress: 95,
        report: { state: "working", reason: "Merging", message: "merging 1 episode(s)" },
      },
    ],
    [
      "Completed from the record when the merge Job was garbage-collected",
      input([e("Completed", 100)], { prev: { phase: "Completed", output: { location: "s3://x" } } }),
      { phase: "Completed", progress: 100, report: undefined },
    ],
    [
      "Merging at 95-99 % with the merge pod's progress",
      input([e("Completed", 100)], {
        merge: { metadata: { name: "s1-merge" } },
        mergeProgress: { stage: "merge", fraction: 0.5, percent: 55, phase: "Merging" },
      }),
      { phase: "Merging", progress: 97, activity: "merging 55%" },
    ],
    [
      "Completed with the merged output",
      input([e("Completed", 100)], {
        merge: { metadata: { name: "s1-merge" }, status: complete },
        mergeResult: { mode: "merge", phase: "Completed", output: { location: "s3://o" } } as never,
      }),
      {
        phase: "Completed",
        progress: 100,
        finished: true,
        stored: { output: { location: "s3://o" }, outputs: [{ location: "s3://o" }] },
      },
    ],
    [
      "Failed when the merge failed, progress kept",
      input([e("Completed", 100)], { merge: { metadata: { name: "s1-merge" }, status: failedJob() } }),
      {
        phase: "Failed",
        progress: undefined,
        report: {
          state: "stalled",
          reason: "MergeFailed",
          message: "merge: REEL_WORKER_FAILED: BackoffLimitExceeded: m",
        },
      },
    ],
  ])("%s", (_name, i, want) => {
    const got = jobState(i);
    const absent = Object.keys(want).filter((k) => want[k as keyof JobState] === undefined);
    expect(got).toMatchObject(Object.fromEntries(Object.entries(want).filter(([, v]) => v !== undefined)));
    for (const k of absent) expect(got[k as keyof JobState]).toBeUndefined();
    if (want.phase === "Merging" && !i.merge) expect(got.createMerge?.metadata.name).toBe("s1-merge");
  });
});

describe("Events: the difference between the old and the new status", () => {
  const st = (phase: string, more: Record<string, unknown> = {}) =>
    ({ index: 1, title: "Two", phase, progress: 0, attempts: 1, ...more }) as EpisodeStatus;
  const out = (
    status: EpisodeStatus,
    from: EpisodeOutcome["from"],
    more: Partial<EpisodeOutcome> = {},
  ): EpisodeOutcome => ({ status, from, ...more });
  it.each<[string, EpisodeStatus | undefined, EpisodeOutcome, KubeEvent | undefined]>([
    ["nothing while the phase stays", st("Transcoding"), out(st("Transcoding"), "job"), undefined],
    ["nothing for a recorded result", st("Completed"), out(st("Completed"), "record"), undefined],
    [
      "an episode Job completed",
      st("Transcoding"),
      out(st("Completed", { encoder: "libx264" }), "job"),
      { type: "Normal", reason: "EpisodeCompleted", message: "episode 2 (Two) completed with libx264" },
    ],
    [
      "an Indexed Job completed",
      st("Transcoding"),
      out(st("Completed", { segments: { total: 4, completed: 4 } }), "segments"),
      { type: "Normal", reason: "EpisodeCompleted", message: "episode 2 (Two) completed: 4 segments" },
    ],
    [
      "an episode Job failed",
      undefined,
      out(st("Failed", { error: { code: "REEL_X", message: "m" } }), "job"),
      { type: "Warning", reason: "EpisodeFailed", message: "episode 2 (Two): REEL_X: m" },
    ],
    [
      "a segment failed",
      st("Transcoding"),
      out(st("Failed", { error: { code: "REEL_X", message: "m" } }), "segments"),
      { type: "Warning", reason: "EpisodeFailed", message: "episode 2 (Two): a segment failed: REEL_X: m" },
    ],
    [
      "the planner refused",
      st("Pending"),
      out(st("Failed", { error: { code: "REEL_X", message: "m" } }), "plan"),
      { type: "Warning", reason: "EpisodeRefused", message: "episode 2: REEL_X: m" },
    ],
  ])("episode: %s", (_name, before, o, want) => {
    expect(episodeEvent(before, o, "Two")).toEqual(want);
  });

  const retry = { failedNodes: ["nvidia-2"], attempt: 1 };
  const kubeJob = (name: string) => ({ metadata: { name } }) as KubeJob;
  it.each<[string, EpisodeStatus | undefined, EpisodeOutcome, string | undefined]>([
    ["no action, no Event", st("Pending"), out(st("Pending"), "plan"), undefined],
    [
      "a retry created",
      st("Transcoding"),
      out(st("Pending"), "plan", { create: { kind: "episode", index: 1, job: kubeJob("s1-ep1-r1"), retry }, retry }),
      "EncoderFailed: episode 2: the encoder failed on nvidia-2; attempt 2 goes elsewhere",
    ],
    [
      "a retry refused, once",
      st("Transcoding"),
      out(st("Failed"), "plan", { retry }),
      "EncoderFailed: episode 2: the encoder failed on nvidia-2; attempt 2 goes elsewhere",
    ],
    ["a retry refused, already reported", st("Failed"), out(st("Failed"), "plan", { retry }), undefined],
    [
      "a split",
      st("Pending"),
      out(st("Transcoding"), "plan", {
        create: { kind: "segments", index: 1, title: "Two", segments: 12, job: kubeJob("s1-ep1-seg") },
      }),
      "EpisodeSplit: episode 2 (Two) split into 12 segments: Indexed Job s1-ep1-seg on the CPU, 4 pod(s) at once",
    ],
  ])("action: %s", (_name, before, o, want) => {
    const got = actionEvent(vj({ spec: { split: { maxParallel: 4 } } }), before, o);
    expect(got ? `${got.reason}: ${got.message}` : undefined).toBe(want);
  });

  const report = (reason: string, message: string) =>
    ({ phase: "Failed", report: { state: "stalled", reason, message } }) as JobState;
  it.each<[string, VideoJobStatus, VideoJobStatus, JobState, string | undefined]>([
    [
      "nothing while the phase stays",
      { phase: "Processing" },
      { phase: "Processing" },
      { phase: "Processing" },
      undefined,
    ],
    [
      "Cancelled",
      { phase: "Processing" },
      { phase: "Cancelled" },
      { phase: "Cancelled" },
      "Cancelled: cancelled; 2 running Job(s) removed",
    ],
    [
      "Failed",
      { phase: "Processing" },
      { phase: "Failed" },
      report("EpisodesFailed", "REEL_EPISODES_FAILED: x"),
      "Failed: REEL_EPISODES_FAILED: x",
    ],
    [
      "MergeFailed",
      { phase: "Merging" },
      { phase: "Failed" },
      report("MergeFailed", "merge: REEL_X: m"),
      "MergeFailed: merge: REEL_X: m",
    ],
    [
      "Completed",
      { phase: "Merging" },
      { phase: "Completed", outputs: [{ location: "s3://a" }, { location: "s3://b" }] },
      { phase: "Completed" },
      "Completed: output at s3://a and 1 more",
    ],
    [
      "Merging",
      { phase: "Processing" },
      { phase: "Merging" },
      { phase: "Merging", report: { state: "working", reason: "Merging", message: "merging 3 episode(s)" } },
      "Merging: merging 3 episode(s) with Job s1-merge",
    ],
  ])("job: %s", (_name, prev, next, job, want) => {
    const got = jobEvent(prev, next, job, { deleted: 2, mergeJob: "s1-merge" });
    expect(got ? `${got.reason}: ${got.message}` : undefined).toBe(want);
  });

  it("groups the episode Jobs created by where they go, counting every Job but the merge", () => {
    const cpu = { kind: "cpu", encoder: "libx264" } as Placement;
    const gpu = { kind: "gpu", vendor: "nvidia", encoder: "h264_nvenc" } as Placement;
    const created: Creation[] = [
      { kind: "episode", index: 0, job: kubeJob("a"), placement: cpu },
      { kind: "episode", index: 1, job: kubeJob("b"), placement: cpu },
      { kind: "episode", index: 3, job: kubeJob("c"), placement: gpu },
      { kind: "segments", index: 2, title: "x", segments: 2, job: kubeJob("d") },
    ];
    expect(scheduledEvent(created)?.message).toBe(
      "created 4 Job(s): episodes 1-2 for the CPU (libx264); episode 4 for a nvidia GPU node (h264_nvenc)",
    );
    expect(scheduledEvent([])).toBeUndefined();
  });
});
