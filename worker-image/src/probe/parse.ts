// ffprobe's JSON -> a typed, validated probe result. Pure: the I/O lives in probe.ts.
import { ReelError } from "@reel/crds";
import { demuxerFor } from "../ffmpeg/input.ts";
import type { MediaLimits } from "./limits.ts";
import { type PictureTags, type RawPictureStream, readPictureTags } from "./picture.ts";

export interface VideoStreamInfo {
  index: number;
  codec: string;
  /** The picture's size as shown: a phone video stored 1920x1080 with a quarter turn is 1080x1920. */
  width: number;
  height: number;
  /** Sample aspect ratio as a number, as shown (inverted by a quarter turn); 1 for square pixels. */
  sar: number;
  /**
   * Clockwise turn (0, 90, 180, 270) the container's display matrix asks players to apply. ffmpeg
   * applies it while decoding to system memory (autorotate), so every filter sees the turned picture.
   */
  rotation: number;
  /** Average frames per second (0 when unknown). */
  fps: number;
  pixFmt: string | undefined;
  bitDepth: number;
  bitRate: number | undefined;
  /** Frame count the container declares, when it does. */
  frames: number | undefined;
  /** Colour description, field order and HDR10 light levels as tagged. */
  picture: PictureTags;
}

export interface AudioStreamInfo {
  index: number;
  codec: string;
  sampleRate: number | undefined;
  channels: number | undefined;
  channelLayout: string | undefined;
  bitRate: number | undefined;
}

/** Dispositions an audio track keeps through the encode (players show them; "comment" is commentary). */
export const trackDispositions = ["default", "comment", "hearing_impaired", "visual_impaired"] as const;
export type TrackDisposition = (typeof trackDispositions)[number];

/** One audio track as tagged: its stream index, language (ISO 639, lower case) and dispositions. */
export interface AudioTrackTags {
  index: number;
  language?: string;
  dispositions: TrackDisposition[];
}

/** One subtitle track as tagged: its stream index, codec and language (ISO 639, lower case). */
export interface SubtitleTrackTags {
  index: number;
  codec: string;
  language?: string;
}

export interface ProbeResult {
  formatName: string;
  /** The demuxer every later command pins with -f. */
  demuxer: string;
  durationSecs: number;
  /** The file's start time; ffmpeg's input -ss is relative to it. */
  startTimeSecs: number;
  sizeBytes: number | undefined;
  bitRate: number | undefined;
  video: VideoStreamInfo;
  audio: AudioStreamInfo | undefined;
  hasAudio: boolean;
  /** Every audio track in file order (absent in probes cached before tracks were read). */
  audioTracks?: AudioTrackTags[];
  /** Every subtitle track in file order (absent in probes cached before tracks were read). */
  subtitleTracks?: SubtitleTrackTags[];
  streamCounts: { video: number; audio: number; subtitle: number; other: number; total: number };
}

interface RawStream extends RawPictureStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  bit_rate?: string;
  nb_frames?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  disposition?: { attached_pic?: number } & Partial<Record<TrackDisposition, number>>;
  tags?: { language?: string };
}

interface RawProbe {
  streams?: RawStream[];
  format?: { format_name?: string; duration?: string; start_time?: string; size?: string; bit_rate?: string };
}

const invalid = (msg: string) => new ReelError("REEL_MEDIA_INVALID", msg);
const limit = (msg: string) => new ReelError("REEL_MEDIA_LIMITS", msg);

function num(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "number" ? v : Number.parseFloat(v);
  return Number.isFinite(n) ? n : undefined;
}

/** "30000/1001" -> 29.97; "0/0" -> undefined. */
export function ratio(v: string | undefined, sep = "/"): number | undefined {
  if (!v) return undefined;
  const [a, b] = v.split(sep).map(Number);
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || a <= 0 || b <= 0) {
    return undefined;
  }
  return a / b;
}

function bitDepthOf(s: RawStream): number {
  const raw = num(s.bits_per_raw_sample);
  if (raw) return raw;
  const m = /p(9|10|12|14|16)(le|be)?$/.exec(s.pix_fmt ?? "");
  return m?.[1] ? Number(m[1]) : 8;
}

/**
 * The display matrix's turn as a clockwise quarter-turn count in degrees. ffprobe prints the
 * matrix's counter-clockwise angle (`rotation: -90` for a phone held upright, which players show
 * turned 90° clockwise); odd angles are rounded to the nearest quarter turn, as ffmpeg's autorotate does.
 */
export function rotationOf(s: { side_data_list?: Array<Record<string, unknown>> }): number {
  for (const sd of s.side_data_list ?? []) {
    if (sd.side_data_type !== "Display Matrix") continue;
    const ccw = typeof sd.rotation === "number" ? sd.rotation : Number(sd.rotation);
    if (!Number.isFinite(ccw)) return 0;
    return (((Math.round(-ccw / 90) * 90) % 360) + 360) % 360;
  }
  return 0;
}

