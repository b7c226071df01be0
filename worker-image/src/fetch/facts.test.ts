import { describe, expect, it } from "vitest";
import { episodeTitle, sourceFacts } from "./facts.ts";

const probe = { durationSecs: 61.04, width: 1920, height: 1080, fps: 30000 / 1001, container: "matroska,webm" };

describe("episodeTitle", () => {
  it.each([
    ["Given", { title: "Site" }, "Given"],
    [undefined, { title: "  Site title  " }, "Site title"],
    [undefined, { title: "   " }, "Episode 4"],
    [undefined, undefined, "Episode 4"],
    [undefined, { title: "t".repeat(250) }, "t".repeat(200)],
  ])("manifest %s, site %j → %s", (given, site, title) => {
    expect(episodeTitle(given, 3, site)).toBe(title);
  });
});

describe("sourceFacts", () => {
  it("records what ffprobe read and what the site said", () => {
    const facts = sourceFacts(
      { ...probe, videoCodec: "vp9", audioCodec: "opus" },
      { title: "Pilot", uploadDate: "20261102", durationSecs: 61 },
    );
    expect(facts).toEqual({
      container: "matroska,webm",
      videoCodec: "vp9",
      audioCodec: "opus",
      width: 1920,
      height: 1080,
      fps: 29.97,
      durationSecs: 61.04,
      title: "Pilot",
      uploadDate: "20261102",
      siteDurationSecs: 61,
    });
  });

  it("leaves out what is not known: no audio, no site", () => {
    expect(sourceFacts(probe)).toEqual({
      container: "matroska,webm",
      width: 1920,
      height: 1080,
      fps: 29.97,
      durationSecs: 61.04,
    });
  });
});
