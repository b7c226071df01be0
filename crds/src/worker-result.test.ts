import { describe, expect, it } from "vitest";
import { parseWorkerResult } from "./worker-result.ts";

describe("parseWorkerResult (the worker's termination message, read by the operator)", () => {
  it("reads an episode result whole", () => {
    const r = {
      mode: "episode",
      index: 2,
      phase: "Completed",
      encoder: "libx264",
      quality: { ssim: 0.99, psnr: 44, method: "encoder" },
      bytesOutput: 10,
      loudness: { method: "limited", gainDb: 12.9, target: -16, input: { integrated: -28.9, truePeak: -2.6, lra: 0 } },
      picture: {
        deinterlaced: { fieldOrder: "tff", detectedBy: "idet" },
        convertedFrom: "bt470bg/bt709/bt470bg, limited range",
      },
    };
    expect(parseWorkerResult(JSON.stringify(r))).toEqual(r);
  });
  it("reads a merge result with its stored output", () => {
    const r = {
      mode: "merge",
      phase: "Completed",
      output: { location: "s3://v/a.mp4", bytes: 5, sha256: "ab", chapters: 2 },
    };
    expect(parseWorkerResult(JSON.stringify(r))?.output?.chapters).toBe(2);
  });
  it("reads a merge result's subtitle files and an episode's warnings", () => {
    const subtitles = [{ language: "eng", vtt: "s3://v/a-subtitles-eng.vtt" }];
    const merge = {
      mode: "merge",
      phase: "Completed",
      output: { location: "s3://v/a.mp4", bytes: 5, sha256: "ab", subtitles },
    };
    expect(parseWorkerResult(JSON.stringify(merge))?.output?.subtitles).toEqual(subtitles);
    const warnings = [{ code: "REEL_SUBTITLES_DROPPED", message: "the eng subtitle track (stream 2) is dvd_subtitle" }];
    const episode = { mode: "episode", index: 0, phase: "Completed", warnings };
    expect(parseWorkerResult(JSON.stringify(episode))).toMatchObject({ warnings });
  });
  it("keeps mode, phase and the coded error of a result it cannot read whole", () => {
    const odd = {
      mode: "episode",
      phase: "Failed",
      index: "three",
      error: { code: "REEL_SOURCE_NOT_FOUND", message: "404" },
    };
    expect(parseWorkerResult(JSON.stringify(odd))).toEqual({
      mode: "episode",
      phase: "Failed",
      error: { code: "REEL_SOURCE_NOT_FOUND", message: "404" },
    });
  });
  it.each(["", "not json", "[1,2]", "null", '{"x":1}'])("reads nothing from %j", (m) => {
    expect(parseWorkerResult(m)).toBeUndefined();
  });
});