/** What an audio-only file given as an episode is told (the format as ffmpeg names it). */
export function audioOnlyMessage(format: string): string {
  return `an audio-only file (${format}): an episode needs a video stream; give the video itself, or mux the audio with a picture first`;
}

/** Checks stderr for a header that ffprobe refused to believe (it then reports width 0). */
export function claimedOversize(stderr: string): { width: number; height: number } | undefined {
  const m = /Picture size (\d+)x(\d+) is invalid/.exec(stderr);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
}

/** Validates ffprobe output against the limits; throws REEL_MEDIA_INVALID / REEL_MEDIA_LIMITS. */
export function parseProbe(raw: unknown, limits: MediaLimits, stderr = ""): ProbeResult {
  const probe = (raw ?? {}) as RawProbe;
  const formatName = probe.format?.format_name;
  if (!formatName) throw invalid("not a media file: ffprobe found no container format");
  const demuxer = demuxerFor(formatName);
  const streams = probe.streams ?? [];
  if (streams.length > limits.maxStreams) {
    throw limit(`${streams.length} streams; the limit is ${limits.maxStreams}`);
  }
  const oversize = claimedOversize(stderr);
  if (oversize) throw limit(`the header claims ${oversize.width}x${oversize.height}`);
  // Cover art is a one-frame "video" stream; it is not the picture we transcode.
  const videos = streams.filter((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
  const audios = streams.filter((s) => s.codec_type === "audio");
  const v = videos[0];
  if (!v) {
    if (audios.length) throw invalid(audioOnlyMessage(demuxer));
    throw invalid("no video stream");
  }
  const width = v.width ?? 0;
  const height = v.height ?? 0;
  if (width > limits.maxWidth || height > limits.maxHeight) {
    throw limit(`${width}x${height} exceeds ${limits.maxWidth}x${limits.maxHeight}`);
  }
  if (width <= 0 || height <= 0) throw invalid("the video stream has no picture size");
  const rotation = rotationOf(v);
  const quarter = rotation === 90 || rotation === 270;
  const sar = ratio(v.sample_aspect_ratio, ":") ?? 1;
  const a = audios[0];
  // The picture and sound we keep decide the length, not the container's header: an MP4 whose movie
  // header claims 11 h over 3 s of samples is 3 s long (what is really decoded is checked after the encode).
  const streamSecs = Math.max(num(v.duration) ?? 0, num(a?.duration) ?? 0);
  const durationSecs = streamSecs > 0 ? streamSecs : num(probe.format?.duration);
  if (durationSecs === undefined || durationSecs <= 0) throw invalid("unknown or zero duration");
  if (durationSecs > limits.maxDurationSecs) {
    throw limit(`duration ${Math.round(durationSecs)} s exceeds ${limits.maxDurationSecs} s`);
  }
  const subtitle = streams.filter((s) => s.codec_type === "subtitle").length;
  return {
    formatName,
    demuxer,
    durationSecs,
    startTimeSecs: num(probe.format?.start_time) ?? 0,
    sizeBytes: num(probe.format?.size),
    bitRate: num(probe.format?.bit_rate),
    video: {
      index: v.index ?? 0,
      codec: v.codec_name ?? "unknown",
      width: quarter ? height : width,
      height: quarter ? width : height,
      sar: quarter ? 1 / sar : sar,
      rotation,
      fps: ratio(v.avg_frame_rate) ?? ratio(v.r_frame_rate) ?? 0,
      pixFmt: v.pix_fmt,
      bitDepth: bitDepthOf(v),
      bitRate: num(v.bit_rate),
      frames: num(v.nb_frames),
      picture: readPictureTags(v),
    },
    audio: a
      ? {
          index: a.index ?? 0,
          codec: a.codec_name ?? "unknown",
          sampleRate: num(a.sample_rate),
          channels: a.channels,
          channelLayout: a.channel_layout,
          bitRate: num(a.bit_rate),
        }
      : undefined,
    hasAudio: a !== undefined,
    audioTracks: audios.map(audioTrackTags),
    subtitleTracks: streams.filter((s) => s.codec_type === "subtitle").map(subtitleTrackTags),
    streamCounts: {
      video: streams.filter((s) => s.codec_type === "video").length,
      audio: audios.length,
      subtitle,
      other: streams.length - streams.filter((s) => s.codec_type === "video").length - audios.length - subtitle,
      total: streams.length,
    },
  };
}

/** A track's language ("und" and untagged are none) and the dispositions it keeps. */
function audioTrackTags(s: RawStream): AudioTrackTags {
  const language = s.tags?.language?.trim().toLowerCase();
  return {
    index: s.index ?? 0,
    ...(language && language !== "und" ? { language } : {}),
    dispositions: trackDispositions.filter((d) => s.disposition?.[d] === 1),
  };
}

function subtitleTrackTags(s: RawStream): SubtitleTrackTags {
  const language = s.tags?.language?.trim().toLowerCase();
  return {
    index: s.index ?? 0,
    codec: s.codec_name ?? "unknown",
    ...(language && language !== "und" ? { language } : {}),
  };
}
