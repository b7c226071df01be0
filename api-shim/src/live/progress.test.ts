import { describe, expect, it } from "vitest";
import { parseProgress } from "./progress.ts";

describe("progress messages from the workers", () => {
  it("reads {index, stage, progress} and prefers percent when present", () => {
    expect(parseProgress("reel:progress:media/s1", '{"index":2,"stage":"transcode","progress":41.5}')).toEqual({
      key: "media/s1",
      msg: { index: 2, stage: "transcode", progress: 41.5 },
    });
    expect(
      parseProgress("reel:progress:media/s1", '{"index":0,"stage":"upload","progress":0.5,"percent":50}')?.msg,
    ).toEqual({ index: 0, stage: "upload", progress: 50 });
  });

  it("keeps the worker's phase (a known one only): on stage done it says how the attempt ended", () => {
    expect(
      parseProgress("reel:progress:media/s1", '{"index":1,"stage":"done","progress":1,"phase":"Failed"}')?.msg,
    ).toEqual({ index: 1, stage: "done", progress: 1, phase: "Failed" });
    expect(
      parseProgress("reel:progress:media/s1", '{"index":1,"stage":"done","progress":1,"phase":"<b>x</b>"}')?.msg,
    ).toEqual({ index: 1, stage: "done", progress: 1 });
  });

  it.each([
    ["another channel", "other:media/s1", '{"index":0,"stage":"x","progress":1}'],
    ["a per-episode key", "reel:progress:media/s1:0", '{"index":0,"stage":"x","progress":1}'],
    ["not JSON", "reel:progress:media/s1", "nope"],
    ["no index", "reel:progress:media/s1", '{"stage":"x","progress":1}'],
  ])("ignores %s", (_, channel, message) => {
    expect(parseProgress(channel, message)).toBeUndefined();
  });
});
