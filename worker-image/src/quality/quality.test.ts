import { join } from "node:path";
import type { ReelError } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFfmpeg } from "../ffmpeg/run.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { comparisonGraph, measureQuality } from "./measure.ts";
import { hasFilter, parsePsnr, parseSsim, parseVmaf } from "./parse.ts";
import { findLevelForTarget, highestPassingLevel, sampleWindows } from "./target.ts";

describe("comparisonGraph", () => {
  it("runs the encode's own picture chain on the reference when given, a plain scale otherwise", () => {
    expect(comparisonGraph(640, 360, false)).toContain(
      "[1:v]setpts=PTS-STARTPTS,scale=640:360:flags=bicubic,format=yuv420p,",
    );
    expect(comparisonGraph(640, 360, false, "bwdif,zscale=w=640:h=360")).toContain(
      "[1:v]setpts=PTS-STARTPTS,bwdif,zscale=w=640:h=360,format=yuv420p,split=2[r0][r1]",
    );
  });
});

describe("parsing filter summaries", () => {
  it("reads SSIM of the luma plane, PSNR average (inf included) and VMAF score", () => {
    const err = [
      "[Parsed_ssim_4 @ 0x5] SSIM Y:0.995360 (23.334) U:0.993 (21.6) V:0.992 (21.2) All:0.994508 (22.602)",
      "[Parsed_psnr_5 @ 0x6] PSNR y:41.21 u:44.01 v:44.15 average:42.003411 min:39.90 max:45.12",
      "[Parsed_libvmaf_8 @ 0x7] VMAF score: 95.123456",
    ].join("\n");
    expect([parseSsim(err), parsePsnr(err), parseVmaf(err)]).toEqual([0.99536, 42.003411, 95.123456]);
    expect(parsePsnr("PSNR y:inf u:inf v:inf average:inf min:inf max:inf")).toBe(Number.POSITIVE_INFINITY);
    expect(parseSsim("nothing")).toBeUndefined();
  });
  it("finds a filter in `ffmpeg -filters` output", () => {
    const out =
      " ... ssim              VV->V      Calculate the SSIM.\n TSC libvmaf           VV->V      Calculate VMAF.\n";
    expect(hasFilter(out, "libvmaf")).toBe(true);
    expect(hasFilter(" ... ssim  VV->V x\n", "libvmaf")).toBe(false);
  });
});

describe("sampleWindows and the level search", () => {
  it("spreads windows over the file, one window for short files", () => {
    expect(sampleWindows(60, 3, 2)).toEqual([
      { start: 14, duration: 2 },
      { start: 29, duration: 2 },
      { start: 44, duration: 2 },
    ]);
    expect(sampleWindows(3, 3, 2)).toEqual([{ start: 0, duration: 2 }]);
  });
  const cases = [
    { name: "all levels pass -> 9", passing: 9, want: 9 },
    { name: "levels up to 6 pass -> 6", passing: 6, want: 6 },
    { name: "only level 1 passes -> 1", passing: 1, want: 1 },
    { name: "nothing passes -> undefined", passing: 0, want: undefined },
  ];
  for (const c of cases) {
    it(`${c.name} in at most four probes`, async () => {
      const probed: number[] = [];
      const got = await highestPassingLevel(async (l) => {
        probed.push(l);
        return l <= c.passing;
      });
      expect(got).toBe(c.want);
      expect(probed.length).toBeLessThanOrEqual(4);
    });
  }
});

describe("quality on real encodes", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  let src: string;
  const sourceInfo = { demuxer: "mov", width: 320, height: 240, videoCodec: "h264", hasAudio: false };
  beforeAll(async () => {
    tmp = await makeTempDir("reel-quality-");
    src = join(tmp.dir, "src.mp4");
    await makeTestClip(src, { seconds: 3, audio: false, extra: ["-crf", "10"] });
  });
  afterAll(() => tmp.cleanup());

  it("scores a clip against itself as perfect, and a smaller, blurrier encode lower", async () => {
    const self = await measureQuality(
      { path: src, demuxer: "mov" },
      { path: src, demuxer: "mov" },
      {
        width: 320,
        height: 240,
      },
    );
    expect(self.ssim).toBe(1);
    expect(self.psnr).toBe(Number.POSITIVE_INFINITY);
    expect(self.vmafUnavailable).toBe("ffmpeg has no libvmaf");
    const small = join(tmp.dir, "small.mp4");
    await runFfmpeg(["-i", src, "-vf", "scale=160:120", "-c:v", "libx264", "-crf", "40", "-y", small]);
    const worse = await measureQuality(
      { path: small, demuxer: "mov" },
      { path: src, demuxer: "mov" },
      {
        width: 160,
        height: 120,
        windows: [{ start: 0.5, duration: 1 }],
      },
    );
    expect(worse.ssim).toBeLessThan(0.99);
    expect(worse.ssim).toBeGreaterThan(0.5);
    expect(worse.psnr).toBeLessThan(40);
    expect(worse.comparedSecs).toBe(1);
  });

  it("picks the highest level meeting an SSIM target, and refuses an unreachable one", async () => {
    const base = {
      source: src,
      sourceInfo,
      durationSecs: 3,
      quality: "480p" as const,
      codec: "h264" as const,
      preset: "fast" as const,
      encoder: "cpu" as const,
      workDir: tmp.dir,
      windows: [{ start: 0.5, duration: 1 }],
    };
    const choice = await findLevelForTarget({ ...base, target: { metric: "ssim", score: 0.97 } });
    expect(choice.level).toBeGreaterThanOrEqual(1);
    expect(choice.score).toBeGreaterThanOrEqual(0.97);
    const above = choice.tried.find((t) => t.level === choice.level + 1);
    if (above) expect(above.score).toBeLessThan(0.97);
    const err = await findLevelForTarget({ ...base, target: { metric: "ssim", score: 0.99999 } }).catch((e) => e);
    expect((err as ReelError).code).toBe("REEL_QUALITY_TARGET_UNREACHABLE");
    const vmaf = await findLevelForTarget({ ...base, target: { metric: "vmaf", score: 90 } }).catch((e) => e);
    expect((vmaf as ReelError).message).toMatch(/libvmaf/);
  });
});
