// An episode pod: one episode through the same stages as `reel run` (processEpisode), then the
// encoded file and its record into staging. The record goes last and marks the episode done, so
// a pod killed at any point leaves either nothing trusted or a complete episode.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Logger } from "pino";
import { redact } from "../fetch/classify.ts";
import type { JobEvent } from "../pipeline/events.ts";
import { encodeSettings, processEpisode } from "../pipeline/job.ts";
import type { Stages } from "../pipeline/stages.ts";
import type { EpisodeStatus } from "../pipeline/types.ts";
import type { EpisodeEnv } from "./env.ts";
import type { ProgressSink } from "./progress.ts";
import { putJson, type Staging } from "./staging.ts";
import { type EpisodeOutcome, staged } from "@reel/crds";
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

/** What ep<index>.json holds. */
export interface EpisodeRecord {
  v: 1;
  videojob: string;
  uid: string;
  index: number;
  /** Decides reuse by a later pod of this episode (see stagingKey). */
  stagingKey: string;
  /** The encode cache key (source content + settings) of the staged file. */
  encodeKey: string;
  /** sha256 hex of ep<index>.mp4, checked by the merge pod. */
  sha256: string;
  status: EpisodeStatus;
  ytDlp?: string;
}

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
    ...extra,
  };
}

export async function runEpisodePod(env: EpisodeEnv, ctx: PodContext): Promise<EpisodeOutcome> {
  const { index } = env.episode;
  const { log, staging, stages, signal, progress } = ctx;
  const key = stagingKey(env);
  const recordName = episodeRecordFile(index);
  const videoName = episodeFile(index);

  const existing = await staging.readJson<EpisodeRecord>(recordName, signal);
  if (existing?.stagingKey === key && existing.status?.phase === "Completed") {
    log.info({ stagingKey: key, staged: `${staging.locate(videoName)}` }, "episode already staged; nothing to do");
    progress.report({ index, stage: "done", fraction: 1, detail: "already staged" });
    return outcomeOf(existing.status, {
      reused: true,
      staged: `${staging.locate(videoName)}`,
      ...(existing.ytDlp ? { ytDlp: existing.ytDlp } : {}),
    });
  }
  if (existing) log.info({ recorded: existing.stagingKey, stagingKey: key }, "staged episode is stale; redoing it");
  const splitBefore = await staging.readJson<SplitRecord>(splitRecordFile(index), signal);
  if (splitBefore?.stagingKey === key) {
    const segments = splitBefore.segments.length;
    log.info({ stagingKey: key, segments }, "episode already split and staged; nothing to do");
    progress.report({ index, stage: "done", fraction: 1, detail: "already split" });
    return {
      mode: "episode",
      index,
      phase: "Completed",
      reused: true,
      split: { segments },
      durationSecs: splitBefore.durationSecs,
      bytesDownloaded: splitBefore.bytesDownloaded,
      staged: staging.locate(splitRecordFile(index)),
      ...(splitBefore.ytDlp ? { ytDlp: splitBefore.ytDlp } : {}),
    };
  }

  log.info({ url: redact(env.episode.url), encoderHint: env.encoderHint }, "episode starting");
  let lastPhase = "";
  const emit = (e: JobEvent) => {
    if (e.type !== "episode") return;
    if (e.stage)
      progress.report({ index, stage: e.stage, fraction: e.fraction ?? 0, ...(e.detail ? { detail: e.detail } : {}) });
    if (e.phase !== lastPhase) {
      lastPhase = e.phase;
      log.info({ phase: e.phase, stage: e.stage }, "episode phase");
    }
  };
  // A long episode is cut into segments for the operator's Indexed Job instead of encoded here.
  let split: { segments: SplitRecord["segments"]; audio?: { sha256: string } } | undefined;
  const r = await processEpisode({ url: env.episode.url, title: env.episode.title }, index, {
    stages,
    spec: env.job.spec,
    cacheDir: ctx.cacheDir,
    workDir: join(ctx.scratch, `ep${index}`),
    signal,
    emit,
    now: ctx.now ?? (() => new Date()),
    split: async (source, probe, sctx) => {
      if (!shouldSplit(env.job.spec, probe.durationSecs)) return undefined;
      const binaries = ctx.binaries ?? defaultBinaries;
      const workDir = join(ctx.scratch, `split-ep${index}`);
      const cut = await cutSource({ source, spec: env.job.spec, workDir, binaries, signal });
      if (!cut) return undefined;
      const segments: SplitRecord["segments"] = [];
      for (const segment of cut.segments) {
        const sha256 = await stages.sha256(segment.path);
        await staging.put(segment.path, segmentSourceFile(index, segment.index), { sha256, signal });
        segments.push({ index: segment.index, frames: segment.frames, startSecs: segment.startSecs, sha256 });
        sctx.progress(
          (segment.index + 1) / (cut.segments.length + 1),
          `staged segment ${segment.index + 1}/${cut.segments.length}`,
        );
      }
      let audio: { sha256: string } | undefined;
      if (cut.audio) {
        audio = { sha256: await stages.sha256(cut.audio) };
        await staging.put(cut.audio, audioFile(index), { sha256: audio.sha256, signal });
      }
      split = { segments, ...(audio ? { audio } : {}) };
      log.info({ segments: segments.length, durationSecs: cut.durationSecs }, "episode split for parallel encoding");
      return segments.length;
    },
  });
  const ytDlp = r.route === "page" ? await ctx.ytDlpVersion() : undefined;
  if (r.status.phase === "Completed" && r.splitSegments && split) {
    const record: SplitRecord = {
      v: 1,
      videojob: env.ref,
      uid: env.uid,
      index,
      stagingKey: key,
      durationSecs: r.status.durationSecs ?? 0,
      bytesDownloaded: r.status.bytesDownloaded ?? 0,
      segments: split.segments,
      ...(split.audio ? { audio: split.audio } : {}),
      ...(ytDlp ? { ytDlp } : {}),
    };
    // The record goes last: segment pods trust only segments it names.
    await putJson(staging, ctx.scratch, splitRecordFile(index), record);
    progress.report({ index, stage: "done", fraction: 1, detail: "split" });
    return outcomeOf(r.status, {
      split: { segments: r.splitSegments },
      staged: staging.locate(splitRecordFile(index)),
      ...(ytDlp ? { ytDlp } : {}),
    });
  }
  if (r.status.phase !== "Completed" || !r.encodedPath || !r.key) {
    progress.report({ index, stage: "done", fraction: 1, ended: r.status.phase, detail: r.status.error?.code ?? "" });
    return outcomeOf(r.status, ytDlp ? { ytDlp } : {});
  }
  if (env.encoderHint && !r.status.encoder?.startsWith(env.encoderHint)) {
    log.warn({ encoder: r.status.encoder, encoderHint: env.encoderHint }, "encoded with another encoder than planned");
  }

  const status: EpisodeStatus = { ...r.status, phase: "Uploading" };
  const sha256 = await stages.sha256(r.encodedPath);
  const stored = await staging.put(r.encodedPath, videoName, {
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
    stagingKey: key,
    encodeKey: r.key,
    sha256,
    status,
    ...(ytDlp ? { ytDlp } : {}),
  };
  // The record goes last: without it the staged file is never trusted.
  await putJson(staging, ctx.scratch, recordName, record);
  progress.report({ index, stage: "done", fraction: 1 });
  log.info({ staged: stored.location, bytes: stored.sizeBytes, encoder: status.encoder }, "episode staged");
  return outcomeOf(status, { staged: stored.location, ...(ytDlp ? { ytDlp } : {}) });
}
