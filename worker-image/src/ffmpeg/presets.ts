// Compression presets: (codec, encoder family, preset, level) -> encoder arguments.
// Level 1 is the best quality, 9 the smallest file; every family's quality knob moves
// monotonically with the level (a higher level never asks for more quality).
import { ReelError, type VideoJobSpec } from "@reel/crds";
import type { VideoCodec } from "./ladder.ts";

export type CompressionPreset = VideoJobSpec["compression"]["preset"];
export type EncoderFamily = "cpu" | "nvenc" | "vaapi" | "qsv" | "videotoolbox";

/** Encoder names per family and codec; undefined where ffmpeg 5.1 has none. */
export const encoderNames: Record<EncoderFamily, Partial<Record<VideoCodec, string>>> = {
  cpu: { h264: "libx264", hevc: "libx265", av1: "libsvtav1" },
  nvenc: { h264: "h264_nvenc", hevc: "hevc_nvenc", av1: "av1_nvenc" },
  vaapi: { h264: "h264_vaapi", hevc: "hevc_vaapi", av1: "av1_vaapi" },
  qsv: { h264: "h264_qsv", hevc: "hevc_qsv", av1: "av1_qsv" },
  videotoolbox: { h264: "h264_videotoolbox", hevc: "hevc_videotoolbox" },
};

export function encoderName(family: EncoderFamily, codec: VideoCodec): string {
  const name = encoderNames[family][codec];
  if (!name) throw new ReelError("REEL_ENCODER_UNAVAILABLE", `no ${family} encoder for ${codec}`);
  return name;
}

/** The quality value for a level: base at level 1, `step` per level (negative when higher is better). */
function knob(base: number, step: number, level: number): number {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new ReelError("REEL_INVALID_ARGUMENT", `compression level ${level} is not an integer in 1..9`);
  }
  return base + step * (level - 1);
}

export interface QualityKnob {
  /** Option name, e.g. "-crf". */
  option: string;
  value: number;
  /** +1 when a larger value means smaller files (CRF, CQ, QP), -1 when it means better quality (-q:v). */
  direction: 1 | -1;
}

// Bases were picked so level 5 ("balanced" default) lands near each encoder's usual default.
export function qualityKnob(codec: VideoCodec, family: EncoderFamily, level: number): QualityKnob {
  switch (family) {
    case "cpu":
      if (codec === "h264") return { option: "-crf", value: knob(18, 2, level), direction: 1 }; // 18..34
      if (codec === "hevc") return { option: "-crf", value: knob(20, 2, level), direction: 1 }; // 20..36
      return { option: "-crf", value: knob(24, 3, level), direction: 1 }; // svt-av1 24..48
    case "nvenc":
      return { option: "-cq", value: knob(19, 2, level), direction: 1 }; // 19..35
    case "vaapi":
      return { option: "-qp", value: knob(20, 2, level), direction: 1 };
    case "qsv":
      return { option: "-global_quality", value: knob(20, 2, level), direction: 1 };
    case "videotoolbox":
      return { option: "-q:v", value: knob(75, -5, level), direction: -1 }; // 75..35, higher is better
  }
}

/** Speed/efficiency preset per family: fast encodes quickly, small spends time for smaller files. */
export function speedArgs(codec: VideoCodec, family: EncoderFamily, preset: CompressionPreset): string[] {
  switch (family) {
    case "cpu":
      if (codec === "av1") return ["-preset", { fast: "10", balanced: "8", small: "5" }[preset]];
      return ["-preset", { fast: "veryfast", balanced: "medium", small: "slow" }[preset]];
    case "nvenc":
      return ["-preset", { fast: "p2", balanced: "p5", small: "p7" }[preset], "-tune", "hq"];
    case "qsv":
      return ["-preset", { fast: "veryfast", balanced: "medium", small: "veryslow" }[preset]];
    case "vaapi":
      // VAAPI's speed/quality trade-off is -compression_level (driver-specific, lower = better).
      return ["-compression_level", { fast: "7", balanced: "4", small: "1" }[preset]];
    case "videotoolbox":
      return preset === "fast" ? ["-realtime", "1"] : [];
  }
}

/** Encoder-specific rate-control arguments for one (codec, family, preset, level), with peak caps. */
export function encoderArgs(opts: {
  codec: VideoCodec;
  family: EncoderFamily;
  preset: CompressionPreset;
  level: number;
  maxrateK: number;
  bufsizeK: number;
}): string[] {
  const { codec, family, preset, level } = opts;
  const q = qualityKnob(codec, family, level);
  const caps = ["-maxrate", `${opts.maxrateK}k`, "-bufsize", `${opts.bufsizeK}k`];
  const args = ["-c:v", encoderName(family, codec), ...speedArgs(codec, family, preset)];
  switch (family) {
    case "cpu":
      args.push(q.option, String(q.value), ...caps);
      // x265 and SVT-AV1 print per-run banners to stderr; keep stderr for real errors. info=0: x265
      // otherwise writes its whole settings string into the parameter sets (hvcC), so two episodes
      // encoded with any different option (CRF, statistics, HDR10) could never be joined.
      if (codec === "hevc") args.push("-x265-params", "log-level=error:info=0");
      break;
    case "nvenc":
      // -b:v 0 lets -cq drive VBR; the cap still bounds peaks.
      args.push("-rc", "vbr", q.option, String(q.value), "-b:v", "0", ...caps);
      break;
    case "vaapi":
      // Constant QP is the one rate control every VAAPI driver implements; caps do not apply to it.
      args.push("-rc_mode", "CQP", q.option, String(q.value));
      break;
    case "qsv":
      args.push(q.option, String(q.value), ...caps);
      break;
    case "videotoolbox":
      args.push(q.option, String(q.value), ...caps);
      break;
  }
  return args;
}
