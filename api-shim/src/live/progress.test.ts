import { JobEvent, progressChannel, progressKey, progressMessage } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { parseProgress, progressEvent } from "./progress.ts";

const at = new Date("2026-01-02T03:04:05Z");
/** What a worker pod publishes (the contract's writer), as it goes over Redis. */
const published = (m: Parameters<typeof progressMessage>[0]) => JSON.stringify(progressMessage(m, at));
const channel = progressChannel("media/s1");
/** The event a message on `channel` becomes. */
const eventOf = (message: string) => {
  const p = parseProgress(channel, message);
  if (!p) throw new Error(`not read: ${message}`);
  return progressEvent(p.msg);
};

describe("progress messages from the worker pods", () => {
  it("reads an episode pod's message into an event with the percent of the pod's work and the stage's phase", () => {
    expect(parseProgress(channel, published({ index: 2, stage: "encode", fraction: 0.5 }))?.key).toBe("media/s1");
    expect(eventOf(published({ index: 2, stage: "encode", fraction: 0.5 }))).toEqual({
      type: "progress",
      episode: { index: 2, stage: "encode", progress: 61, phase: "Transcoding" },
    });
  });

  it("reads the merge pod's messages as merge progress instead of dropping them", () => {
    expect(eventOf(published({ index: "merge", stage: "merge", fraction: 0.5 }))).toEqual({
      type: "progress",
      merge: { stage: "merge", progress: 55, phase: "Merging" },
    });
  });

  it("keeps how an attempt ended on stage done", () => {
    expect(eventOf(published({ index: 1, stage: "done", fraction: 1, ended: "Failed" }))).toEqual({
      type: "progress",
      episode: { index: 1, stage: "done", progress: 100, phase: "Failed" },
    });
  });

  it("reads an older worker's {index, stage, progress: fraction} the same way, never mixing in 0..100", () => {
    expect(eventOf('{"index":0,"stage":"fetch","progress":0.5,"percent":50}')).toEqual({
      type: "progress",
      episode: { index: 0, stage: "fetch", progress: 15, phase: "Downloading" },
    });
  });

  it("makes events the REST contract's JobEvent accepts", () => {
    for (const m of [
      published({ index: 0, stage: "store", fraction: 0.99 }),
      published({ index: "merge", stage: "store", fraction: 0.2 }),
    ]) {
      expect(JobEvent.safeParse({ id: "1-1", job: "s1", at: at.toISOString(), ...eventOf(m) }).success).toBe(true);
    }
  });

  it.each([
    ["another channel", "other:media/s1", published({ index: 0, stage: "fetch", fraction: 1 })],
    ["a pod's key", progressKey("media/s1", 0), published({ index: 0, stage: "fetch", fraction: 1 })],
    ["not JSON", channel, "nope"],
    ["no index", channel, '{"stage":"fetch","progress":1}'],
    ["an unknown stage", channel, '{"index":0,"stage":"transcoding","progress":0.7}'],
  ])("ignores %s", (_, ch, message) => {
    expect(parseProgress(ch, message)).toBeUndefined();
  });
});
