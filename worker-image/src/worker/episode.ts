// An episode pod: one episode through the same stages as `reel run` (processEpisode), then the
// encoded file and its record into staging. The record goes last and marks the episode done, so
// a pod killed at any point leaves either nothing trusted or a complete episode.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Logger } from "pino";
import { redact } from "../fetch/classify.ts";
import type { JobEvent } from "../pipeline/events.ts";
import { encodeSettings, processEpisode } from "../pipeline/job.ts";
import type { EncodeContext, Stages } from "../pipeline/stages.ts";
import type { EpisodeStatus } from "../pipeline/types.ts";
import type { EpisodeEnv } from "./env.ts";
import type { ProgressSink } from "./progress.ts";
import { putJson, type Staging } from "./staging.ts";
import { type EpisodeOutcome, type EpisodeRecord, type SourceChapter, staged } from "@reel/crds";
import { defaultBinaries, type FfmpegBinaries } from "../ffmpeg/run.ts";
import { audioFile, cutSource, type SplitRecord, segmentSourceFile, shouldSplit, splitRecordFile } from "./split.ts";

export interface PodContext {
  stages: Stages;
  staging: Staging;
  /** This run's scratch directory (under REEL_CACHE_DIR); the caller removes it. */
  scratch: string;
  cacheDir: string;
  log: Logger;
  progress: ProgressSink;
  signal: AbortSignal;
  /** The pinned yt-dlp's version, or undefined when it cannot be asked. */
  ytDlpVersion(): Promise<string | undefined>;
  now?: () => Date;
  /** ffmpeg and ffprobe, for the steps outside `stages` (splitting, joining). */
  binaries?: FfmpegBinaries;
}

/** What ep<index>.json holds: one definition with the operator (crds contract/staging.ts). */
export type { EpisodeRecord };

/** The result an episode pod reports (the contract with the operator lives in crds/src/worker-result.ts). */
export type { EpisodeOutcome } from "@reel/crds";

export const episodeFile = staged.episode;
export const episodeRecordFile = staged.episodeRecord;

/**
 * The key a finished episode is staged under, from the VideoJob's uid, the episode's place and URL
 * and the encode settings. Not the content key (encodeKey): that needs the source downloaded, and
 * the download is the slowest and least reliable step, exactly what a retried pod must not redo.
 * Keying on the URL is correct here because staging belongs to one VideoJob (the uid is in the
 * key and in the operator's staging prefix): a record says "this job's request for this URL with
 * these settings is done", and a source that changed between two attempts of the same job still
 * yields a valid answer to that request. A changed spec (quality, codec, compression, GPU policy)
 * or a re-created VideoJob (new uid) gives a new key, so the episode is done again. The content key
 * is recorded beside it for the encode cache and for audit.
 */
export function stagingKey(env: Pick<EpisodeEnv, "uid" | "episode" | "job">): string {
  const what = {
    v: 1,
    uid: env.uid,
    index: env.episode.index,
    url: env.episode.url,
    settings: encodeSettings(env.job.spec),
  };
  return createHash("sha256").update(JSON.stringify(what)).digest("hex").slice(0, 32);
}

function outcomeOf(status: EpisodeStatus, extra: Partial<EpisodeOutcome>): EpisodeOutcome {
  return {
    mode: "episode",
    index: status.index,
    phase: status.phase,
    ...(status.encoder ? { encoder: status.encoder } : {}),
    ...(status.quality ? { quality: status.quality } : {}),
    ...(status.bytesDownloaded !== undefined ? { bytesDownloaded: status.bytesDownloaded } : {}),
    ...(status.bytesOutput !== undefined ? { bytesOutput: status.bytesOutput } : {}),
    ...(status.durationSecs !== undefined ? { durationSecs: status.durationSecs } : {}),
    ...(status.error ? { error: status.error } : {}),
    ...(status.warnings ? { warnings: status.warnings } : {}),
    ...(status.source ? { source: status.source } : {}),
    ...(status.loudness ? { loudness: status.loudness } : {}),
    ...(status.picture ? { picture: status.picture } : {}),
    // A title the source gave (the manifest had none): the operator shows it and chapters by it.
    ...(status.source?.title && status.title === status.source.title ? { title: status.title } : {}),
    ...extra,
  };
}

