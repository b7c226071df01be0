import type { Job } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { parseThumbnailCues, planThumbnails, writeThumbnailVtt } from "./thumbnails.ts";

const job = (output: Record<string, unknown>): Job =>
  ({
    id: "s1",
    namespace: "media",
    createdAt: "2026-01-01T00:00:00Z",
    tags: [],
    spec: {
      episodes: [{ url: "https://cdn.example.com/a.mp4" }],
      output: { s3: { bucket: "videos", credentialsSecret: "creds", urlExpiry: "2h" } },
    },
    status: { phase: "Completed", output: { location: "s3://videos/s1/Season 1.mp4", ...output } },
  }) as unknown as Job;

describe("planThumbnails", () => {
  it("reads the index with the job's keys and allows only the status's sheets beside it", () => {
    const plan = planThumbnails(job({ thumbnails: { vtt: "s3://videos/s1/Season 1-thumbs.vtt", sheets: 2 } }), 0);
    expect(plan.index).toMatchObject({ bucket: "videos", key: "s1/Season 1-thumbs.vtt", credentialsSecret: "creds" });
    expect(plan.index.expiresInSecs).toBe(7200);
    expect([...plan.sheets]).toEqual([
      ["Season 1-thumbs-001.jpg", "s1/Season 1-thumbs-001.jpg"],
      ["Season 1-thumbs-002.jpg", "s1/Season 1-thumbs-002.jpg"],
    ]);
  });

  it("is REEL_NOT_FOUND without thumbnails, or with an index in another bucket", () => {
    expect(() => planThumbnails(job({}), 0)).toThrow(expect.objectContaining({ code: "REEL_NOT_FOUND" }));
    const other = job({ thumbnails: { vtt: "s3://elsewhere/s1/Season 1-thumbs.vtt", sheets: 1 } });
    expect(() => planThumbnails(other, 0)).toThrow(expect.objectContaining({ code: "REEL_NOT_FOUND" }));
    const expired = job({
      thumbnails: { vtt: "s3://videos/s1/x-thumbs.vtt", sheets: 1 },
      expiredAt: "2026-01-02T00:00:00Z",
    });
    expect(() => planThumbnails(expired, 0)).toThrow(expect.objectContaining({ code: "REEL_OUTPUT_EXPIRED" }));
  });
});

describe("parseThumbnailCues and writeThumbnailVtt", () => {
  const text = [
    "WEBVTT",
    "",
    "00:00:00.000 --> 00:00:02.000",
    "Season 1-thumbs-001.jpg#xywh=0,0,160,90",
    "",
    "NOTE a comment block is skipped",
    "",
    "1\r\n00:00:02.000 --> 00:00:04.000 align:start\r\nSeason%201-thumbs-001.jpg#xywh=160,0,160,90",
    "",
    "00:00:04.000 --> 00:00:06.000",
    "../secret/key.jpg#xywh=320,0,160,90",
    "",
    "00:00:06.000 --> 00:00:08.000",
    "Season 1-thumbs-002.jpg#xywh=0,0,160,90",
    "<script>",
    "",
  ].join("\n");

  it("keeps a cue's times, sheet and tile, and skips blocks that are not one tile cue", () => {
    const cues = parseThumbnailCues(text);
    expect(cues.map((c) => [c.start, c.end, c.sheet, c.x, c.y, c.w, c.h])).toEqual([
      ["00:00:00.000", "00:00:02.000", "Season 1-thumbs-001.jpg", 0, 0, 160, 90],
      ["00:00:02.000", "00:00:04.000", "Season%201-thumbs-001.jpg", 160, 0, 160, 90],
      ["00:00:04.000", "00:00:06.000", "../secret/key.jpg", 320, 0, 160, 90],
    ]);
  });

  it("keeps the last cue of an index that ends with one newline, as the worker writes it", () => {
    const cues = parseThumbnailCues("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\na-thumbs-001.jpg#xywh=0,0,160,90\n");
    expect(cues.map((c) => c.sheet)).toEqual(["a-thumbs-001.jpg"]);
  });

  it("writes only the cues whose sheet has a link, with the tile fragment kept", () => {
    const vtt = writeThumbnailVtt(parseThumbnailCues(text), (s) =>
      s.startsWith("Season") ? `https://s3.example.com/${encodeURIComponent(s)}?X-Amz-Signature=abc` : undefined,
    );
    expect(vtt).toBe(
      "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nhttps://s3.example.com/Season%201-thumbs-001.jpg?X-Amz-Signature=abc#xywh=0,0,160,90" +
        "\n\n00:00:02.000 --> 00:00:04.000\nhttps://s3.example.com/Season%25201-thumbs-001.jpg?X-Amz-Signature=abc#xywh=160,0,160,90\n",
    );
    expect(writeThumbnailVtt([], () => "x")).toBe("WEBVTT\n");
  });
});
