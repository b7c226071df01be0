import { describe, expect, it } from "vitest";
import { parseEbur128, planLoudness, soundFilter } from "./sound.ts";

const target = { integrated: -16, truePeak: -1.5 };
const measured = (integrated: number, truePeak: number, lra = 6) => ({
  integrated,
  threshold: integrated - 10,
  lra,
  truePeak,
});

describe("planLoudness", () => {
  it.each([
    ["a quiet episode is raised by one gain", measured(-30, -20), "linear", 14],
    ["a loud episode is lowered by one gain", measured(-8, -0.2), "linear", -8],
    ["a quiet episode with loud peaks is raised with the limiter", measured(-28, -3), "limited", 12],
    ["silence is left alone", measured(Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY), "none", 0],
    ["a near-silent episode is left alone", measured(-75, -60), "none", 0],
  ])("%s", (_n, input, method, gainDb) => {
    expect(planLoudness(input, target)).toMatchObject({ method, gainDb });
  });
});

describe("soundFilter", () => {
  const layout = "aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo";
  const meter = "ebur128=framelog=verbose:peak=true";

  it("only converts layout and rate when loudness is off", () => {
    expect(soundFilter({ layout: "stereo" })).toBe(layout);
    expect(soundFilter({ layout: "5.1" })).toContain("channel_layouts=5.1");
  });

  it("applies a linear gain, then meters the result", () => {
    const loudness = planLoudness(measured(-30, -20), target);
    expect(soundFilter({ layout: "stereo", loudness })).toBe(`${layout},volume=14dB,${meter}`);
  });

  it("limits true peaks at 4x the rate when the gain would push them over the ceiling", () => {
    const loudness = planLoudness(measured(-28, -3, 25), target);
    expect(soundFilter({ layout: "stereo", loudness })).toBe(
      `${layout},aresample=192000,volume=12dB,alimiter=limit=0.8414:attack=1:release=10:level=false:latency=true,` +
        `${layout},${meter}`,
    );
  });
});

describe("parseEbur128", () => {
  it("reads the last summary ffmpeg printed", () => {
    const stderr = `[Parsed_ebur128_2 @ 0x1] Summary:

  Integrated loudness:
    I:         -21.8 LUFS
    Threshold: -31.8 LUFS

  Loudness range:
    LRA:        20.0 LU
    Threshold: -41.8 LUFS
    LRA low:   -41.8 LUFS
    LRA high:  -21.8 LUFS

  True peak:
    Peak:      -21.1 dBFS`;
    expect(parseEbur128(stderr)).toEqual({ integrated: -21.8, threshold: -31.8, lra: 20, truePeak: -21.1 });
  });

  it("reads silence as -inf and nothing as undefined", () => {
    const stderr =
      "Summary:\n  Integrated loudness:\n    I:         -70.0 LUFS\n    Threshold: -70.0 LUFS\n  Loudness range:\n    LRA:         0.0 LU\n  True peak:\n    Peak:       -inf dBFS";
    expect(parseEbur128(stderr)).toEqual({
      integrated: -70,
      threshold: -70,
      lra: 0,
      truePeak: Number.NEGATIVE_INFINITY,
    });
    expect(parseEbur128("no summary")).toBeUndefined();
  });
});
