import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { picturePlan, type TranscodeOptions, transcodeArgs } from "../ffmpeg/args.ts";
import { pictureFilter } from "../ffmpeg/picture.ts";
import { execCommand } from "../ffmpeg/exec.ts";
import { runFfmpeg } from "../ffmpeg/run.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { probe } from "../probe/probe.ts";
import { encodeSegmented } from "../segments/encode.ts";
import { combineEncoderStats, hasEncoderStats, parseEncoderStats, withEncoderStats } from "./encoder-stats.ts";
import { measureQuality } from "./measure.ts";

describe("reading the encoder's own statistics", () => {
  it("reads x264's SSIM, global PSNR and frame count from its closing lines", () => {
    const err = [
      "[libx264 @ 0x56] frame I:1     Avg QP:16.01  size: 19588  PSNR Mean Y:46.05 U:46.51 V:45.93 Avg:46.10 Global:46.10",
      "[libx264 @ 0x56] frame P:117   Avg QP:23.21  size:  7772  PSNR Mean Y:45.17 U:44.47 V:44.66 Avg:44.95 Global:44.93",
      "[libx264 @ 0x56] frame B:122   Avg QP:30.06  size:  2933  PSNR Mean Y:43.95 U:43.66 V:42.67 Avg:43.66 Global:43.65",
      "[libx264 @ 0x56] SSIM Mean Y:0.9933710 (21.785db)",
      "[libx264 @ 0x56] PSNR Mean Y:44.549 U:44.064 V:43.653 Avg:44.299 Global:44.238 kb/s:1286.76",
    ].join("\n");
    expect(parseEncoderStats(err)).toEqual({ ssim: 0.993371, psnr: 44.238, frames: 240 });
  });
  it("reads x265's closing line", () => {
    const err =
      "x265 [info]: frame B:     47, Avg QP:35.03  kb/s: 320.59    PSNR Mean: Y:42.864 U:43.019 V:39.839  SSIM Mean: 0.991716 (20.818dB)\n" +
      "encoded 60 frames in 1.30s (46.04 fps), 710.14 kb/s, Avg QP:34.02, Global PSNR: 42.973, SSIM Mean Y: 0.9921403 (21.046 dB)\n";
    expect(parseEncoderStats(err)).toEqual({ ssim: 0.9921403, psnr: 42.973, frames: 60 });
  });
  it("reports nothing when the summary is missing or incomplete", () => {
    expect(parseEncoderStats("frame=  240 fps= 81 q=-1.0 size=1261kB")).toBeUndefined();
    expect(parseEncoderStats("[libx264 @ 0x1] SSIM Mean Y:0.99 (20db)")).toBeUndefined();
  });
  it("combines segments: SSIM weighted by frames, PSNR through the summed error", () => {
    const c = combineEncoderStats([
      { ssim: 0.99, psnr: 40, frames: 100 },
      { ssim: 0.97, psnr: 30, frames: 100 },
    ]);
    expect(c?.frames).toBe(200);
    expect(c?.ssim).toBeCloseTo(0.98, 10);
    // MSE ratios 1e-4 and 1e-3 average to 5.5e-4: 32.596 dB, not the 35 dB a plain mean gives.
    expect(c?.psnr).toBeCloseTo(32.596, 3);
    expect(combineEncoderStats([{ ssim: 1, psnr: Number.POSITIVE_INFINITY, frames: 5 }])?.psnr).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(combineEncoderStats([])).toBeUndefined();
  });
  it.each([
    { family: "cpu", codec: "h264", want: true },
    { family: "cpu", codec: "hevc", want: true },
    { family: "cpu", codec: "av1", want: false },
    { family: "nvenc", codec: "h264", want: false },
    { family: "vaapi", codec: "hevc", want: false },
  ] as const)("$family $codec has its own statistics: $want", ({ family, codec, want }) => {
    expect(hasEncoderStats(family, codec)).toBe(want);
  });
  it("merges x265's statistics into its one -x265-params", () => {
    expect(withEncoderStats(["-c:v", "libx265", "-x265-params", "log-level=error"], "hevc")).toEqual([
      "-c:v",
      "libx265",
      "-x265-params",
      "log-level=info:ssim=1:psnr=1",
    ]);
    expect(withEncoderStats(["-c:v", "libx264"], "h264")).toEqual([
      "-c:v",
      "libx264",
      "-ssim",
      "1",
      "-flags:v",
      "+psnr",
    ]);
  });
});

