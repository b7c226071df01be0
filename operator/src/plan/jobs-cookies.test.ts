// The pod spec of a job with cookies (spec.ytdlp.cookiesSecret): the Secret key is mounted
// read-only (0400, readable by the worker's user through fsGroup) into page episodes' pods only.
import { COOKIES_DIR, COOKIES_PATH, parseVideoJob } from "@reel/crds";
import { describe, expect, it } from "vitest";
import type { ObservedNode } from "../scheduling/gpu.ts";
import { type KubeJob, type OperatorSettings, planEpisodeJobs, planMergeJob, planSegmentJob } from "./jobs.ts";

const nodes: ObservedNode[] = [{ name: "cpu-1", labels: {} }];
const settings: OperatorSettings = {
  image: "ghcr.io/reel/worker:0.1.0",
  backoffLimit: 3,
  activeDeadlineSeconds: 21_600,
  ttlSecondsAfterFinished: 3600,
  egressAllow: [],
};

const EPISODES = [
  { url: "https://video.example.com/watch?v=1" },
  { url: "https://cdn.example.com/2.mp4" },
  { url: "https://cdn.example.com/3/master.m3u8" },
  { url: "s3://media/4.mkv" },
];

function videoJob(ytdlp?: Record<string, unknown>) {
  return parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "season-1", namespace: "media", uid: "uid-1", generation: 1 },
    spec: {
      episodes: EPISODES,
      output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
      ...(ytdlp ? { ytdlp } : {}),
    },
  });
}

type PodSpec = {
  securityContext: Record<string, unknown>;
  volumes: { name: string; secret?: Record<string, unknown> }[];
  containers: {
    env: { name: string; value?: string }[];
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  }[];
};
const pod = (j: KubeJob | undefined): PodSpec => {
  if (!j) throw new Error("no Job planned");
  return (j.spec.template as { spec: PodSpec }).spec;
};
const cookiesOf = (j: KubeJob | undefined) => ({
  volume: pod(j).volumes.find((v) => v.name === "cookies"),
  mount: pod(j).containers[0]?.volumeMounts.find((m) => m.name === "cookies"),
});

describe("planEpisodeJobs with spec.ytdlp.cookiesSecret", () => {
  const job = videoJob({ cookiesSecret: { name: "site-cookies", key: "cookies.txt" } });
  const planned = planEpisodeJobs(job, nodes, new Map(), settings);

  it("mounts the Secret key read-only, mode 0400, optional, into the page episode's pod", () => {
    const { volume, mount } = cookiesOf(planned[0]?.job);
    expect(volume).toEqual({
      name: "cookies",
      secret: {
        secretName: "site-cookies",
        items: [{ key: "cookies.txt", path: "cookies.txt" }],
        defaultMode: 0o400,
        optional: true,
      },
    });
    expect(mount).toEqual({ name: "cookies", mountPath: COOKIES_DIR, readOnly: true });
    expect(COOKIES_PATH).toBe(`${COOKIES_DIR}/cookies.txt`);
    // The file is root's 0400 as the kubelet writes it: fsGroup lets the non-root worker read it.
    expect(pod(planned[0]?.job).securityContext).toMatchObject({
      runAsUser: 10001,
      runAsNonRoot: true,
      fsGroup: 10001,
    });
  });

  it("mounts nothing into the direct, HLS and s3:// episodes' pods, a segment pod or the merge pod", () => {
    for (const p of planned.slice(1)) {
      expect(cookiesOf(p.job), `episode ${p.index}`).toEqual({ volume: undefined, mount: undefined });
      expect(pod(p.job).securityContext.fsGroup).toBeUndefined();
    }
    const segments = planSegmentJob(job, 0, 4, nodes, { failedNodes: [] }, settings).job;
    expect(cookiesOf(segments)).toEqual({ volume: undefined, mount: undefined });
    const merge = planMergeJob(job, [{ index: 0 }, { index: 1 }], settings);
    expect(cookiesOf(merge)).toEqual({ volume: undefined, mount: undefined });
  });

  it("puts no cookie, Secret key or cookies path in any pod's environment", () => {
    for (const p of planned) {
      const env = JSON.stringify(pod(p.job).containers[0]?.env.filter((e) => e.name !== "REEL_SPEC"));
      expect(env).not.toContain("site-cookies");
      expect(env).not.toContain(COOKIES_DIR);
    }
  });

  it("mounts nothing into any pod of a job without cookies", () => {
    for (const p of planEpisodeJobs(videoJob(), nodes, new Map(), settings)) {
      expect(cookiesOf(p.job)).toEqual({ volume: undefined, mount: undefined });
    }
  });
});
