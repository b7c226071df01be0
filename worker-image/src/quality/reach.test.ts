import { parseVideoJob, type VideoJobSpec } from "@reel/crds";
import { describe, expect, it } from "vitest";
import type { Encoded } from "../pipeline/stages.ts";
import { mergedQuality, wantsVmaf } from "./episode.ts";
import { atLevel, encodeToTarget } from "./reach.ts";
import { findVmafBinaries } from "./vmaf.ts";

function spec(over: Record<string, unknown> = {}): VideoJobSpec {
  return parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "t" },
    spec: { episodes: [{ url: "https://a.example/x.mp4" }], output: { local: { path: "/x" } }, ...over },
  }).spec;
}

const ctx = { signal: new AbortController().signal, progress: () => {} };
const probe = { durationSecs: 10, width: 1920, height: 1080, fps: 25, hasAudio: true };

/** A fake encode stage: VMAF by level from `scores`; the first call reports the sample search's choice. */
function fakeEncode(scores: Record<number, number>, sampleLevel: number) {
  const calls: Array<{ level: number; target: boolean; metrics: string[] }> = [];
  const encode = async (_s: string, _p: unknown, _o: string, sp: VideoJobSpec): Promise<Encoded> => {
    const searched = sp.compression.targetQuality !== undefined;
    const level = searched ? sampleLevel : sp.compression.level;
    calls.push({ level, target: searched, metrics: sp.qualityMetrics });
    const vmaf = scores[level] ?? 0;
    const target = searched
      ? { metric: "vmaf" as const, score: 93, sampleLevel, sampleScore: 93.4, level, encodes: 1, reached: vmaf >= 93 }
      : undefined;
    return { encoder: "libx264", quality: { ssim: 0.98, psnr: 40, vmaf, ...(target ? { target } : {}) } };
  };
  return { encode, calls };
}

describe("a quality target checked on the whole episode", () => {
  const s = spec({ compression: { targetQuality: { metric: "vmaf", score: 93 } } });

  it("keeps the level the samples chose when the whole episode reaches the target", async () => {
    const f = fakeEncode({ 6: 93.2 }, 6);
    const enc = await encodeToTarget(f.encode, "src", probe, "out", s, ctx);
    expect(f.calls).toHaveLength(1);
    expect(enc.quality?.target).toMatchObject({ sampleLevel: 6, level: 6, encodes: 1, reached: true });
  });

  it("encodes again a level lower each time the whole episode misses, without searching again", async () => {
    const f = fakeEncode({ 6: 92.1, 5: 92.8, 4: 93.6 }, 6);
    const enc = await encodeToTarget(f.encode, "src", probe, "out", s, ctx);
    expect(f.calls.map((c) => [c.level, c.target])).toEqual([
      [6, true],
      [5, false],
      [4, false],
    ]);
    expect(f.calls[1]?.metrics).toContain("vmaf");
    expect(enc.quality?.vmaf).toBe(93.6);
    expect(enc.quality?.target).toMatchObject({
      sampleLevel: 6,
      sampleScore: 93.4,
      level: 4,
      encodes: 3,
      reached: true,
    });
  });

  it("stops at level 1 and says the target was not reached", async () => {
    const f = fakeEncode({ 2: 90, 1: 91 }, 2);
    const enc = await encodeToTarget(f.encode, "src", probe, "out", s, ctx);
    expect(f.calls.map((c) => c.level)).toEqual([2, 1]);
    expect(enc.quality?.target).toMatchObject({ level: 1, encodes: 2, reached: false });
  });

  it("passes an episode without a target through untouched", async () => {
    const f = fakeEncode({ 5: 80 }, 5);
    const enc = await encodeToTarget(f.encode, "src", probe, "out", spec(), ctx);
    expect(f.calls).toHaveLength(1);
    expect(enc.quality?.target).toBeUndefined();
  });

  it("re-encodes at a fixed level with the target's metric measured", () => {
    const a = atLevel(spec({ compression: { targetQuality: { metric: "vmaf", score: 93 } } }), 3, "vmaf");
    expect(a.compression).toMatchObject({ level: 3 });
    expect(a.compression.targetQuality).toBeUndefined();
    expect(a.qualityMetrics).toEqual(["ssim", "psnr", "vmaf"]);
    expect(atLevel(spec(), 2, "ssim").qualityMetrics).toEqual(["ssim", "psnr"]);
  });
});

describe("what the job measures", () => {
  it("asks for VMAF when qualityMetrics list it or a VMAF target needs it", () => {
    expect(wantsVmaf(spec())).toBe(false);
    expect(spec().qualityMetrics).toEqual(["ssim", "psnr"]);
    expect(wantsVmaf(spec({ qualityMetrics: ["ssim", "vmaf"] }))).toBe(true);
    expect(wantsVmaf(spec({ compression: { targetQuality: { metric: "vmaf", score: 90 } } }))).toBe(true);
    expect(wantsVmaf(spec({ compression: { targetQuality: { metric: "ssim", score: 0.98 } } }))).toBe(false);
  });

  it("scores the merged file as its episodes weighted by length (PSNR through the summed error)", () => {
    const q = mergedQuality([
      { durationSecs: 30, quality: { ssim: 0.99, psnr: 40, vmaf: 95 } },
      { durationSecs: 10, quality: { ssim: 0.95, psnr: 30, vmaf: 85 } },
    ]);
    expect(q?.method).toBe("episodes");
    expect(q?.ssim).toBeCloseTo(0.98, 6);
    expect(q?.vmaf).toBeCloseTo(92.5, 6);
    // MSE 1e-4 x 30 + 1e-3 x 10 over 40 s = 3.25e-4 -> 34.88 dB (a plain mean of dB would say 37.5).
    expect(q?.psnr).toBeCloseTo(34.88, 2);
    // An episode without VMAF: the merged file has none; an unscored episode: no merged scores.
    expect(mergedQuality([{ durationSecs: 5, quality: { ssim: 0.9, psnr: 30 } }])?.vmaf).toBeUndefined();
    expect(mergedQuality([{ durationSecs: 5, quality: { ssim: 0.9, psnr: 30 } }, { durationSecs: 5 }])).toBeUndefined();
  });

  it("finds the wheel's ffmpeg through yt-dlp's venv on PATH, as in the worker image", () => {
    const here = findVmafBinaries();
    expect(here).toBeDefined();
    const venv = (here?.ffmpeg ?? "").split("/lib/")[0] ?? "";
    expect(findVmafBinaries({ venv: "/nonexistent", ytDlp: "yt-dlp", path: `/usr/bin:${venv}/bin` })).toEqual(here);
    expect(findVmafBinaries({ venv: "/nonexistent", ytDlp: "yt-dlp", path: "/usr/bin" })).toBeUndefined();
  });
});
