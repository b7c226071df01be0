import { describe, expect, it } from "vitest";
import { bufsizeK, ladder, targetSize } from "./ladder.ts";

describe("targetSize", () => {
  const cases = [
    { name: "downscales 1080p to 720p keeping 16:9", src: { width: 1920, height: 1080 }, q: "720p", want: [1280, 720] },
    { name: "never upscales a 480p source to 1080p", src: { width: 854, height: 480 }, q: "1080p", want: [854, 480] },
    {
      name: "bounds the short side of a portrait video",
      src: { width: 1080, height: 1920 },
      q: "720p",
      want: [720, 1280],
    },
    { name: "rounds odd results to even dimensions", src: { width: 1000, height: 750 }, q: "480p", want: [640, 480] },
    { name: "keeps odd-sized sources even", src: { width: 321, height: 241 }, q: "720p", want: [322, 242] },
    { name: "corrects anamorphic pixels", src: { width: 720, height: 576, sar: 64 / 45 }, q: "480p", want: [854, 480] },
    { name: "scales 4K to 2160p unchanged", src: { width: 3840, height: 2160 }, q: "2160p", want: [3840, 2160] },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const got = targetSize(c.src, c.q);
      expect([got.width, got.height]).toEqual(c.want);
    });
  }
});

describe("ladder", () => {
  it("raises every cap with the rung and spends fewer bits on newer codecs", () => {
    const rungs = [ladder["480p"], ladder["720p"], ladder["1080p"], ladder["2160p"]];
    for (let i = 1; i < rungs.length; i++) {
      const [lo, hi] = [rungs[i - 1], rungs[i]];
      expect(hi?.maxrateK.h264).toBeGreaterThan(lo?.maxrateK.h264 ?? 0);
      expect(hi?.audioBitrateK).toBeGreaterThanOrEqual(lo?.audioBitrateK ?? 0);
    }
    for (const r of rungs) {
      expect(r.maxrateK.hevc).toBeLessThan(r.maxrateK.h264);
      expect(r.maxrateK.av1).toBeLessThan(r.maxrateK.hevc);
    }
    expect(bufsizeK(5000)).toBe(10000);
  });
});
