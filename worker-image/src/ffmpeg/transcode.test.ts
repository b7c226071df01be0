import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execCommand } from "./exec.ts";
import { transcodeArgs } from "./args.ts";
import type { VideoCodec } from "./ladder.ts";
import { runFfmpeg } from "./run.ts";
import { makeTempDir, makeTestClip } from "./test-media.ts";

describe("transcodeArgs on the CPU path (real ffmpeg)", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  let src: string;
  beforeAll(async () => {
    tmp = await makeTempDir("reel-transcode-");
    src = join(tmp.dir, "src.mp4");
    await makeTestClip(src, { seconds: 1, width: 1280, height: 720, extra: ["-metadata", "title=private title"] });
  });
  afterAll(() => tmp.cleanup());

  const codecs: Array<[VideoCodec, string, string]> = [
    ["h264", "h264", "avc1"],
    ["hevc", "hevc", "hvc1"],
    ["av1", "av1", "av01"],
  ];
  for (const [codec, codecName, tag] of codecs) {
    it(`encodes ${codec} at 480p with AAC 48 kHz stereo and no source metadata`, async () => {
      const out = join(tmp.dir, `${codec}.mp4`);
      const source = { demuxer: "mov", width: 1280, height: 720, videoCodec: "h264", hasAudio: true };
      const args = transcodeArgs({
        input: src,
        output: out,
        source,
        quality: "480p",
        codec,
        preset: "fast",
        level: 7,
        encoder: "cpu",
        threads: 2,
      });
      await runFfmpeg(args, { durationSecs: 1 });
      const r = await execCommand("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", out]);
      const info = JSON.parse(r.stdout) as {
        streams: Array<Record<string, unknown>>;
        format: { tags?: Record<string, string> };
      };
      const [v, a] = info.streams;
      expect(v).toMatchObject({
        codec_name: codecName,
        codec_tag_string: tag,
        width: 854,
        height: 480,
        pix_fmt: "yuv420p",
      });
      expect(v?.nb_frames).toBe("25");
      expect(a).toMatchObject({ codec_name: "aac", sample_rate: "48000", channels: 2 });
      expect(info.format.tags?.title).toBeUndefined();
    });
  }
});
