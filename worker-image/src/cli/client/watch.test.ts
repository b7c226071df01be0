import { describe, expect, it } from "vitest";
import { episodeUpdate } from "./watch.ts";

describe("episodeUpdate", () => {
  it("takes the phase of a stage from the contract's stage table", () => {
    expect(episodeUpdate({ stage: "encode", progress: 61, phase: "Transcoding" })).toEqual({
      phase: "Transcoding",
      progress: 61,
    });
    // An older shim sent no phase: the stage table still names it.
    expect(episodeUpdate({ stage: "store", progress: 99 })).toEqual({ phase: "Uploading", progress: 99 });
  });

  it("says how an attempt ended on stage done, Completed when the pod did not say", () => {
    expect(episodeUpdate({ stage: "done", progress: 100, phase: "Failed" }).phase).toBe("Failed");
    expect(episodeUpdate({ stage: "done", progress: 100 }).phase).toBe("Completed");
  });

  it("keeps the percent within 0..100 and shows an unknown stage as Pending", () => {
    expect(episodeUpdate({ stage: "warp", progress: 140 })).toEqual({ phase: "Pending", progress: 100 });
  });
});
