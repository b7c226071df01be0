// Split episodes (spec.split, cluster only). A long episode is encoded by many pods at once:
//   1. its episode pod downloads and probes it as usual, then cuts the source at keyframes into
//      segments by stream copy (no decode, about as fast as reading the file), encodes the audio
//      track once, and stages them with a record: ep<i>.src<k>.mkv, ep<i>.audio.m4a, ep<i>.split.json;
//   2. the operator runs the episode's Indexed Job: pod k (JOB_COMPLETION_INDEX) encodes segment k
//      with the same settings and stages ep<i>.seg<k>.mp4 and its record ep<i>.seg<k>.json
//      (segment.ts);
//   3. the merge pod joins each split episode's segments losslessly, muxes the audio, and stages the
//      result as the ordinary ep<i>.mp4 + ep<i>.json before merging as usual (`joinSplitEpisode`).
// Every staged file is checked against the sha256 in the record that names it, and records are
// written after their files, so a pod killed at any point leaves nothing half-trusted.
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ReelError, staged, type VideoJobSpec } from "@reel/crds";
import { parseDuration } from "../output/s3.ts";
import { type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";
import { inputArgs } from "../ffmpeg/input.ts";
import { fidelityStatus, planSound } from "../ffmpeg/analyse.ts";
import { parseEbur128 } from "../ffmpeg/sound.ts";
import { outputPath } from "../ffmpeg/args.ts";
import { frameTimes } from "../probe/frames.ts";
import { probe as ffprobe } from "../probe/probe.ts";
import type { EpisodeStatus, QualityScores } from "../pipeline/types.ts";
import { audioOnlyArgs } from "../segments/encode.ts";
import { defaultJoiner, joinWithAudio } from "../segments/join.ts";
import { planSegments } from "../segments/split.ts";
import { combineEncoderStats } from "../quality/encoder-stats.ts";
import { planAudioTracks } from "../encode/audio-loudness.ts";
import { type AudioTrackPlan, audioTagArgs } from "../encode/audio-tracks.ts";
import type { SidecarFile } from "../subtitles/sidecar.ts";
import { chooseSubtitleTracks, subtitleTagArgs } from "../subtitles/tracks.ts";
import type { Stages } from "../pipeline/stages.ts";
import type { EpisodeRecord } from "./episode.ts";
import { episodeFile, episodeRecordFile } from "./episode.ts";
import { putJson, type Staging } from "./staging.ts";

// Staged names: crds/src/contract/staging.ts.
export const splitRecordFile = staged.splitRecord;
export const segmentSourceFile = staged.segmentSource;
export const segmentFile = staged.segment;
export const segmentRecordFile = staged.segmentRecord;
export const audioFile = staged.audio;

/** What ep<i>.split.json holds. */
export interface SplitRecord {
  v: 1;
  videojob: string;
  uid: string;
  index: number;
  /** The episode pod's staging key: the segments answer this request (URL + settings) of this job. */
  stagingKey: string;
  durationSecs: number;
  bytesDownloaded: number;
  segments: Array<{ index: number; frames: number; startSecs: number; sha256: string }>;
  /**
   * The episode's audio, encoded once; absent for a silent source. `tracks`: the job's tracks by
   * language in the file, whose tags the join writes (absent in older records: one track).
   */
  audio?: { sha256: string; tracks?: AudioTrackPlan[]; subtitles?: { language: string }[] };
  ytDlp?: string;
  /** The source's own chapters (merge.chapterMarks source/both), copied to the joined episode's record. */
  sourceChapters?: EpisodeRecord["sourceChapters"];
}

/** What ep<i>.seg<k>.json holds. */
export interface SegmentRecord {
  v: 1;
  index: number;
  segment: number;
  /** The split it encodes (SplitRecord.stagingKey) and the staged source's sha256. */
  stagingKey: string;
  sourceSha256: string;
  sha256: string;
  encoder: string;
  frames: number;
  quality?: QualityScores;
}

/**
 * Whether an episode this long is split (cluster pods only; `reel run` splits across its own cores).
 * Not with burned-in subtitles: their cues are timed from the episode's start, not a segment's.
 */
export function shouldSplit(spec: VideoJobSpec, durationSecs: number): boolean {
  const s = spec.split;
  if (!s.enabled || spec.compression.targetQuality || spec.subtitles?.burnIn) return false;
  return durationSecs >= parseDuration(s.minDuration);
}

export interface CutSegment {
  index: number;
  path: string;
  frames: number;
  startSecs: number;
}

/**
 * Cuts `source` at keyframes into video-only Matroska segments of about `segmentSecs` by stream copy,
 * and encodes its audio once: its first track, or the job's tracks by language (`audioTracks`), with
 * the kept subtitles (spec.subtitles: the source's text tracks and the episode's `subtitles` files). Each segment starts on a keyframe, so it decodes on its own;
 * the segments' packets add up to the source's exactly (checked). Undefined when the episode yields
 * fewer than two segments (too few keyframes), or its picture is turned by a display matrix (the
 * Matroska segments cannot carry it, and each segment pod would encode the picture unturned): it
 * is then encoded whole.
 */
export async function cutSource(o: {
  source: string;
  spec: VideoJobSpec;
  workDir: string;
  binaries: FfmpegBinaries;
  signal?: AbortSignal;
  subtitles?: SidecarFile[];
}): Promise<
  | {
      segments: CutSegment[];
      audio?: string;
      audioTracks?: AudioTrackPlan[];
      subtitles?: { language: string }[];
      durationSecs: number;
      loudness?: EpisodeStatus["loudness"];
    }
  | undefined
> {
  const p = await ffprobe(o.source, { binaries: o.binaries, signal: o.signal });
  if (p.video.rotation % 360 !== 0) return undefined;
  const times = await frameTimes(o.source, { binaries: o.binaries, signal: o.signal });
  const plan = planSegments(times, parseDuration(o.spec.split.segmentDuration));
  if (plan.length < 2) return undefined;
  await mkdir(o.workDir, { recursive: true });
  // The segment muxer cuts at the first keyframe at or after each time (on the output timeline,
  // which starts at the file's start_time); a millisecond early so rounding never skips a keyframe.
  const cuts = plan.slice(1).map((s) => Math.max(0, s.startPts - p.startTimeSecs - 0.001).toFixed(6));
  await runFfmpeg(
    ["-y", ...inputArgs({ path: o.source, demuxer: p.demuxer })]
      .concat(["-map", "0:v:0", "-c", "copy", "-an", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1"])
      .concat(["-f", "segment", "-segment_times", cuts.join(","), "-segment_format", "matroska"])
      .concat(["-reset_timestamps", "1", outputPath(join(o.workDir, "segment%04d.mkv"))]),
    { binaries: o.binaries, signal: o.signal, label: "split" },
  );
  const segments: CutSegment[] = [];
  for (const s of plan) {
    const path = join(o.workDir, `segment${String(s.index).padStart(4, "0")}.mkv`);
    const t = await frameTimes(path, { binaries: o.binaries, signal: o.signal });
    segments.push({ index: s.index, path, frames: t.pts.length, startSecs: s.startPts - p.startTimeSecs });
  }
  const total = segments.reduce((a, x) => a + x.frames, 0);
  if (total !== times.pts.length) {
    throw new ReelError(
      "REEL_FFMPEG_FAILED",
      `splitting at keyframes gave ${total} frames in ${segments.length} segments, the source has ${times.pts.length}`,
    );
  }
  let audio: string | undefined;
  let loudness: EpisodeStatus["loudness"];
  const analyse = { binaries: o.binaries, signal: o.signal };
  const tracks = await planAudioTracks(o.source, p, o.spec.audio, analyse);
  const chosen = chooseSubtitleTracks(p.subtitleTracks ?? [], o.subtitles ?? [], o.spec.subtitles);
  const subtitles = chosen?.tracks.length ? { tracks: chosen.tracks, sidecars: o.subtitles ?? [] } : undefined;
  if (p.hasAudio || tracks || subtitles) {
    audio = join(o.workDir, "audio.m4a");
    // The whole episode's loudness, measured once here: the segments carry no audio.
    const sound =
      tracks?.tracks.find((t) => t.sound.loudness)?.sound ??
      (tracks ? { layout: o.spec.audio.layout } : await planSound(o.source, p, o.spec.audio, analyse));
    const args = audioOnlyArgs({
      input: o.source,
      demuxer: p.demuxer,
      quality: o.spec.quality,
      output: audio,
      sound,
      ...(tracks ? { tracks } : {}),
      ...(subtitles ? { subtitles } : {}),
      hasAudio: p.hasAudio,
    });
    const r = await runFfmpeg(args, {
      binaries: o.binaries,
      signal: o.signal,
      label: "encode audio",
    });
    if (sound.loudness) loudness = fidelityStatus({ picture: {}, sound }, parseEbur128(r.stderr)).loudness;
  }
  const audioTracks = tracks?.tracks.map(({ source, language, dispositions }) => ({
    ...(source !== undefined ? { source } : {}),
    language,
    dispositions,
  }));
  return {
    segments,
    ...(audio ? { audio } : {}),
    ...(audioTracks ? { audioTracks } : {}),
    ...(subtitles ? { subtitles: subtitles.tracks.map(({ language }) => ({ language })) } : {}),
    durationSecs: p.durationSecs,
    ...(loudness ? { loudness } : {}),
  };
}

/**
 * The quality of a joined episode from its segments' records: SSIM weighted by frames, PSNR through
 * the summed squared error (combineEncoderStats), VMAF weighted by frames when every segment has it.
 */
export function combineSegmentQuality(records: readonly SegmentRecord[]): QualityScores | undefined {
  const scored = records.filter((r) => r.quality?.ssim !== undefined && r.quality.psnr !== undefined);
  if (scored.length !== records.length || records.length === 0) return undefined;
  const stats = combineEncoderStats(
    scored.map((r) => ({ ssim: r.quality?.ssim ?? 0, psnr: r.quality?.psnr ?? 0, frames: r.frames })),
  );
  if (!stats) return undefined;
  const frames = stats.frames;
  const method = records.every((r) => r.quality?.method === "encoder") ? "encoder" : "comparison";
  const vmafAll = records.every((r) => r.quality?.vmaf !== undefined);
  const q: QualityScores = {
    ssim: Number(stats.ssim.toFixed(6)),
    psnr: Number.isFinite(stats.psnr) ? Number(stats.psnr.toFixed(3)) : stats.psnr,
    method,
  };
  if (vmafAll) q.vmaf = records.reduce((a, r) => a + (r.quality?.vmaf ?? 0) * r.frames, 0) / frames;
  const why = records.find((r) => r.quality?.vmafUnavailable)?.quality?.vmafUnavailable;
  if (!vmafAll && why) q.vmafUnavailable = why;
  return q;
}

/**
 * The merge pod's first step for a split episode: its segments, checked against their records,
 * joined losslessly with the episode's audio, staged as the ordinary ep<i>.mp4 and ep<i>.json.
 * A record already there for the same split (a retried merge pod) is answered as it is.
 */
export async function joinSplitEpisode(o: {
  index: number;
  segments: number;
  staging: Staging;
  stages: Stages;
  scratch: string;
  binaries: FfmpegBinaries;
  videojob: string;
  uid: string;
  signal?: AbortSignal;
}): Promise<EpisodeRecord> {
  const { index, staging, signal } = o;
  const split = await staging.readJson<SplitRecord>(splitRecordFile(index), signal);
  if (!split) {
    throw new ReelError(
      "REEL_STAGING_MISSING",
      `episode ${index + 1} has no split record at ${staging.locate(splitRecordFile(index))}`,
    );
  }
  if (split.segments.length !== o.segments) {
    throw new ReelError(
      "REEL_STAGING_MISSING",
      `episode ${index + 1} was split into ${split.segments.length} segments, the merge expected ${o.segments}`,
    );
  }
  const done = await staging.readJson<EpisodeRecord>(episodeRecordFile(index), signal);
  if (done?.stagingKey === split.stagingKey && done.status?.phase === "Completed") return done;

  const dir = join(o.scratch, `join-ep${index}`);
  await mkdir(dir, { recursive: true });
  try {
    const records: SegmentRecord[] = [];
    const paths: string[] = [];
    for (const s of split.segments) {
      const r = await staging.readJson<SegmentRecord>(segmentRecordFile(index, s.index), signal);
      if (!r || r.stagingKey !== split.stagingKey || r.sourceSha256 !== s.sha256) {
        throw new ReelError(
          "REEL_STAGING_MISSING",
          `segment ${s.index} of episode ${index + 1} has no finished record for this split at ${staging.locate(segmentRecordFile(index, s.index))}`,
        );
      }
      const path = await staging.materialise(segmentFile(index, s.index), dir, signal);
      const sha = await o.stages.sha256(path);
      if (sha !== r.sha256) {
        throw new ReelError(
          "REEL_CHECKSUM_MISMATCH",
          `segment ${s.index} of episode ${index + 1} does not match its record (sha256 ${sha.slice(0, 12)}…)`,
        );
      }
      records.push(r);
      paths.push(path);
    }
    const encoders = [...new Set(records.map((r) => r.encoder.replace(/ \(.*\)$/, "")))];
    if (encoders.length > 1) {
      // Streams of different encoders do not share codec parameters: no lossless join.
      throw new ReelError(
        "REEL_MERGE_MISMATCH",
        `episode ${index + 1}'s segments were encoded by different encoders (${encoders.join(", ")})`,
      );
    }
    let audio: string | undefined;
    if (split.audio) {
      audio = await staging.materialise(audioFile(index), dir, signal);
      if ((await o.stages.sha256(audio)) !== split.audio.sha256) {
        throw new ReelError("REEL_CHECKSUM_MISMATCH", `the audio of episode ${index + 1} does not match its record`);
      }
    }
    const output = join(dir, "episode.mp4");
    const { joiner } = await defaultJoiner(o.binaries);
    await joinWithAudio({
      joiner,
      segments: paths,
      ...(audio ? { audio } : {}),
      ...(split.audio?.tracks?.length || split.audio?.subtitles?.length
        ? { audioTags: [...audioTagArgs(split.audio.tracks ?? []), ...subtitleTagArgs(split.audio.subtitles ?? [])] }
        : {}),
      output,
      workDir: dir,
      binaries: o.binaries,
      signal,
    });
    const sha256 = await o.stages.sha256(output);
    const bytesOutput = (await stat(output)).size;
    await staging.put(output, episodeFile(index), { sha256, signal });
    const quality = combineSegmentQuality(records);
    const record: EpisodeRecord = {
      v: 1,
      videojob: o.videojob,
      uid: o.uid,
      index,
      stagingKey: split.stagingKey,
      encodeKey: `split:${split.stagingKey}`,
      sha256,
      status: {
        index,
        phase: "Completed",
        progress: 100,
        attempts: 1,
        encoder: records[0]?.encoder ?? "",
        bytesDownloaded: split.bytesDownloaded,
        bytesOutput,
        durationSecs: split.durationSecs,
        segments: { total: records.length, completed: records.length },
        ...(quality ? { quality } : {}),
      },
      ...(split.ytDlp ? { ytDlp: split.ytDlp } : {}),
      ...(split.sourceChapters ? { sourceChapters: split.sourceChapters } : {}),
    };
    await putJson(staging, dir, episodeRecordFile(index), record);
    return record;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
