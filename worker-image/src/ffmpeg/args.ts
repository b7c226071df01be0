// Typed, pure builders for ffmpeg argument arrays. Nothing here runs a process.
import { ReelError } from "@reel/crds";
import type { ProbeResult } from "../probe/parse.ts";
import { type InputLimits, inputArgs } from "./input.ts";
import { bufsizeK, ladder, type Quality, targetSize, type VideoCodec } from "./ladder.ts";
import { type HwDecode, type HwPipeline, hwPipeline } from "./hwargs.ts";
import { type CompressionPreset, type EncoderFamily, encoderArgs } from "./presets.ts";
import { hasEncoderStats, withEncoderStats } from "../quality/encoder-stats.ts";
import type { PictureTags } from "../probe/picture.ts";
import {
  colourArgs,
  defaultHdr10,
  hdr10EncoderParams,
  needsCpuFilters,
  type PicturePlan,
  pictureFilter,
  planPicture,
} from "./picture.ts";
import { channels, SAMPLE_RATE, type SoundPlan, soundBitrateK, soundFilter } from "./sound.ts";
import { audioTrackArgs, type EncodeAudioTrack } from "../encode/audio-tracks.ts";
import { sidecarInputArgs, type SidecarFile } from "../subtitles/sidecar.ts";
import { type SubtitleTrackPlan, subtitleArgs } from "../subtitles/tracks.ts";
import { burnFilter } from "../subtitles/burn.ts";

export interface SourceInfo {
  /** Pinned demuxer (from the probe). */
  demuxer: string;
  width: number;
  height: number;
  /** Sample aspect ratio as a number (1 for square pixels). */
  sar?: number;
  /** Clockwise turn the display matrix asks for (probe's `rotation`); width/height are as shown. */
  rotation?: number;
  videoCodec: string;
  bitDepth?: number;
  hasAudio: boolean;
  /** Colour and scan tags; untagged sources get the usual guesses (see ffmpeg/picture.ts). */
  picture?: PictureTags;
}

/** What the argument builders need to know of a probed source. */
export function sourceInfo(p: ProbeResult): SourceInfo {
  return {
    demuxer: p.demuxer,
    width: p.video.width,
    height: p.video.height,
    sar: p.video.sar,
    rotation: p.video.rotation,
    videoCodec: p.video.codec,
    bitDepth: p.video.bitDepth,
    hasAudio: p.hasAudio,
    picture: p.video.picture,
  };
}

export interface SegmentRange {
  /** Input seek in seconds, relative to the file's start_time (ffmpeg's -ss semantics). */
  startSecs?: number;
  durationSecs?: number;
  /** Exact number of video frames to write (wins over duration for video). */
  frames?: number;
}

export type AudioSettings = { mode: "encode"; bitrateK?: number } | { mode: "none" };

export interface TranscodeOptions {
  input: string;
  output: string;
  source: SourceInfo;
  quality: Quality;
  codec: VideoCodec;
  preset: CompressionPreset;
  level: number;
  encoder: EncoderFamily;
  hwDecode?: HwDecode;
  /** VAAPI/QSV render node. */
  device?: string;
  /** Default: encode when the source has audio. */
  audio?: AudioSettings;
  range?: SegmentRange;
  /** Fixed GOP in frames (scene-cut keyframes off), for segments that must line up. */
  keyframeIntervalFrames?: number;
  threads?: number;
  bitexact?: boolean;
  inputLimits?: InputLimits;
  /**
   * Force this exact picture size and frame rate (fit inside, pad the rest, square pixels): used to
   * normalise an episode to another's parameters before a lossless merge. CPU path only.
   */
  canvas?: { width: number; height: number; fps: number };
  /** Add silent stereo audio when the source has none (normalising to an episode with audio). */
  silentAudio?: boolean;
  /** Have the encoder print SSIM/PSNR of its own output (x264/x265 only: see quality/encoder-stats.ts). */
  encoderStats?: boolean;
  /** Deinterlace, tone map, colour conversion; default: planned from the source's tags alone (no idet). */
  picture?: PicturePlan;
  /** Channel layout and loudness gain; default: stereo, no gain. */
  sound?: SoundPlan;
  /**
   * The audio tracks by language (spec.audio.languages), each with its own gain, silence where the
   * source lacks one (`durationSecs` long); replaces the first track, `sound` and `silentAudio`.
   */
  audioTracks?: { tracks: EncodeAudioTrack[]; durationSecs: number };
  /** Text subtitles kept as mov_text (spec.subtitles), from the source and the episode's sidecar files. */
  subtitles?: EncodeSubtitles;
  /** An ASS file we wrote (subtitles/burn.ts) drawn onto the picture (subtitles.burnIn); CPU filters. */
  burnIn?: string;
  /** The source's image subtitle stream (PGS, DVB, VobSub) laid over the picture instead (subtitles.burnIn). */
  burnInImage?: number;
}

