import { parseVideoJob, type VideoJob, type VideoJobStatus } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { decide } from "../reconcile/decide.ts";
import { episodesToDo, reuseWanted } from "./candidates.ts";

const url = (n: number) => `https://cdn.example.com/ep${n}.mp4`;

function videoJob(
  name: string,
  opts: { uid: string; spec?: Record<string, unknown>; status?: VideoJobStatus; created?: string },
): VideoJob {
  const vj = parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name, namespace: "media", uid: opts.uid, creationTimestamp: opts.created ?? "2026-12-01T00:00:00Z" },
    spec: {
      episodes: [1, 2, 3].map((n) => ({ url: url(n) })),
      output: { s3: { bucket: "videos", prefix: "out/", credentialsSecret: "s3-creds" } },
      ...opts.spec,
    },
  });
  return opts.status ? { ...vj, status: opts.status } : vj;
}

const done = (index: number, phase: "Completed" | "Failed" = "Completed") => ({
  index,
  phase,
  progress: 100,
  attempts: 1,
});
const first = videoJob("season", { uid: "u1", status: { episodes: [done(0), done(1, "Failed"), done(2)] } });

describe("reuseWanted", () => {
  it("offers another job's completed episodes of the same URL and settings, never failed ones", () => {
    const retry = videoJob("season-r1", { uid: "u2" });
    const wanted = reuseWanted(retry, [first, retry], [0, 1, 2]);
    expect(wanted.map((w) => [w.index, w.candidates.map((c) => `${c.videojob}/${c.index}`)])).toEqual([
      [0, ["season/0"]],
      [2, ["season/2"]],
    ]);
    expect(wanted[0]?.candidates[0]?.staging).toBe("s3://videos/out/.reel-staging/u1/");
  });

  it("finds an episode at another place in another job's list", () => {
    const other = videoJob("other", { uid: "u3", spec: { episodes: [{ url: url(9) }, { url: url(3) }] } });
    expect(reuseWanted(other, [first], [0, 1]).map((w) => [w.index, w.candidates[0]?.index])).toEqual([[1, 2]]);
  });

  it("offers nothing across settings, buckets, Secrets or namespaces, nor to itself", () => {
    const hevc = videoJob("hevc", { uid: "u4", spec: { codec: "hevc" } });
    const bucket = videoJob("b", {
      uid: "u5",
      spec: { output: { s3: { bucket: "other", credentialsSecret: "s3-creds" } } },
    });
    const secret = videoJob("s", { uid: "u6", spec: { output: { s3: { bucket: "videos", credentialsSecret: "x" } } } });
    const elsewhere = {
      ...videoJob("e", { uid: "u7" }),
      metadata: { ...first.metadata, namespace: "other", uid: "u7" },
    };
    for (const vj of [hevc, bucket, secret, elsewhere]) expect(reuseWanted(vj, [first], [0, 1, 2])).toEqual([]);
    expect(reuseWanted(first, [first], [0, 2])).toEqual([]);
  });

  it("never reuses an episode with its own subtitle files, on either side (their bytes are not checked)", () => {
    const sidecar = {
      episodes: [{ url: url(1), subtitles: [{ url: "https://cdn.example.com/ep1.en.vtt", language: "eng" }] }],
    };
    const withSubs = videoJob("subs", { uid: "u10", spec: sidecar, status: { episodes: [done(0)] } });
    expect(reuseWanted(videoJob("subs-r1", { uid: "u11", spec: sidecar }), [withSubs], [0])).toEqual([]);
    expect(
      reuseWanted(videoJob("plain", { uid: "u12", spec: { episodes: [{ url: url(1) }] } }), [withSubs], [0]),
    ).toEqual([]);
    expect(reuseWanted(videoJob("subs-r2", { uid: "u13", spec: sidecar }), [first], [0])).toEqual([]);
  });

  it("gives a job that keeps its sources' chapters only episodes staged by jobs that asked for them too", () => {
    const marks = (m: string) => ({ merge: { chapterMarks: m } });
    const withMarks = videoJob("marks", { uid: "u14", spec: marks("both"), status: { episodes: [done(0)] } });
    expect(reuseWanted(videoJob("m1", { uid: "u15", spec: marks("source") }), [first], [0])).toEqual([]);
    expect(reuseWanted(videoJob("m2", { uid: "u16", spec: marks("both") }), [withMarks], [0])).toHaveLength(1);
    expect(reuseWanted(videoJob("plain2", { uid: "u17" }), [withMarks], [0])).toHaveLength(1);
  });

  it("leaves split episodes to run again", () => {
    const split = videoJob("split", {
      uid: "u8",
      status: { episodes: [{ ...done(0), segments: { total: 3, completed: 3 } }] },
    });
    expect(reuseWanted(videoJob("r", { uid: "u9" }), [split], [0])).toEqual([]);
  });

  it("keys an s3:// source by its endpoint too: the same bucket and key elsewhere is another object", () => {
    const at = (endpoint: string) => ({
      episodes: [{ url: "s3://media/ep1.mp4" }],
      sources: { s3: { endpoint, credentialsSecret: "media-keys" } },
    });
    const s3First = videoJob("s3a", { uid: "ua", spec: at("http://s3.one:9000"), status: { episodes: [done(0)] } });
    const same = reuseWanted(videoJob("s3b", { uid: "ub", spec: at("http://s3.one:9000") }), [s3First], [0]);
    expect(same.map((w) => [w.index, w.source, w.candidates[0]?.videojob])).toEqual([
      [0, "s3 http://s3.one:9000 s3://media/ep1.mp4", "s3a"],
    ]);
    expect(reuseWanted(videoJob("s3c", { uid: "uc", spec: at("http://s3.two:9000") }), [s3First], [0])).toEqual([]);
  });
});

describe("episodesToDo", () => {
  it("lists episodes with no Job and no final status; none for a cancelled job", () => {
    const vj = videoJob("season-r1", { uid: "u2", status: { episodes: [done(0)] } });
    const jobs = [{ metadata: { labels: { "reel.dev/episode": "1" } } }];
    expect(episodesToDo(vj, jobs)).toEqual([2]);
    expect(episodesToDo({ ...vj, spec: { ...vj.spec, cancel: true } }, [])).toEqual([]);
  });
});

describe("decide with reused episodes", () => {
  it("plans Jobs only for the episodes not reused, and reports where the others came from", () => {
    const retry = videoJob("season-r1", { uid: "u2" });
    const reused = new Map([0, 2].map((i) => [i, { ...done(i), attempts: 0, reusedFrom: `season/${i + 1}` }]));
    const d = decide(
      retry,
      { jobs: [], pods: [], nodes: [], namespaceActive: 0, reused },
      {
        image: "w",
        backoffLimit: 1,
        activeDeadlineSeconds: 60,
        ttlSecondsAfterFinished: 60,
        egressAllow: [],
        maxRunningPerNamespace: 0,
      },
      new Date("2026-12-05T00:00:00Z"),
    );
    expect(d.create.map((j) => j.metadata.name)).toEqual(["season-r1-ep1"]);
    expect(d.status.episodes?.map((e) => [e.phase, e.reusedFrom])).toEqual([
      ["Completed", "season/1"],
      ["Pending", undefined],
      ["Completed", "season/3"],
    ]);
  });
});
