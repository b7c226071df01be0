import { describe, expect, it } from "vitest";
import { VideoJobSpec } from "../schema.ts";
import { progressMessage } from "./progress.ts";
import { Job, JobEvent, JobSummary, jobSummary, Me, outputDownloadPath, ROLES, SCOPES, storedFiles } from "./rest.ts";

const spec = VideoJobSpec.parse({
  episodes: [{ url: "https://cdn.example.com/a.mp4" }, { url: "https://cdn.example.com/b.mp4" }],
  merge: { enabled: false },
  output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
});

describe("the REST shapes", () => {
  it("read a job with one stored file per episode and what its pods do now", () => {
    const job = {
      id: "s1",
      namespace: "media",
      createdAt: "2026-01-02T03:04:05Z",
      spec,
      status: {
        phase: "Completed",
        activity: "ep1 Uploading 99%",
        outputs: [
          { location: "s3://videos/a.mp4", episode: 0, title: "Episode 1", sizeBytes: 10 },
          { location: "s3://videos/b.mp4", episode: 1, expiredAt: "2026-02-01T00:00:00Z" },
        ],
      },
      tags: [],
    };
    expect(Job.parse(job).status?.outputs?.map((o) => o.episode)).toEqual([0, 1]);
  });

  it("summarise a job for listings: the row's fields, no spec, no per-episode status", () => {
    const job = Job.parse({
      id: "s1",
      uid: "u1",
      namespace: "media",
      createdAt: "2026-01-02T03:04:05Z",
      spec,
      status: {
        phase: "Processing",
        progress: 40,
        episodesSummary: "1/2",
        episodes: [{ index: 0, phase: "Completed", progress: 100 }],
      },
      tags: ["drama"],
    });
    const summary = JobSummary.parse(jobSummary(job));
    expect(summary).toEqual({
      id: "s1",
      uid: "u1",
      namespace: "media",
      createdAt: "2026-01-02T03:04:05Z",
      tags: ["drama"],
      phase: "Processing",
      progress: 40,
      episodes: 2,
      episodesSummary: "1/2",
    });
    expect(jobSummary({ ...job, status: undefined }).phase).toBe("Pending");
  });

  it("carry an episode pod's or the merge pod's progress in a JobEvent, with the stage table's phase", () => {
    const base = { id: "12-7", type: "progress", job: "s1", at: "2026-01-02T03:04:05Z" } as const;
    const m = progressMessage({ index: "merge", stage: "merge", fraction: 0.5 });
    expect(JobEvent.parse({ ...base, merge: { stage: m.stage, progress: 55, phase: m.phase } }).merge?.phase).toBe(
      "Merging",
    );
    expect(
      JobEvent.safeParse({ ...base, episode: { index: 0, stage: "encode", progress: 61, phase: "Transcoding" } })
        .success,
    ).toBe(true);
    expect(
      JobEvent.safeParse({ ...base, episode: { index: 0, stage: "encode", progress: 140, phase: "X" } }).success,
    ).toBe(false);
  });

  it("read a user without a tenant, and know every role and scope", () => {
    expect(Me.parse({ id: 3, name: "new", role: "viewer", tenant: null, namespace: null }).tenant).toBeNull();
    expect(ROLES).toEqual(["admin", "operator", "viewer"]);
    expect(SCOPES).toEqual(["jobs:read", "jobs:write", "keys:admin"]);
  });
});

describe("storedFiles", () => {
  it("lists status.outputs in order", () => {
    const outputs = [
      { location: "s3://v/a.mp4", episode: 0 },
      { location: "s3://v/b.mp4", episode: 1 },
    ];
    expect(storedFiles({ outputs, output: { location: "s3://v/x.mp4" } })).toEqual(outputs);
  });

  it("falls back to the merged status.output of a status written before outputs, without chapters", () => {
    expect(storedFiles({ output: { location: "s3://v/all.mp4", url: "https://x", chapters: 3 } })).toEqual([
      { location: "s3://v/all.mp4", url: "https://x" },
    ]);
    expect(storedFiles({ phase: "Processing" })).toEqual([]);
    expect(storedFiles(undefined)).toEqual([]);
  });
});

describe("outputDownloadPath", () => {
  it("names the route of file n by the job's uid or name, escaped", () => {
    expect(outputDownloadPath("season-1", 0)).toBe("/api/v1/jobs/season-1/outputs/0/download");
    expect(outputDownloadPath("a/b", 2)).toBe("/api/v1/jobs/a%2Fb/outputs/2/download");
  });
});