export async function runEpisodePod(env: EpisodeEnv, ctx: PodContext): Promise<EpisodeOutcome> {
  const { index } = env.episode;
  const { log, staging, progress } = ctx;
  const key = stagingKey(env);
  const done = await alreadyStaged(env, ctx, key);
  if (done) return done;

  log.info({ url: redact(env.episode.url), encoderHint: env.encoderHint }, "episode starting");
  // A long episode is cut into segments for the operator's Indexed Job instead of encoded here.
  const cut: {
    segments?: SplitRecord["segments"];
    audio?: SplitRecord["audio"];
    loudness?: EpisodeStatus["loudness"];
  } = {};
  // The manifest's own title only: an untitled episode takes its source's title (processEpisode).
  const given = env.job.spec.episodes[0]?.title;
  const subtitles = env.job.spec.episodes[0]?.subtitles;
  const own = { ...(given ? { title: given } : {}), ...(subtitles ? { subtitles } : {}) };
  const r = await processEpisode({ url: env.episode.url, ...own }, index, {
    stages: ctx.stages,
    spec: env.job.spec,
    cacheDir: ctx.cacheDir,
    workDir: join(ctx.scratch, `ep${index}`),
    signal: ctx.signal,
    emit: progressEmitter(index, ctx),
    now: ctx.now ?? (() => new Date()),
    split: (source, probe, sctx) => cutAndStage(env, ctx, source, probe.durationSecs, sctx, cut),
  });
  const ytDlp = r.route === "page" ? await ctx.ytDlpVersion() : undefined;
  const withYtDlp = ytDlp ? { ytDlp } : {};
  if (r.status.phase === "Completed" && r.splitSegments && cut.segments) {
    const record: SplitRecord = {
      v: 1,
      videojob: env.ref,
      uid: env.uid,
      index,
      stagingKey: key,
      durationSecs: r.status.durationSecs ?? 0,
      bytesDownloaded: r.status.bytesDownloaded ?? 0,
      segments: cut.segments,
      ...(r.sourceChapters ? { sourceChapters: r.sourceChapters } : {}),
      ...(cut.audio ? { audio: cut.audio } : {}),
      ...withYtDlp,
    };
    // The record goes last: segment pods trust only segments it names.
    await putJson(staging, ctx.scratch, splitRecordFile(index), record);
    progress.report({ index, stage: "done", fraction: 1, detail: "split" });
    const staged = staging.locate(splitRecordFile(index));
    const status = cut.loudness ? { ...r.status, loudness: cut.loudness } : r.status;
    return outcomeOf(status, { split: { segments: r.splitSegments }, staged, ...withYtDlp });
  }
  if (r.status.phase !== "Completed" || !r.encodedPath || !r.key) {
    progress.report({ index, stage: "done", fraction: 1, ended: r.status.phase, detail: r.status.error?.code ?? "" });
    return outcomeOf(r.status, withYtDlp);
  }
  if (env.encoderHint && !r.status.encoder?.startsWith(env.encoderHint)) {
    log.warn({ encoder: r.status.encoder, encoderHint: env.encoderHint }, "encoded with another encoder than planned");
  }
  const validator = r.validator;
  return stageEncoded(env, ctx, {
    key,
    encodedPath: r.encodedPath,
    encodeKey: r.key,
    status: r.status,
    ytDlp,
    validator,
    sourceChapters: r.sourceChapters,
  });
}

/** A staging that already holds this episode (or its split) for the same request: answered, nothing redone. */
async function alreadyStaged(env: EpisodeEnv, ctx: PodContext, key: string): Promise<EpisodeOutcome | undefined> {
  const { index } = env.episode;
  const { log, staging, signal, progress } = ctx;
  const existing = await staging.readJson<EpisodeRecord>(episodeRecordFile(index), signal);
  // A record staged before the job asked for source chapters lacks them: that episode is done again.
  const marks = env.job.spec.merge.chapterMarks;
  const wantsOwn = marks === "source" || marks === "both";
  const lacksChapters = wantsOwn && !existing?.sourceChapters;
  if (existing?.stagingKey === key && existing.status?.phase === "Completed" && !lacksChapters) {
    const staged = staging.locate(episodeFile(index));
    log.info({ stagingKey: key, staged }, "episode already staged; nothing to do");
    progress.report({ index, stage: "done", fraction: 1, detail: "already staged" });
    return outcomeOf(existing.status, { reused: true, staged, ...(existing.ytDlp ? { ytDlp: existing.ytDlp } : {}) });
  }
  if (existing) log.info({ recorded: existing.stagingKey, stagingKey: key }, "staged episode is stale; redoing it");
  const split = await staging.readJson<SplitRecord>(splitRecordFile(index), signal);
  if (split?.stagingKey !== key || (wantsOwn && !split.sourceChapters)) return undefined;
  log.info({ stagingKey: key, segments: split.segments.length }, "episode already split and staged; nothing to do");
  progress.report({ index, stage: "done", fraction: 1, detail: "already split" });
  return {
    mode: "episode",
    index,
    phase: "Completed",
    reused: true,
    split: { segments: split.segments.length },
    durationSecs: split.durationSecs,
    bytesDownloaded: split.bytesDownloaded,
    staged: staging.locate(splitRecordFile(index)),
    ...(split.ytDlp ? { ytDlp: split.ytDlp } : {}),
  };
}

