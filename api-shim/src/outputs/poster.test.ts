import type { Job } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { planPoster } from "./poster.ts";

const job = (poster: string | undefined, output: Record<string, unknown> = {}): Job =>
  ({
    id: "s1",
    namespace: "media",
    createdAt: "2026-01-01T00:00:00Z",
    tags: [],
    spec: {
      episodes: [{ url: "https://cdn.example.com/a.mp4" }, { url: "https://cdn.example.com/b.mp4" }],
      output: { s3: { bucket: "videos", credentialsSecret: "creds", urlExpiry: "2h" } },
    },
    status: {
      phase: "Completed",
      output: { location: "s3://videos/s1/Season 1.mp4", ...output },
      episodes: [
        { index: 0, phase: "Completed", progress: 100, ...(poster ? { poster } : {}) },
        { index: 1, phase: "Failed", progress: 10 },
      ],
    },
  }) as unknown as Job;

describe("planPoster", () => {
  it("presigns the episode's poster with the job's keys and the output's link lifetime", () => {
    const plan = planPoster(job("s3://videos/s1/Season 1-ep001-poster.jpg"), 0, {});
    expect(plan).toMatchObject({
      kind: "presign",
      bucket: "videos",
      key: "s1/Season 1-ep001-poster.jpg",
      credentialsSecret: "creds",
      expiresInSecs: 7200,
    });
  });

  it("answers the installation's public URL when there is one", () => {
    const plan = planPoster(job("s3://videos/s1/Season 1-ep001-poster.jpg"), 0, {
      publicBaseUrl: "https://cdn.example.com/v",
    });
    expect(plan).toEqual({ kind: "public", url: "https://cdn.example.com/v/s1/Season%201-ep001-poster.jpg" });
  });

  it("is REEL_NOT_FOUND for an episode without a poster, an unknown episode, or a poster in another bucket", () => {
    const notFound = expect.objectContaining({ code: "REEL_NOT_FOUND" });
    expect(() => planPoster(job("s3://videos/s1/Season 1-ep001-poster.jpg"), 1, {})).toThrow(notFound);
    expect(() => planPoster(job("s3://videos/s1/Season 1-ep001-poster.jpg"), 7, {})).toThrow(/no such episode/);
    expect(() => planPoster(job("s3://elsewhere/s1/x-ep001-poster.jpg"), 0, {})).toThrow(notFound);
    expect(() => planPoster(job("pvc://media/s1/x-ep001-poster.jpg"), 0, {})).toThrow(notFound);
  });

  it("checks the episode's own file when merge was off: that file expired is REEL_OUTPUT_EXPIRED", () => {
    const off = job(undefined);
    const status = off.status as unknown as Record<string, unknown>;
    const done = (index: number, poster: string) => ({ index, phase: "Completed", progress: 100, poster });
    status.output = undefined;
    status.episodes = [
      done(0, "s3://videos/s1/s1-001-One-poster.jpg"),
      done(1, "s3://videos/s1/s1-002-Two-poster.jpg"),
    ];
    status.outputs = [
      { location: "s3://videos/s1/s1-001-One.mp4", episode: 0 },
      { location: "s3://videos/s1/s1-002-Two.mp4", episode: 1, expiredAt: "2026-01-02T00:00:00Z" },
    ];
    expect(planPoster(off, 0, {})).toMatchObject({ key: "s1/s1-001-One-poster.jpg", bucket: "videos" });
    expect(() => planPoster(off, 1, {})).toThrow(expect.objectContaining({ code: "REEL_OUTPUT_EXPIRED" }));
  });

  it("is REEL_OUTPUT_EXPIRED once retention deleted the output it sits beside", () => {
    const expired = job("s3://videos/s1/Season 1-ep001-poster.jpg", { expiredAt: "2026-01-02T00:00:00Z" });
    expect(() => planPoster(expired, 0, {})).toThrow(expect.objectContaining({ code: "REEL_OUTPUT_EXPIRED" }));
  });
});
