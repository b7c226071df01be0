import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { countFrames } from "../probe/frames.ts";
import { probe } from "../probe/probe.ts";
import { measureQuality } from "../quality/measure.ts";
import { type EncodeSettings, encodeSegmented, encodeWhole } from "./encode.ts";
import { ffmpegConcatJoin, type Joiner, nativeMergeAvailable } from "./join.ts";

const hasNative = await nativeMergeAvailable();

describe("segment-parallel encoding (real ffmpeg)", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  let src: string;
  let settings: EncodeSettings;
  beforeAll(async () => {
    tmp = await makeTempDir("reel-seg-");
    src = join(tmp.dir, "src.mp4");
    await makeTestClip(src, { seconds: 6, fps: 25, gop: 25, extra: ["-crf", "12"] });
    const p = await probe(src);
    settings = {
      input: src,
      source: {
        demuxer: p.demuxer,
        width: p.video.width,
        height: p.video.height,
        videoCodec: p.video.codec,
        hasAudio: p.hasAudio,
      },
      quality: "480p",
      codec: "h264",
      preset: "fast",
      level: 5,
      encoder: "cpu",
    };
  });
  afterAll(() => tmp.cleanup());

  async function segmented(name: string, joiner?: Joiner) {
    const work = join(tmp.dir, `work-${name}`);
    await (await import("node:fs/promises")).mkdir(work);
    return encodeSegmented(settings, join(tmp.dir, `${name}.mp4`), {
      workDir: work,
      startTimeSecs: 0,
      durationSecs: 6,
      segmentSecs: 2,
      concurrency: 3,
      joiner,
    });
  }

  it("3 parallel segments keep the exact frame count and the SSIM of a single-process encode", async () => {
    const whole = await encodeWhole(settings, join(tmp.dir, "whole.mp4"));
    const seg = await segmented("seg");
    // The Rust merge whenever its binding is built (CI builds it first).
    expect(seg.joinedWith).toBe(hasNative ? "native" : "ffmpeg-concat");
    expect(seg.segments.map((s) => s.frames)).toEqual([50, 50, 50]);
    expect(await countFrames(src)).toBe(150);
    expect(await countFrames(whole.output)).toBe(150);
    expect(await countFrames(seg.output)).toBe(150);
    const ref = { path: src, demuxer: "mov" };
    const size = { width: 320, height: 240 };
    const qWhole = await measureQuality({ path: whole.output, demuxer: "mov" }, ref, size);
    const qSeg = await measureQuality({ path: seg.output, demuxer: "mov" }, ref, size);
    expect(Math.abs(qWhole.ssim - qSeg.ssim)).toBeLessThan(0.002);
    const out = await probe(seg.output);
    expect(out.hasAudio).toBe(true);
    expect(out.audio?.sampleRate).toBe(48000);
    expect(out.durationSecs).toBeCloseTo(6, 1);
  });

  it("the ffmpeg concat stand-in join keeps the frame count too", async () => {
    const seg = await segmented("concat", ffmpegConcatJoin());
    expect(seg.joinedWith).toBe("custom");
    expect(await countFrames(seg.output)).toBe(150);
  });
});
