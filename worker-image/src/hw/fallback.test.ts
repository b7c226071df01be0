import { ReelError } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { withFallback } from "./fallback.ts";
import type { EncodePlan, EncodeStep } from "./plan.ts";

const nvenc: EncodeStep = {
  family: "nvenc",
  encoder: "h264_nvenc",
  hwDecode: "cuda",
  vendor: "nvidia",
  device: undefined,
};
const x264: EncodeStep = { family: "cpu", encoder: "libx264", hwDecode: "none", vendor: undefined, device: undefined };
const auto: EncodePlan = { ...nvenc, fallbackChain: [nvenc, x264] };
const require: EncodePlan = { ...nvenc, fallbackChain: [nvenc] };

describe("withFallback", () => {
  it("retries on the CPU when the GPU encode fails, and records who produced the output", async () => {
    const r = await withFallback(auto, async (step) => {
      if (step.family === "nvenc") throw new ReelError("REEL_FFMPEG_FAILED", "OpenEncodeSessionEx failed");
      return "out.mp4";
    });
    expect(r.result).toBe("out.mp4");
    expect(r.step.encoder).toBe("libx264");
    expect(r.failures.map((f) => f.step.encoder)).toEqual(["h264_nvenc"]);
  });

  it("does not fall back to the CPU when the policy requires a GPU", async () => {
    const err = await withFallback(require, async () => {
      throw new ReelError("REEL_FFMPEG_FAILED", "OpenEncodeSessionEx failed\nmore");
    }).catch((e: unknown) => e);
    expect((err as ReelError).code).toBe("REEL_FFMPEG_FAILED");
    expect((err as ReelError).message).toBe("every encoder failed: h264_nvenc/cuda: OpenEncodeSessionEx failed");
  });

  it("stops at once on cancellation", async () => {
    let calls = 0;
    const err = await withFallback(auto, async () => {
      calls++;
      throw new ReelError("REEL_CANCELLED", "aborted");
    }).catch((e: unknown) => e);
    expect((err as ReelError).code).toBe("REEL_CANCELLED");
    expect(calls).toBe(1);
  });

  it("uses the first step when it works", async () => {
    const r = await withFallback(auto, async (s) => s.encoder);
    expect([r.result, r.failures.length]).toEqual(["h264_nvenc", 0]);
  });
});