export interface EncodeSubtitles {
  tracks: SubtitleTrackPlan[];
  /** Fetched and cleaned sidecar files, in the order the plans number them. */
  sidecars: SidecarFile[];
}

/** The sidecar inputs, maps and mov_text options of the kept subtitles; inputs numbered from `next`. */
export function subtitlePart(s: EncodeSubtitles | undefined, next: number) {
  if (!s?.tracks.length) return { inputs: [], maps: [], outputs: [] };
  const used = s.sidecars.filter((_, k) => s.tracks.some((t) => t.sidecar === k));
  // Only the sidecars a track uses are opened: renumber the plans to them.
  const tracks = s.tracks.map((t) =>
    t.sidecar === undefined ? t : { ...t, sidecar: used.indexOf(s.sidecars[t.sidecar] as SidecarFile) },
  );
  const r = subtitleArgs(tracks, next);
  return { inputs: used.flatMap(sidecarInputArgs), maps: r.maps, outputs: r.outputs };
}

/** Seconds as ffmpeg's duration syntax, floored to microseconds so a seek never lands after its frame. */
export function seconds(s: number): string {
  return (Math.floor(Math.round(s * 1e7) / 10) / 1e6).toFixed(6);
}

/** Audio: AAC 48 kHz in the job's layout (stereo by default) with its loudness gain, or none. */
export function audioArgs(audio: AudioSettings, quality: Quality, sound: SoundPlan = { layout: "stereo" }): string[] {
  if (audio.mode === "none") return ["-an"];
  return ["-af", soundFilter(sound), ...audioCodecArgs(quality, sound, audio.bitrateK)];
}

/** AAC at the ladder's rate for the layout, 48 kHz, the layout's channels: every audio track. */
export function audioCodecArgs(quality: Quality, sound: SoundPlan = { layout: "stereo" }, bitrateK?: number): string[] {
  const k = bitrateK ?? soundBitrateK(ladder[quality].audioBitrateK, sound.layout);
  return ["-c:a", "aac", "-b:a", `${k}k`, "-ar", String(SAMPLE_RATE), "-ac", String(channels[sound.layout])];
}

/** The audio inputs after the source, the maps and the output options of a transcode. */
function audioPart(o: TranscodeOptions): { inputs: string[]; maps: string[]; outputs: string[]; shortest: boolean } {
  const asked = o.audio?.mode !== "none";
  if (o.audioTracks?.tracks.length && asked) {
    const { tracks, durationSecs } = o.audioTracks;
    const codec = audioCodecArgs(o.quality, tracks[0]?.sound);
    const r = audioTrackArgs(tracks, { durationSecs, silentInput: 1, codec });
    return { inputs: r.inputs, maps: r.maps, outputs: r.outputs, shortest: false };
  }
  const silent = o.silentAudio === true && !o.source.hasAudio;
  // lavfi is a second input we write ourselves, never user data.
  const inputs = silent ? ["-f", "lavfi", "-i", `anullsrc=r=${SAMPLE_RATE}:cl=${o.sound?.layout ?? "stereo"}`] : [];
  const audio: AudioSettings = o.audio ?? (o.source.hasAudio || silent ? { mode: "encode" } : { mode: "none" });
  const maps = audio.mode === "none" ? [] : ["-map", silent ? "1:a:0" : "0:a:0"];
  return { inputs, maps, outputs: audioArgs(audio, o.quality, o.sound), shortest: silent };
}

