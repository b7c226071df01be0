// One episode, two ways: one ffmpeg process (`encodeWhole`) or keyframe-aligned segments encoded
// in parallel and joined losslessly (`encodeSegmented`). Same settings, so the bench can compare.
import { availableParallelism } from "node:os";
import { join as joinPath } from "node:path";
import { rm } from "node:fs/promises";
import { type TranscodeOptions, transcodeArgs } from "../ffmpeg/args.ts";
import { inputArgs } from "../ffmpeg/input.ts";
import { audioArgs, audioCodecArgs, outputPath } from "../ffmpeg/args.ts";
import { audioTagArgs, audioTrackArgs } from "../encode/audio-tracks.ts";
import { subtitlePart } from "../ffmpeg/args.ts";
import { subtitleTagArgs } from "../subtitles/tracks.ts";
import type { SoundPlan } from "../ffmpeg/sound.ts";
import { defaultBinaries, type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";
import { type FrameTimes, frameTimes } from "../probe/frames.ts";
import { combineEncoderStats, type EncoderStats, parseEncoderStats } from "../quality/encoder-stats.ts";
import { defaultJoiner, type Joiner, joinWithAudio } from "./join.ts";
import { runPool } from "./pool.ts";
import { planSegments, type Segment, targetSegmentSecs } from "./split.ts";

export type EncodeSettings = Omit<TranscodeOptions, "output" | "range" | "threads" | "audio">;

export interface EncodeProgress {
  /** 0..100 over all frames. */
  percent: number;
  framesDone: number;
  framesTotal: number;
}

export interface EncodeCommon {
  binaries?: FfmpegBinaries;
  signal?: AbortSignal;
  /** Cores to use; defaults to the machine's. */
  cores?: number;
  onProgress?: (p: EncodeProgress) => void;
}

export interface EncodeWholeResult {
  output: string;
  elapsedMs: number;
  /** The encoder's own SSIM/PSNR, when `settings.encoderStats` asked and the encoder has them. */
  stats?: EncoderStats;
}

/** One ffmpeg process using all the cores: the baseline. */
export async function encodeWhole(
  settings: EncodeSettings,
  output: string,
  options: EncodeCommon & { durationSecs?: number } = {},
): Promise<EncodeWholeResult> {
  const started = performance.now();
  const cores = options.cores ?? availableParallelism();
  const r = await runFfmpeg(transcodeArgs({ ...settings, output, threads: cores }), {
    binaries: options.binaries,
    signal: options.signal,
    durationSecs: options.durationSecs,
    label: "encode",
    onProgress: options.onProgress
      ? (e) => options.onProgress?.({ percent: e.percent ?? 0, framesDone: e.frame ?? 0, framesTotal: 0 })
      : undefined,
  });
  const stats = settings.encoderStats ? parseEncoderStats(r.stderr) : undefined;
  return { output, elapsedMs: performance.now() - started, ...(stats ? { stats } : {}) };
}

/**
 * The episode's audio alone, encoded once (AAC in MP4) for muxing after a segment join: its first
 * track, or the job's tracks by language (`tracks`) with their tags.
 */
export function audioOnlyArgs(o: {
  input: string;
  demuxer: string;
  limits?: EncodeSettings["inputLimits"];
  quality: EncodeSettings["quality"];
  output: string;
  /** Layout and loudness gain; stereo without gain when absent. */
  sound?: SoundPlan;
  tracks?: EncodeSettings["audioTracks"];
  /** The kept subtitles ride in the same file (mov_text), muxed with the audio after the join. */
  subtitles?: EncodeSettings["subtitles"];
  /** False: no audio track to take (subtitles only). */
  hasAudio?: boolean;
}): string[] {
  const input = ["-y", ...inputArgs({ path: o.input, demuxer: o.demuxer, limits: o.limits })];
  const tail = ["-map_metadata", "-1", "-f", "mp4", outputPath(o.output)];
  if (!o.tracks?.tracks.length) {
    const subs = subtitlePart(o.subtitles, 1);
    const audio =
      o.hasAudio === false
        ? { maps: [], outputs: ["-an"] }
        : { maps: ["-map", "0:a:0"], outputs: audioArgs({ mode: "encode" }, o.quality, o.sound) };
    return input.concat(subs.inputs, audio.maps, subs.maps, ["-vn"], audio.outputs, subs.outputs, tail);
  }
  const codec = audioCodecArgs(o.quality, o.tracks.tracks[0]?.sound);
  const r = audioTrackArgs(o.tracks.tracks, { durationSecs: o.tracks.durationSecs, silentInput: 1, codec });
  const subs = subtitlePart(o.subtitles, 2 - (r.inputs.length ? 0 : 1));
  return input.concat(r.inputs, subs.inputs, r.maps, subs.maps, ["-vn"], r.outputs, subs.outputs, tail);
}

export interface SegmentedOptions extends EncodeCommon {
  /** Scratch space for segments and the audio track (the caller owns and removes it). */
  workDir: string;
  /** The probe's format start_time: ffmpeg's input -ss counts from it. */
  startTimeSecs: number;
  durationSecs: number;
  /** Packet times; read from the source when absent. */
  frames?: FrameTimes;
  /** Seconds per segment; default spreads the episode over the cores within 10..60 s. */
  segmentSecs?: number;
  /** Segments encoded at once; default = cores. */
  concurrency?: number;
  /** Default: the Rust merge when its binding is built, else ffmpeg's concat demuxer. */
  joiner?: Joiner;
}

export interface EncodeSegmentedResult {
  output: string;
  segments: Segment[];
  joinedWith: "native" | "ffmpeg-concat" | "custom";
  elapsedMs: number;
  encodeMs: number;
  joinMs: number;
  /** The segments' own SSIM/PSNR combined, when every segment reported them. */
  stats?: EncoderStats;
  /** The audio encode's stderr (its loudness meter reports there). */
  audioStderr?: string;
}

/**
 * Segment-parallel encode. Each segment starts on a keyframe (input -ss, so only its own GOPs
 * are decoded) and writes exactly its frame count (-frames:v), so the joined video has exactly the
 * source's frames. Audio is encoded once for the whole episode and muxed after the join: AAC
 * frames (1024 samples) never line up with video cut points, and per-segment AAC would add
 * encoder priming silence at every join — audible clicks and drift.
 */
export async function encodeSegmented(
  settings: EncodeSettings,
  output: string,
  o: SegmentedOptions,
): Promise<EncodeSegmentedResult> {
  const started = performance.now();
  const binaries = o.binaries ?? defaultBinaries;
  const cores = o.cores ?? availableParallelism();
  const concurrency = o.concurrency ?? cores;
  const times = o.frames ?? (await frameTimes(settings.input, { binaries, signal: o.signal }));
  const segments = planSegments(times, o.segmentSecs ?? targetSegmentSecs(o.durationSecs, concurrency));
  // Split the cores between the encoders running at once instead of letting each take them all.
  const threads = Math.max(1, Math.floor(cores / Math.min(concurrency, segments.length)));
  const framesTotal = times.pts.length;
  const done = new Array<number>(segments.length).fill(0);
  const report = () => {
    const framesDone = done.reduce((a, b) => a + b, 0);
    o.onProgress?.({ percent: framesTotal ? (framesDone / framesTotal) * 100 : 0, framesDone, framesTotal });
  };
  const segmentPath = (s: Segment) => joinPath(o.workDir, `segment-${String(s.index).padStart(4, "0")}.mp4`);
  const segmentStats: Array<EncoderStats | undefined> = [];
  const tasks = segments.map((s) => async (signal: AbortSignal) => {
    const args = transcodeArgs({
      ...settings,
      output: segmentPath(s),
      audio: { mode: "none" },
      range: { startSecs: s.startPts - o.startTimeSecs, frames: s.frames },
      threads,
    });
    const r = await runFfmpeg(args, {
      binaries,
      signal,
      label: `encode segment ${s.index}`,
      onProgress: (e) => {
        done[s.index] = Math.min(s.frames, e.frame ?? 0);
        report();
      },
    });
    if (settings.encoderStats) segmentStats[s.index] = parseEncoderStats(r.stderr);
    return r;
  });
  const audioPath = joinPath(o.workDir, "audio.m4a");
  const tracks = settings.audioTracks;
  const subtitles = settings.subtitles?.tracks.length ? settings.subtitles : undefined;
  const withAudio = settings.source.hasAudio || (tracks?.tracks.length ?? 0) > 0 || subtitles !== undefined;
  const audioTask = withAudio
    ? (signal: AbortSignal) =>
        runFfmpeg(
          audioOnlyArgs({
            input: settings.input,
            demuxer: settings.source.demuxer,
            limits: settings.inputLimits,
            quality: settings.quality,
            output: audioPath,
            ...(settings.sound ? { sound: settings.sound } : {}),
            ...(tracks ? { tracks } : {}),
            ...(subtitles ? { subtitles } : {}),
            hasAudio: settings.source.hasAudio,
          }),
          { binaries, signal, label: "encode audio" },
        )
    : undefined;
  const ran = await runPool([...(audioTask ? [audioTask] : []), ...tasks], concurrency + (audioTask ? 1 : 0), o.signal);
  const encodeMs = performance.now() - started;

  let joiner = o.joiner;
  let joinedWith: EncodeSegmentedResult["joinedWith"] = "custom";
  if (!joiner) ({ joiner, joinedWith } = await defaultJoiner(binaries));
  const joinStarted = performance.now();
  await joinWithAudio({
    joiner,
    segments: segments.map(segmentPath),
    ...(withAudio ? { audio: audioPath } : {}),
    ...(tracks?.tracks.length || subtitles
      ? { audioTags: [...audioTagArgs(tracks?.tracks ?? []), ...subtitleTagArgs(subtitles?.tracks ?? [])] }
      : {}),
    output,
    workDir: o.workDir,
    binaries,
    signal: o.signal,
  });
  const joinMs = performance.now() - joinStarted;
  await Promise.all(
    [...segments.map(segmentPath), ...(withAudio ? [audioPath] : [])].map((p) => rm(p, { force: true })),
  );
  const parts = segmentStats.filter((x): x is EncoderStats => x !== undefined);
  const stats = parts.length === segments.length ? combineEncoderStats(parts) : undefined;
  const result = { output, segments, joinedWith, elapsedMs: performance.now() - started, encodeMs, joinMs };
  const audioStderr = audioTask ? ran[0]?.stderr : undefined;
  return { ...result, ...(stats ? { stats } : {}), ...(audioStderr !== undefined ? { audioStderr } : {}) };
}
