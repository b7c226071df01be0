import { describe, expect, it } from "vitest";
import type { VideoCodec } from "./ladder.ts";
import { type EncoderFamily, encoderArgs, encoderNames, qualityKnob } from "./presets.ts";

const families: EncoderFamily[] = ["cpu", "nvenc", "vaapi", "qsv", "videotoolbox"];
const codecs: VideoCodec[] = ["h264", "hevc", "av1"];

describe("qualityKnob", () => {
  for (const family of families) {
    for (const codec of codecs) {
      if (!encoderNames[family][codec]) continue;
      it(`${family}/${codec}: a higher level never asks for more quality`, () => {
        for (let level = 2; level <= 9; level++) {
          const prev = qualityKnob(codec, family, level - 1);
          const cur = qualityKnob(codec, family, level);
          expect((cur.value - prev.value) * cur.direction).toBeGreaterThan(0);
        }
      });
    }
  }
  it("refuses levels outside 1..9", () => {
    expect(() => qualityKnob("h264", "cpu", 0)).toThrow(/level 0/);
    expect(() => qualityKnob("h264", "cpu", 10)).toThrow(/level 10/);
    expect(() => qualityKnob("h264", "cpu", 2.5)).toThrow(/level 2.5/);
  });
});

describe("encoderArgs", () => {
  const base = { maxrateK: 5000, bufsizeK: 10000 };
  const cases: Array<{ name: string; opts: Parameters<typeof encoderArgs>[0]; want: string[] }> = [
    {
      name: "x264 balanced level 5 -> medium, CRF 26, capped",
      opts: { codec: "h264", family: "cpu", preset: "balanced", level: 5, ...base },
      want: ["-c:v", "libx264", "-preset", "medium", "-crf", "26", "-maxrate", "5000k", "-bufsize", "10000k"],
    },
    {
      name: "x265 small level 1 -> slow, CRF 20, quiet log",
      opts: { codec: "hevc", family: "cpu", preset: "small", level: 1, ...base },
      want: ["-c:v", "libx265", "-preset", "slow", "-crf", "20", "-maxrate", "5000k", "-bufsize", "10000k"].concat([
        "-x265-params",
        "log-level=error:info=0",
      ]),
    },
    {
      name: "svt-av1 fast level 9 -> preset 10, CRF 48",
      opts: { codec: "av1", family: "cpu", preset: "fast", level: 9, ...base },
      want: ["-c:v", "libsvtav1", "-preset", "10", "-crf", "48", "-maxrate", "5000k", "-bufsize", "10000k"],
    },
    {
      name: "nvenc h264 balanced -> p5 hq, VBR with CQ and -b:v 0",
      opts: { codec: "h264", family: "nvenc", preset: "balanced", level: 5, ...base },
      want: ["-c:v", "h264_nvenc", "-preset", "p5", "-tune", "hq", "-rc", "vbr", "-cq", "27", "-b:v", "0"].concat([
        "-maxrate",
        "5000k",
        "-bufsize",
        "10000k",
      ]),
    },
    {
      name: "nvenc av1 small -> p7",
      opts: { codec: "av1", family: "nvenc", preset: "small", level: 1, ...base },
      want: ["-c:v", "av1_nvenc", "-preset", "p7", "-tune", "hq", "-rc", "vbr", "-cq", "19", "-b:v", "0"].concat([
        "-maxrate",
        "5000k",
        "-bufsize",
        "10000k",
      ]),
    },
    {
      name: "vaapi hevc -> constant QP",
      opts: { codec: "hevc", family: "vaapi", preset: "balanced", level: 3, ...base },
      want: ["-c:v", "hevc_vaapi", "-compression_level", "4", "-rc_mode", "CQP", "-qp", "24"],
    },
    {
      name: "qsv h264 -> ICQ via global_quality",
      opts: { codec: "h264", family: "qsv", preset: "fast", level: 5, ...base },
      want: ["-c:v", "h264_qsv", "-preset", "veryfast", "-global_quality", "28", "-maxrate", "5000k"].concat([
        "-bufsize",
        "10000k",
      ]),
    },
    {
      name: "videotoolbox hevc -> q:v, higher is better",
      opts: { codec: "hevc", family: "videotoolbox", preset: "balanced", level: 2, ...base },
      want: ["-c:v", "hevc_videotoolbox", "-q:v", "70", "-maxrate", "5000k", "-bufsize", "10000k"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => expect(encoderArgs(c.opts)).toEqual(c.want));
  }
  it("refuses av1 on videotoolbox with REEL_ENCODER_UNAVAILABLE", () => {
    expect(() => encoderArgs({ codec: "av1", family: "videotoolbox", preset: "fast", level: 1, ...base })).toThrow(
      /no videotoolbox encoder for av1/,
    );
  });
});