/** The picture plan of a transcode: the caller's, else one from the source's tags. */
export function picturePlan(o: Pick<TranscodeOptions, "picture" | "source">): PicturePlan {
  return o.picture ?? planPicture(o.source.picture ?? {}, o.source);
}

/** The full argument list (after runFfmpeg's fixed leading options) for one transcode. */
export function transcodeArgs(o: TranscodeOptions): string[] {
  const size = targetSize(o.source, o.quality);
  const picture = picturePlan(o);
  // Deinterlacing, tone mapping and colour conversion are CPU filters: decode on the CPU for them.
  // So is a turned picture: ffmpeg 5.1 applies the display matrix (autorotate) only to frames in
  // system memory, and a GPU surface would reach the encoder unturned at the turned size.
  const turned = (o.source.rotation ?? 0) % 360 !== 0;
  const cpuFilters = needsCpuFilters(picture) || o.burnIn !== undefined || o.burnInImage !== undefined || turned;
  const hwDecode = cpuFilters && o.hwDecode !== "videotoolbox" ? "none" : (o.hwDecode ?? "none");
  const pipeline = hwPipeline({
    hwDecode,
    encoder: o.encoder,
    width: size.width,
    height: size.height,
    sourceCodec: o.source.videoCodec,
    tenBit: (o.source.bitDepth ?? 8) > 8,
    device: o.device,
    outputCodec: o.codec,
  });
  const before = [...pipeline.input];
  // -ss before -i seeks the input (fast) and, when transcoding, still drops frames before the
  // point exactly; on keyframe-aligned points no extra GOP is decoded.
  if (o.range?.startSecs !== undefined && o.range.startSecs > 0) before.push("-ss", seconds(o.range.startSecs));
  const args = ["-y", ...pipeline.global];
  args.push(...inputArgs({ path: o.input, demuxer: o.source.demuxer, limits: o.inputLimits, before }));
  const audio = audioPart(o);
  // Subtitles go where the audio goes: not into video-only segments.
  const next = 1 + audio.inputs.filter((a) => a === "-i").length;
  const subs = subtitlePart(o.audio?.mode === "none" ? undefined : o.subtitles, next);
  const vf = o.canvas ? canvasFilter(o.canvas, picture.output) : videoFilter(pipeline, picture, size, o.burnIn);
  // An image subtitle is laid over the source's picture first (its canvas is the source's), then
  // the picture chain runs as usual: one graph with the subtitle stream as its second input.
  const image = o.burnInImage === undefined ? undefined : `[0:v:0][0:${o.burnInImage}]overlay=eof_action=pass`;
  const videoMap = image ? "[vout]" : "0:v:0";
  args.push(...audio.inputs, ...subs.inputs, "-map", videoMap, ...audio.maps, ...subs.maps);
  args.push(...(image ? ["-filter_complex", `${image},${vf}[vout]`] : ["-vf", vf]));
  const maxrateK = ladder[o.quality].maxrateK[o.codec];
  const encoder = encoderArgs({
    codec: o.codec,
    family: o.encoder,
    preset: o.preset,
    level: o.level,
    maxrateK,
    bufsizeK: bufsizeK(maxrateK),
  });
  const stats = o.encoderStats === true && hasEncoderStats(o.encoder, o.codec);
  const encoding = stats ? withEncoderStats(encoder, o.codec) : encoder;
  args.push(...(picture.output === "hdr10" ? withHdr10(encoding, o, picture) : encoding));
  if (o.codec === "hevc") args.push("-tag:v", "hvc1"); // Apple players refuse the default hev1 tag.
  if (o.keyframeIntervalFrames !== undefined) {
    const g = String(o.keyframeIntervalFrames);
    args.push("-g", g, "-keyint_min", g);
    if (o.encoder === "cpu" && o.codec === "h264") args.push("-sc_threshold", "0");
  }
  if (o.threads !== undefined) args.push("-threads", String(o.threads));
  // Every decoded frame is written once: no duplicates or drops from a frame-rate guess, which
  // keeps segment frame counts exact. A canvas sets its own rate with the fps filter.
  if (!o.canvas) args.push("-fps_mode", "passthrough");
  args.push(...colourArgs(picture));
  args.push(...audio.outputs, ...subs.outputs);
  if (audio.shortest) args.push("-shortest");
  if (o.range?.frames !== undefined) args.push("-frames:v", String(o.range.frames));
  if (o.range?.durationSecs !== undefined) args.push("-t", seconds(o.range.durationSecs));
  // Source metadata and chapters can carry personal data and stale titles; the merge writes ours.
  args.push("-map_metadata", "-1", "-map_chapters", "-1");
  if (o.bitexact) args.push("-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact");
  args.push("-movflags", "+faststart", "-f", "mp4", outputPath(o.output));
  return args;
}