describe("statistics measured in the encode pass (real ffmpeg)", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  let base: Omit<TranscodeOptions, "output" | "codec">;
  const src = () => join(tmp.dir, "src.mp4");
  // An untagged 640x360 clip is taken as BT.601 and converted (ffmpeg/picture.ts): the comparison
  // runs the same chain on the source.
  const REFERENCE = pictureFilter(
    picturePlan({ source: { demuxer: "mov", width: 640, height: 360, videoCodec: "h264", hasAudio: true } }),
    { width: 640, height: 360 },
  );
  beforeAll(async () => {
    tmp = await makeTempDir("reel-encstats-");
    await makeTestClip(src(), { seconds: 4, width: 640, height: 360, fps: 25, gop: 25, extra: ["-crf", "12"] });
    const p = await probe(src());
    base = {
      input: src(),
      source: { demuxer: p.demuxer, width: 640, height: 360, videoCodec: "h264", hasAudio: true },
      quality: "480p",
      preset: "fast",
      level: 5,
      encoder: "cpu",
      threads: 2,
      bitexact: true,
    };
  });
  afterAll(() => tmp.cleanup());

  /** MD5 of the decoded pictures: x265 writes its settings into an SEI, so the files differ there. */
  const pictures = async (path: string) => {
    const r = await execCommand("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v", "-f", "md5", "-"]);
    expect(r.code).toBe(0);
    return r.stdout.trim();
  };

  it.each(["h264", "hevc"] as const)(
    "%s: the same pictures as without statistics, and the scores of a separate comparison",
    async (codec) => {
      const plain = join(tmp.dir, `plain-${codec}.mp4`);
      const measured = join(tmp.dir, `measured-${codec}.mp4`);
      await runFfmpeg(transcodeArgs({ ...base, codec, output: plain }));
      const r = await runFfmpeg(transcodeArgs({ ...base, codec, output: measured, encoderStats: true }));
      expect(await pictures(measured)).toMatch(/^MD5=[0-9a-f]{32}$/);
      expect(await pictures(measured)).toBe(await pictures(plain));
      const stats = parseEncoderStats(r.stderr);
      expect(stats?.frames).toBe(100);
      const compared = await measureQuality(
        { path: measured, demuxer: "mov" },
        { path: src(), demuxer: "mov" },
        {
          width: 640,
          height: 360,
          vmaf: false,
          // The encoder scores what it was given: the source after the encode's picture chain.
          referenceFilter: REFERENCE,
        },
      );
      expect(Math.abs((stats?.ssim ?? 0) - compared.ssim)).toBeLessThan(0.002);
      expect(Math.abs((stats?.psnr ?? 0) - compared.psnr)).toBeLessThan(0.5);
    },
  );

  it("segments' statistics combine to those of the whole episode", async () => {
    const work = join(tmp.dir, "work");
    await mkdir(work);
    const out = join(tmp.dir, "seg.mp4");
    const { threads: _, bitexact: __, ...settings } = base;
    const r = await encodeSegmented({ ...settings, codec: "h264", encoderStats: true }, out, {
      workDir: work,
      startTimeSecs: 0,
      durationSecs: 4,
      segmentSecs: 1,
      concurrency: 2,
      cores: 2,
    });
    expect(r.segments.length).toBe(4);
    expect(r.stats?.frames).toBe(100);
    const compared = await measureQuality(
      { path: out, demuxer: "mov" },
      { path: src(), demuxer: "mov" },
      {
        width: 640,
        height: 360,
        vmaf: false,
        referenceFilter: REFERENCE,
      },
    );
    expect(Math.abs((r.stats?.ssim ?? 0) - compared.ssim)).toBeLessThan(0.002);
    expect(Math.abs((r.stats?.psnr ?? 0) - compared.psnr)).toBeLessThan(0.5);
  });
});
