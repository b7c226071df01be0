import { describe, expect, it } from "vitest";
import { episodesTable, meLine, outputLines } from "./render.ts";
import type { Job } from "./types.ts";

const url = (path: string) => `https://reel.example.com${path}`;

describe("episodesTable", () => {
  it("shows how many segments of a split episode are encoded", () => {
    const out = episodesTable(
      { spec: { episodes: [{ url: "https://cdn.example.com/long.mp4", title: "Long" }] } } as never,
      {
        episodes: [
          { index: 0, phase: "Transcoding", progress: 62, attempts: 1, segments: { total: 12, completed: 6 } },
        ],
      },
    );
    expect(out.split("\n")[1]).toMatch(/^1 +Long +Transcoding \(6\/12 segments\) +62%/);
  });
});

describe("outputLines", () => {
  const job = (status: Job["status"]): Job => ({
    id: "s1",
    uid: "0a7d9e0e-1111-4c4c-8d8d-222233334444",
    namespace: "media",
    createdAt: "2026-01-02T03:04:05Z",
    spec: {
      episodes: [
        { url: "https://cdn.example.com/a.mp4", title: "Pilot" },
        { url: "https://cdn.example.com/b.mp4" },
        { url: "https://cdn.example.com/c.mp4" },
      ],
      output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
      merge: { enabled: false },
    },
    status,
    tags: [],
  });

  it("lists every stored file with the shim's download route by the job's uid, never the status's presigned URL", () => {
    const lines = outputLines(
      job({
        outputs: [
          {
            location: "s3://videos/s1/Pilot.mp4",
            url: "https://s3.example/x?sig",
            sizeBytes: 374_000,
            durationSecs: 65,
            episode: 0,
          },
          { location: "s3://videos/s1/b.mp4", episode: 1, expiredAt: "2026-02-01T00:00:00Z" },
          { location: "pvc://media-out/s1/c.mp4", episode: 2, title: "Three" },
        ],
      }),
      url,
    );
    expect(lines).toEqual([
      "output 1 (Pilot): s3://videos/s1/Pilot.mp4 (374 KB, 1m05s)",
      "  download: https://reel.example.com/api/v1/jobs/0a7d9e0e-1111-4c4c-8d8d-222233334444/outputs/0/download",
      "output 2 (Episode 2): s3://videos/s1/b.mp4",
      "  deleted 2026-02-01T00:00:00Z by the output retention",
      "output 3 (Three): pvc://media-out/s1/c.mp4",
    ]);
  });

  it("shows the merged status.output of a status without outputs, with its chapters", () => {
    const { uid: _, ...byName } = job({
      output: { location: "s3://videos/s1/s1.mp4", sizeBytes: 820_000, chapters: 3 },
    });
    expect(outputLines(byName, url)).toEqual([
      "output: s3://videos/s1/s1.mp4 (820 KB, 3 chapters)",
      "  download: https://reel.example.com/api/v1/jobs/s1/outputs/0/download",
    ]);
  });
});

describe("meLine", () => {
  it("says when the user has no tenant yet", () => {
    expect(meLine("https://r", { id: 1, name: "new", role: "viewer", tenant: null, namespace: null })).toBe(
      "logged in to https://r as new (viewer, no tenant yet)",
    );
  });
});
