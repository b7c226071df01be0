import type { VideoJobStatus } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { outputKeys } from "./outputs.ts";

const merged: VideoJobStatus = {
  phase: "Completed",
  output: { location: "s3://videos/s1/s1.mp4", thumbnails: { vtt: "s3://videos/s1/s1-thumbs.vtt", sheets: 2 } },
  episodes: [
    { index: 0, phase: "Completed", progress: 100, attempts: 1, poster: "s3://videos/s1/s1-ep001-poster.jpg" },
    { index: 1, phase: "Failed", progress: 40, attempts: 3 },
    { index: 2, phase: "Completed", progress: 100, attempts: 1, poster: "s3://videos/s1/s1-ep003-poster.jpg" },
  ],
};

describe("retention's object keys", () => {
  it("deletes the episodes' posters with the merged file and its seek thumbnails", () => {
    expect(outputKeys(merged, "videos")).toEqual([
      "s1/s1.mp4",
      "s1/s1-thumbs.vtt",
      "s1/s1-thumbs-001.jpg",
      "s1/s1-thumbs-002.jpg",
      "s1/s1-ep001-poster.jpg",
      "s1/s1-ep003-poster.jpg",
    ]);
  });

  it("leaves a poster outside the job's bucket alone, and refuses an output outside it", () => {
    const elsewhere = {
      ...merged,
      episodes: [
        {
          index: 0,
          phase: "Completed" as const,
          progress: 100,
          attempts: 1,
          poster: "pvc://media/s1-ep001-poster.jpg",
        },
      ],
    };
    expect(outputKeys(elsewhere, "videos")).not.toContain("pvc://media/s1-ep001-poster.jpg");
    expect(outputKeys(elsewhere, "videos")).toHaveLength(4);
    expect(() => outputKeys(merged, "other")).toThrow(/not in the job's bucket other/);
  });

  it("deletes the subtitle WebVTT files stored beside the merged file", () => {
    const subtitles = [
      { language: "eng", vtt: "s3://videos/s1/s1-subtitles-eng.vtt" },
      { language: "jpn", vtt: "s3://videos/s1/s1-subtitles-jpn.vtt" },
    ];
    const withSubtitles = { ...merged, output: { location: "s3://videos/s1/s1.mp4", subtitles } };
    expect(outputKeys(withSubtitles, "videos")).toEqual([
      "s1/s1.mp4",
      "s1/s1-subtitles-eng.vtt",
      "s1/s1-subtitles-jpn.vtt",
      "s1/s1-ep001-poster.jpg",
      "s1/s1-ep003-poster.jpg",
    ]);
  });

  it("has nothing to delete for a job that stored nothing, posters or not", () => {
    expect(outputKeys({ episodes: merged.episodes }, "videos")).toEqual([]);
  });
});
