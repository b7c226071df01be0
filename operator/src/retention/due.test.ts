import type { VideoJobStatus } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { type Due, due, finishedAt, humanDuration, keepExpiredOutput, type RetainedVideoJob } from "./due.ts";

const T0 = Date.parse("2026-03-01T12:00:00Z");
const at = (secs: number) => new Date(T0 + secs * 1000);
const iso = (secs: number) => at(secs).toISOString();

function vj(status: VideoJobStatus | undefined, o: { deleting?: boolean; volume?: boolean } = {}): RetainedVideoJob {
  return {
    metadata: o.deleting ? { deletionTimestamp: iso(0) } : {},
    spec: {
      output: o.volume ? {} : { s3: { bucket: "videos", prefix: "s1/", credentialsSecret: "c", urlExpiry: "24h" } },
    },
    ...(status ? { status } : {}),
  };
}
const completed: VideoJobStatus = {
  phase: "Completed",
  completedAt: iso(0),
  output: { location: "s3://videos/s1/s1.mp4", url: "https://x/presigned", urlExpiresAt: iso(86400) },
};
const DAY = 86400;

describe("due: what retention asks of a VideoJob at a given time", () => {
  const cases: Array<[string, RetainedVideoJob, number, { outputsSecs?: number; finishedSecs?: number }, Due]> = [
    ["nothing set: nothing ever", vj(completed), 400 * DAY, {}, { actions: [] }],
    [
      "a running job: nothing",
      vj({ phase: "Processing" }),
      400 * DAY,
      { outputsSecs: 1, finishedSecs: 1 },
      { actions: [] },
    ],
    ["no status yet: nothing", vj(undefined), 400 * DAY, { outputsSecs: 1, finishedSecs: 1 }, { actions: [] }],
    [
      "a job being deleted: nothing (its finalizer is at work)",
      vj(completed, { deleting: true }),
      400 * DAY,
      { outputsSecs: 1, finishedSecs: 1 },
      { actions: [] },
    ],
    [
      "output retention, not yet: the time it comes due",
      vj(completed),
      DAY,
      { outputsSecs: 30 * DAY },
      { actions: [], next: T0 + 30 * DAY * 1000 },
    ],
    [
      "output retention, due to the second",
      vj(completed),
      30 * DAY,
      { outputsSecs: 30 * DAY },
      { actions: ["expire-output"] },
    ],
    [
      "output already expired: nothing more",
      vj({ ...completed, output: { location: "s3://videos/s1/s1.mp4", expiredAt: iso(30 * DAY) } }),
      31 * DAY,
      { outputsSecs: 30 * DAY },
      { actions: [] },
    ],
    [
      "output on a volume: left alone",
      vj({ ...completed, output: { location: "pvc://claim/s1/s1.mp4" } }, { volume: true }),
      31 * DAY,
      { outputsSecs: DAY },
      { actions: [] },
    ],
    [
      "output in another bucket than the job's: left alone",
      vj({ ...completed, output: { location: "s3://other/s1.mp4" } }),
      31 * DAY,
      { outputsSecs: DAY },
      { actions: [] },
    ],
    [
      "a failed job without output: only its deletion counts",
      vj({ phase: "Failed", completedAt: iso(0) }),
      DAY,
      { outputsSecs: 3600, finishedSecs: 7 * DAY },
      { actions: [], next: T0 + 7 * DAY * 1000 },
    ],
    [
      "a cancelled job, due for deletion",
      vj({ phase: "Cancelled", completedAt: iso(0) }),
      7 * DAY,
      { finishedSecs: 7 * DAY },
      { actions: ["delete-videojob"] },
    ],
    [
      "both: output first, the VideoJob later",
      vj(completed),
      8 * DAY,
      { outputsSecs: 7 * DAY, finishedSecs: 30 * DAY },
      { actions: ["expire-output"], next: T0 + 30 * DAY * 1000 },
    ],
    [
      "VideoJob retention shorter than the output's: the VideoJob waits for its output to expire",
      vj(completed),
      8 * DAY,
      { outputsSecs: 30 * DAY, finishedSecs: 7 * DAY },
      { actions: [], next: T0 + 30 * DAY * 1000 },
    ],
    [
      "both due at once: the output goes before its VideoJob",
      vj(completed),
      30 * DAY,
      { outputsSecs: 30 * DAY, finishedSecs: 7 * DAY },
      { actions: ["expire-output", "delete-videojob"] },
    ],
    [
      "no completedAt: the last change of Ready/Stalled counts",
      vj({
        phase: "Failed",
        conditions: [
          { type: "Ready", status: "False", reason: "Invalid", message: "", lastTransitionTime: iso(-10) },
          { type: "Stalled", status: "True", reason: "Invalid", message: "", lastTransitionTime: iso(0) },
        ],
      }),
      1,
      { finishedSecs: 2 },
      { actions: [], next: T0 + 2000 },
    ],
  ];
  it.each(cases)("%s", (_, job, now, settings, want) => {
    expect(due(job, at(now), settings)).toEqual(want);
  });
});

describe("finishedAt", () => {
  it("is undefined for a job that is not finished, even with a completedAt", () => {
    expect(finishedAt(vj({ phase: "Merging", completedAt: iso(0) }))).toBeUndefined();
  });
});

describe("keepExpiredOutput: a reconcile never brings a deleted output's URL back", () => {
  const fromMergePod: VideoJobStatus = { ...completed, progress: 100 };
  it("keeps the expired output (no url) over the one decide() rebuilt from the merge pod", () => {
    const prev: VideoJobStatus = {
      ...completed,
      output: { location: "s3://videos/s1/s1.mp4", sizeBytes: 10, expiredAt: iso(30 * DAY) },
    };
    expect(keepExpiredOutput(prev, fromMergePod).output).toEqual({
      location: "s3://videos/s1/s1.mp4",
      sizeBytes: 10,
      expiredAt: iso(30 * DAY),
    });
  });
  it("drops a URL a racing status write put back beside expiredAt", () => {
    const prev: VideoJobStatus = {
      ...completed,
      output: { location: "s3://videos/s1/s1.mp4", url: "https://x/presigned", expiredAt: iso(1) },
    };
    expect(keepExpiredOutput(prev, fromMergePod).output).toEqual({
      location: "s3://videos/s1/s1.mp4",
      expiredAt: iso(1),
    });
  });
  it("changes nothing before expiry", () => {
    expect(keepExpiredOutput(completed, fromMergePod)).toBe(fromMergePod);
    expect(keepExpiredOutput(undefined, fromMergePod)).toBe(fromMergePod);
  });
});

describe("humanDuration", () => {
  it.each([
    [2, "2s"],
    [2592000, "30d"],
    [93600, "1d2h"],
    [5400, "1h30m"],
  ])("%d s is %s", (secs, want) => {
    expect(humanDuration(secs)).toBe(want);
  });
});