/** The pipeline's events as this pod's live progress, and a log line per phase. */
function progressEmitter(index: number, ctx: PodContext) {
  let lastPhase = "";
  return (e: JobEvent) => {
    if (e.type !== "episode") return;
    if (e.stage) {
      ctx.progress.report({
        index,
        stage: e.stage,
        fraction: e.fraction ?? 0,
        ...(e.detail ? { detail: e.detail } : {}),
      });
    }
    if (e.phase !== lastPhase) {
      lastPhase = e.phase;
      ctx.log.info({ phase: e.phase, stage: e.stage }, "episode phase");
    }
  };
}

/**
 * When the episode is long enough to split: cuts the source at keyframes, stages each segment's
 * source and the audio, and answers how many segments there are (into `out`); undefined otherwise.
 */
async function cutAndStage(
  env: EpisodeEnv,
  ctx: PodContext,
  source: string,
  durationSecs: number,
  sctx: Pick<EncodeContext, "progress" | "subtitles">,
  out: { segments?: SplitRecord["segments"]; audio?: SplitRecord["audio"]; loudness?: EpisodeStatus["loudness"] },
): Promise<number | undefined> {
  const { index } = env.episode;
  const { staging, stages, signal } = ctx;
  if (!shouldSplit(env.job.spec, durationSecs)) return undefined;
  const binaries = ctx.binaries ?? defaultBinaries;
  const workDir = join(ctx.scratch, `split-ep${index}`);
  const subtitles = sctx.subtitles ?? [];
  const cut = await cutSource({ source, spec: env.job.spec, workDir, binaries, signal, subtitles });
  if (!cut) return undefined;
  const segments: SplitRecord["segments"] = [];
  for (const segment of cut.segments) {
    const sha256 = await stages.sha256(segment.path);
    await staging.put(segment.path, segmentSourceFile(index, segment.index), { sha256, signal });
    segments.push({ index: segment.index, frames: segment.frames, startSecs: segment.startSecs, sha256 });
    const n = cut.segments.length;
    sctx.progress((segment.index + 1) / (n + 1), `staged segment ${segment.index + 1}/${n}`);
  }
  if (cut.audio) {
    const tracks = cut.audioTracks ? { tracks: cut.audioTracks } : {};
    const subtitles = cut.subtitles ? { subtitles: cut.subtitles } : {};
    out.audio = { sha256: await stages.sha256(cut.audio), ...tracks, ...subtitles };
    await staging.put(cut.audio, audioFile(index), { sha256: out.audio.sha256, signal });
  }
  out.segments = segments;
  if (cut.loudness) out.loudness = cut.loudness;
  ctx.log.info({ segments: segments.length, durationSecs: cut.durationSecs }, "episode split for parallel encoding");
  return segments.length;
}

/** Uploads the encoded episode to staging, then its record (last: without it the file is never trusted). */
async function stageEncoded(
  env: EpisodeEnv,
  ctx: PodContext,
  r: {
    key: string;
    encodedPath: string;
    encodeKey: string;
    status: EpisodeStatus;
    ytDlp: string | undefined;
    validator: string | undefined;
    /** Only when merge.chapterMarks asked for them (processEpisode read them). */
    sourceChapters?: SourceChapter[];
  },
): Promise<EpisodeOutcome> {
  const { index } = env.episode;
  const { log, staging, stages, signal, progress } = ctx;
  const status: EpisodeStatus = { ...r.status, phase: "Uploading" };
  const sha256 = await stages.sha256(r.encodedPath);
  const stored = await staging.put(r.encodedPath, episodeFile(index), {
    sha256,
    signal,
    onProgress: (done, total) => progress.report({ index, stage: "store", fraction: total ? done / total : 1 }),
  });
  status.phase = "Completed";
  const record: EpisodeRecord = {
    v: 1,
    videojob: env.ref,
    uid: env.uid,
    index,
    stagingKey: r.key,
    encodeKey: r.encodeKey,
    sha256,
    status,
    ...(r.ytDlp ? { ytDlp: r.ytDlp } : {}),
    ...(r.validator ? { sourceValidator: r.validator } : {}),
    ...(r.sourceChapters ? { sourceChapters: r.sourceChapters } : {}),
  };
  await putJson(staging, ctx.scratch, episodeRecordFile(index), record);
  progress.report({ index, stage: "done", fraction: 1 });
  log.info({ staged: stored.location, bytes: stored.sizeBytes, encoder: status.encoder }, "episode staged");
  return outcomeOf(status, { staged: stored.location, ...(r.ytDlp ? { ytDlp: r.ytDlp } : {}) });
}
