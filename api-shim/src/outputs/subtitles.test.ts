import type { Job } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { planSubtitles, subtitleLanguageParam } from "./subtitles.ts";

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

const listed = { subtitles: [{ language: "eng", vtt: "s3://videos/s1/Season 1-subtitles-eng.vtt" }] };

describe("subtitleLanguageParam", () => {
  it("takes three lower-case letters before .vtt and refuses anything else as a 400", () => {
    expect(subtitleLanguageParam("eng.vtt")).toBe("eng");
    for (const bad of ["eng", "EN.vtt", "en.vtt", "engl.vtt", "../x.vtt", "e%2Fg.vtt", "eng.vtt.vtt", ".vtt"]) {
      expect(() => subtitleLanguageParam(bad), bad).toThrow(expect.objectContaining({ code: "REEL_INVALID_ARGUMENT" }));
    }
  });
});

describe("planSubtitles", () => {
  it("reads a listed language's file, named from the output's stem, with the job's keys", () => {
    const plan = planSubtitles(job(listed), 0, "eng");
    expect(plan).toMatchObject({ bucket: "videos", key: "s1/Season 1-subtitles-eng.vtt", credentialsSecret: "creds" });
  });

  it("names the file from the output, never from the status's vtt string", () => {
    const moved = { subtitles: [{ language: "eng", vtt: "s3://other/secret/key.vtt" }] };
    expect(planSubtitles(job(moved), 0, "eng")).toMatchObject({
      bucket: "videos",
      key: "s1/Season 1-subtitles-eng.vtt",
    });
  });

  it("is REEL_NOT_FOUND for a language the status does not list, or an output without subtitles", () => {
    expect(() => planSubtitles(job(listed), 0, "fra")).toThrow(expect.objectContaining({ code: "REEL_NOT_FOUND" }));
    expect(() => planSubtitles(job({}), 0, "eng")).toThrow(expect.objectContaining({ code: "REEL_NOT_FOUND" }));
    expect(() => planSubtitles(job(listed), 1, "eng")).toThrow(expect.objectContaining({ code: "REEL_NOT_FOUND" }));
  });

  it("keeps the output's own refusals: deleted by retention", () => {
    const expired = job({ ...listed, expiredAt: "2026-01-02T00:00:00Z" });
    expect(() => planSubtitles(expired, 0, "eng")).toThrow(expect.objectContaining({ code: "REEL_OUTPUT_EXPIRED" }));
  });
});