/**
 * The encoder's arguments with the HDR10 metadata added: x265's into its one -x265-params (a second
 * would replace the first), SVT-AV1's as -svtav1-params. Only these CPU encoders write it here.
 */
function withHdr10(encoder: string[], o: TranscodeOptions, picture: PicturePlan): string[] {
  if (o.encoder !== "cpu" || o.codec === "h264") {
    throw new ReelError(
      "REEL_ENCODER_UNAVAILABLE",
      `hdr: keep encodes hevc or av1 on the CPU, not ${o.codec} on ${o.encoder}`,
    );
  }
  const params = hdr10EncoderParams(o.codec, picture.hdr10 ?? defaultHdr10);
  if (o.codec === "av1") return [...encoder, "-svtav1-params", params];
  const out = [...encoder];
  const i = out.indexOf("-x265-params");
  if (i < 0) return [...out, "-x265-params", params];
  out[i + 1] = `${out[i + 1]}:${params}`;
  return out;
}

/** Fit inside the canvas keeping the aspect ratio, pad to it, square pixels, constant frame rate. */
export function canvasFilter(
  c: { width: number; height: number; fps: number },
  output: PicturePlan["output"] = "sdr",
): string {
  const { width: w, height: h } = c;
  return [
    `scale=${w}:${h}:force_original_aspect_ratio=decrease`,
    `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`,
    "setsar=1",
    `fps=${Number(c.fps.toFixed(6))}`,
    pictureFilter({ output }),
  ].join(",");
}

/**
 * The -vf chain: ours whole where frames reach the filters in system memory; before the upload
 * where a GPU encoder takes them from there; the GPU's own scaler when nothing needs the CPU.
 */
function videoFilter(
  pipeline: HwPipeline,
  picture: PicturePlan,
  size: { width: number; height: number },
  burnIn?: string,
): string {
  const burn = burnIn ? `,${burnFilter(burnIn)}` : "";
  if (pipeline.systemMemory) return `${pictureFilter(picture, size)}${burn}`;
  if (pipeline.uploads && (needsCpuFilters(picture) || burnIn !== undefined)) {
    return `${pictureFilter(picture)}${burn},${pipeline.filter}`;
  }
  return pipeline.filter;
}

/** "file:" keeps an output named like an option or a protocol a plain local file. */
export function outputPath(path: string): string {
  return path.startsWith("file:") ? path : `file:${path}`;
}
