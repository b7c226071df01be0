// Runs a whole VideoJob on this machine: every episode through fetch → probe → encode → measure
// with bounded concurrency, then one merged file with a chapter per episode, stored on the target.
// A failed episode never stops the others; finished encodes are kept in a content-keyed cache so
// a re-run reuses them; the temporary directory goes away on success and on failure.
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { failedEpisodesSummary, ReelError, type SourceChapter, type VideoJob, type VideoJobSpec } from "@reel/crds";
import { encodeSettings } from "@reel/crds/reuse";
import { episodeTitle, sourceFacts } from "../fetch/facts.ts";
import type { OutputTarget, StoredObject } from "../output/target.ts";
import { episodeFileName, mergedFileName, previewNames, safeName } from "../output/names.ts";
import { fetchSubtitles, withSubtitlesHash } from "../subtitles/episode.ts";
import { type Emit, overall, type Stage } from "./events.ts";
import type { EncodeContext, Fetched, MergeMismatch, SourceProbe, StageContext, Stages } from "./stages.ts";
import { mergedQuality } from "../quality/episode.ts";
import type { EpisodeStatus } from "./types.ts";

export interface RunOptions {
  stages: Stages;
  target: OutputTarget;
  /** Where reusable work (encoded episodes) is kept between runs. */
  cacheDir: string;
  /** Parent of the per-run temporary directory. */
  tmpDir: string;
  concurrency: number;
  emit?: Emit;
  signal?: AbortSignal;
  now?: () => Date;
  /** The pinned yt-dlp's version, recorded in the result when an episode came through it. */
  ytDlpVersion?: () => Promise<string | undefined>;
}

export interface EpisodeResult {
  status: EpisodeStatus;
  encodedPath?: string;
  probe?: SourceProbe;
  /** The encode cache key (source content + settings) of a completed episode. */
  key?: string;
  route?: Fetched["route"];
  /** The episode was split for parallel pods (EpisodeOptions.split took it over): its segment count. */
  splitSegments?: number;
  /** The source's validator at download (Fetched.validator): recorded with the staged episode for reuse. */
  validator?: string;
  /** The source's own chapters, read only when merge.chapterMarks is source or both. */
  sourceChapters?: SourceChapter[];
}

export interface JobResult {
  phase: "Completed" | "Failed" | "Cancelled";
  episodes: EpisodeStatus[];
  output?: StoredObject & {
    durationSecs?: number;
    chapters?: number;
    thumbnails?: { vtt: string; sheets: number };
    /** One WebVTT file per subtitle language, beside the output. */
    subtitles?: { language: string; vtt: string }[];
    /** The merged file's scores, from its episodes' (quality/episode.ts mergedQuality). */
    quality?: EpisodeStatus["quality"];
  };
  /** Extra outputs when merge is off: one stored file per episode. */
  episodeOutputs?: StoredObject[];
  error?: { code: string; message: string };
  stageSeconds: Record<string, number>;
  ytDlpVersion?: string;
}

/** The settings that change an encode's bytes: one definition with the operator's reuse (crds/src/reuse.ts). */
export { encodeSettings };

/** With the source's content hash, the settings key the encode cache. */
export function encodeKey(sourceHash: string, spec: VideoJobSpec): string {
  return createHash("sha256")
    .update(sourceHash)
    .update(JSON.stringify(encodeSettings(spec)))
    .digest("hex")
    .slice(0, 32);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.size > 0,
    () => false,
  );
}

/** What the encode cache keeps beside an encoded episode; `decodedSecs` is absent in older entries. */
interface Sidecar {
  encoder: string;
  quality: EpisodeStatus["quality"];
  decodedSecs?: number;
  loudness?: EpisodeStatus["loudness"];
  picture?: EpisodeStatus["picture"];
  warnings?: EpisodeStatus["warnings"];
}

/** Adds what an encode reported to the episode's warnings (status keeps at most 8). */
function addWarnings(status: EpisodeStatus, list: EpisodeStatus["warnings"]): void {
  if (list?.length) status.warnings = [...(status.warnings ?? []), ...list].slice(0, 8);
}

/**
 * Compares what was decoded with the length the source announced. Beyond a second (or 1 % of a long
 * episode: rounding and the usual audio/video end mismatch) the source was cut short — at the origin,
 * or an upload that never finished — and the output would silently lack its end: that is
 * REEL_SOURCE_TRUNCATED, or with merge.allowPartial a warning on the episode. Either way the
 * episode's length in status is what was decoded.
 */
export function checkDecoded(
  status: EpisodeStatus,
  announcedSecs: number,
  decodedSecs: number | undefined,
  allowPartial: boolean,
): void {
  if (decodedSecs === undefined) return;
  status.durationSecs = decodedSecs;
  const missing = announcedSecs - decodedSecs;
  if (missing <= Math.max(1, announcedSecs * 0.01)) return;
  const message = `the source announces ${announcedSecs.toFixed(1)} s but only ${decodedSecs.toFixed(1)} s could be decoded (${Math.round((missing / announcedSecs) * 100)} % missing)`;
  if (!allowPartial) throw new ReelError("REEL_SOURCE_TRUNCATED", message);
  status.warnings = [
    ...(status.warnings ?? []),
    { code: "REEL_SOURCE_TRUNCATED", message: `${message}; kept (merge.allowPartial)` },
  ];
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

class Timer {
  readonly totals: Record<string, number> = {};
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.totals[name] = (this.totals[name] ?? 0) + (performance.now() - t0) / 1000;
    }
  }
}

/** What one episode needs to run alone: `runJob` passes its own; a worker pod passes its one episode. */
export interface EpisodeOptions {
  stages: Stages;
  spec: VideoJobSpec;
  /** Where finished encodes are kept (content-keyed); reused when the same bytes come again. */
  cacheDir: string;
  /** Scratch for this episode's source; removed when the episode ends. */
  workDir: string;
  signal: AbortSignal;
  emit: Emit;
  now: () => Date;
  time?: <T>(stage: string, fn: () => Promise<T>) => Promise<T>;
  /** Holds the encode until one of the job's encode slots is free (runJob's); runs it at once when unset. */
  encodeSlot?: <T>(fn: () => Promise<T>) => Promise<T>;
  /**
   * A worker pod's chance to split a long episode for parallel pods instead of encoding it here:
   * called after the probe; a segment count means it staged the pieces and the episode ends here.
   */
  split?: (source: string, probe: SourceProbe, ctx: EncodeContext) => Promise<number | undefined>;
}

/**
 * fetch → probe → encode (or reuse) → measure for one episode. Never throws: a failure is in the
 * status with its code. `index` is the episode's place in the whole job (titles, events), which a
 * worker pod's single-episode spec does not know.
 */
export async function processEpisode(
  ep: VideoJobSpec["episodes"][number],
  index: number,
  o: EpisodeOptions,
): Promise<EpisodeResult> {
  const { spec, stages, signal, emit, now } = o;
  const time = o.time ?? ((_stage, fn) => fn());
  const encodedDir = join(o.cacheDir, "encoded");
  const ctx = (stage: Stage, phase: EpisodeStatus["phase"]): StageContext => ({
    signal,
    progress: (f, detail) =>
      emit({
        type: "episode",
        index,
        phase,
        stage,
        progress: overall(stage, f),
        fraction: Math.min(1, Math.max(0, Number.isFinite(f) ? f : 0)),
        ...(detail ? { detail } : {}),
      }),
  });
  const title = ep.title ?? `Episode ${index + 1}`;
  const status: EpisodeStatus = {
    index,
    title,
    phase: "Pending",
    progress: 0,
    attempts: 1,
    startedAt: now().toISOString(),
  };
  const dir = o.workDir;
  try {
    await mkdir(dir, { recursive: true });
    await mkdir(encodedDir, { recursive: true });
    const fetched = await time("fetch", () => stages.fetch(ep.url, dir, spec, ctx("fetch", "Downloading")));
    status.bytesDownloaded = fetched.bytes;
    // Untitled in the manifest: the chapter takes the source's own title (a page's, from yt-dlp).
    status.title = episodeTitle(ep.title, index, fetched.site);
    const probe = await time("probe", () => stages.probe(fetched.path, ctx("probe", "Probing")));
    status.durationSecs = probe.durationSecs;
    status.source = sourceFacts(probe, fetched.site);
    const chapters = await ownChapters(fetched.path, index, o, ctx("probe", "Probing"));
    // The episode's own files first: they win over the site's of the same language.
    const own = await fetchSubtitles(ep, spec, dir, stages, ctx("fetch", "Downloading"));
    const subtitles = [...own, ...(fetched.subtitles ?? [])];
    const splitCtx = { ...ctx("encode", "Transcoding"), subtitles };
    const segments = o.split
      ? await time("split", () => o.split?.(fetched.path, probe, splitCtx) ?? Promise.resolve(undefined))
      : undefined;
    if (segments) {
      await rm(dir, { recursive: true, force: true });
      status.phase = "Completed";
      status.progress = 100;
      status.segments = { total: segments, completed: 0 };
      status.finishedAt = now().toISOString();
      // A split episode's own chapters go in its split record, then its joined record.
      return { status, probe, route: fetched.route, splitSegments: segments, ...chapters };
    }

    const key = encodeKey(await withSubtitlesHash(await stages.hash(fetched.path), subtitles, stages.hash), spec);
    const encodedPath = join(encodedDir, `${key}.mp4`);
    const sidecar = join(encodedDir, `${key}.json`);
    const encCtx = ctx("encode", "Transcoding");
    const reused = (await exists(encodedPath)) ? await readSidecar(sidecar) : undefined;
    if (reused) {
      checkDecoded(status, probe.durationSecs, reused.decodedSecs, spec.merge.allowPartial);
      status.encoder = `${reused.encoder} (reused)`;
      status.quality = reused.quality;
      if (reused.loudness) status.loudness = reused.loudness;
      if (reused.picture) status.picture = reused.picture;
      addWarnings(status, reused.warnings);
      encCtx.progress(1, "reused a finished encode");
    } else {
      const partial = join(dir, "encoded.mp4");
      stages.prepare?.(fetched.path, probe, spec, encCtx);
      const slot = o.encodeSlot ?? ((fn) => fn());
      const enc = await slot(() =>
        time("encode", () => stages.encode(fetched.path, probe, partial, spec, { ...encCtx, subtitles })),
      );
      checkDecoded(status, probe.durationSecs, enc.decodedSecs, spec.merge.allowPartial);
      status.encoder = enc.encoder;
      if (enc.loudness) status.loudness = enc.loudness;
      if (enc.picture) status.picture = enc.picture;
      addWarnings(status, enc.warnings);
      status.quality =
        enc.quality ??
        (await time("measure", () => stages.measure(fetched.path, partial, probe, ctx("measure", "Measuring"))));
      await rename(partial, encodedPath).catch(async () => {
        await copyFile(partial, encodedPath); // cache on another filesystem
      });
      // The sidecar goes last: an encode without one is never trusted as finished.
      const kept: Sidecar = {
        encoder: enc.encoder,
        quality: status.quality,
        decodedSecs: enc.decodedSecs,
        loudness: enc.loudness,
        picture: enc.picture,
        warnings: enc.warnings,
      };
      await writeFile(sidecar, JSON.stringify(kept));
    }
    status.bytesOutput = (await stat(encodedPath)).size;
    // The source is no longer needed: free the disk before the next episode starts.
    await rm(dir, { recursive: true, force: true });
    status.phase = "Completed";
    status.progress = 100;
    status.finishedAt = now().toISOString();
    const validator = fetched.validator ? { validator: fetched.validator } : {};
    return { status, encodedPath, probe, key, route: fetched.route, ...validator, ...chapters };
  } catch (err) {
    const e = ReelError.from(err, "REEL_FFMPEG_FAILED", `episode ${index + 1}`);
    status.phase = signal.aborted ? "Cancelled" : "Failed";
    status.error = { code: e.code, message: e.message };
    status.finishedAt = now().toISOString();
    await rm(dir, { recursive: true, force: true });
    return { status };
  } finally {
    emit({ type: "episode-done", index, status });
  }
}

/**
 * The source's own chapters when merge.chapterMarks asks for them (else undefined: no ffprobe run).
 * Times are relative to the source's first frame, which is the encoded episode's (nothing is trimmed).
 * Unreadable chapters are a warning, not a failed episode: it merges with its episode chapter.
 */
async function ownChapters(
  path: string,
  index: number,
  o: EpisodeOptions,
  ctx: StageContext,
): Promise<{ sourceChapters: SourceChapter[] } | undefined> {
  const marks = o.spec.merge.chapterMarks;
  if ((marks !== "source" && marks !== "both") || !o.stages.chapters) return undefined;
  try {
    return { sourceChapters: await o.stages.chapters(path, ctx) };
  } catch (err) {
    if (o.signal.aborted) throw err;
    const message = `episode ${index + 1}: its own chapters are left out: ${(err as Error).message}`;
    o.emit({ type: "note", level: "warn", message });
    return undefined;
  }
}

export interface MergeOptions {
  stages: Stages;
  spec: VideoJobSpec;
  /** Scratch for normalised copies; the caller removes it. */
  tmp: string;
  signal: AbortSignal;
  emit: Emit;
}

/**
 * Joins encoded episodes in order into `output`, a chapter per title when the spec asks.
 * Episodes from different sources can differ in size or frame rate: the odd ones are re-encoded to
 * the first episode's parameters first, then everything is joined losslessly.
 */
export async function mergeEncoded(
  inputs: MergeInput[],
  output: string,
  o: MergeOptions,
): Promise<{ durationSecs: number; chapters: number }> {
  const mctx: StageContext = {
    signal: o.signal,
    progress: (f) => o.emit({ type: "merge", progress: Math.round(f * 100) }),
  };
  const mismatches = await o.stages.compatible(
    inputs.map((i) => i.path),
    o.spec,
  );
  if (mismatches.length) {
    const odd = new Set(mismatches.map((m) => m.input));
    const reference = inputs[0]?.path as string;
    o.emit({
      type: "note",
      level: "info",
      message: `normalising ${odd.size} episode(s) to match episode 1 before merging`,
    });
    inputs = await Promise.all(
      inputs.map(async (input, i) => {
        if (!odd.has(i)) return input;
        const out = join(o.tmp, `normalised-${i}.mp4`);
        await o.stages.normalise(input.path, reference, out, o.spec, mctx);
        return { ...input, path: out };
      }),
    );
    const left = await o.stages.compatible(
      inputs.map((i) => i.path),
      o.spec,
    );
    if (left.length) throw new ReelError("REEL_MERGE_MISMATCH", mismatchMessage(inputs, left));
  }
  const joined = inputs.map(({ path, title, chapters }) => ({ path, title, ...(chapters ? { chapters } : {}) }));
  return o.stages.merge(joined, output, o.spec.merge.chapters, mctx, o.spec);
}

/** One merge input: an encoded episode, with its place in the job when known (for messages). */
export interface MergeInput {
  path: string;
  title: string;
  /** The episode's index in the job (0-based). */
  episode?: number;
  /** Its source's own chapters (merge.chapterMarks source/both), relative to the episode's start. */
  chapters?: SourceChapter[];
}

/** Names each episode that still cannot be joined, and the field, in the job's numbering. */
export function mismatchMessage(inputs: readonly MergeInput[], list: readonly MergeMismatch[]): string {
  const name = (i: number) => {
    const input = inputs[i];
    const n = (input?.episode ?? i) + 1;
    return input?.title ? `episode ${n} (${JSON.stringify(input.title)})` : `episode ${n}`;
  };
  const lines = list.map((m) => `${name(m.input)}: ${m.field} is ${m.found}, ${name(0)} has ${m.expected}`);
  return `episodes cannot be joined even after normalising: ${lines.join("; ")}; the encoded episodes are kept for a retry`;
}

/** Stores a finished file on the target with its sha256, reporting upload progress. */
export async function storeFile(
  stages: Stages,
  target: OutputTarget,
  path: string,
  file: string,
  o: { signal: AbortSignal; emit: Emit },
): Promise<StoredObject> {
  const sha256 = await stages.sha256(path);
  return target.put(path, file, {
    sha256,
    signal: o.signal,
    onProgress: (d, t) => o.emit({ type: "store", progress: t ? Math.round((d / t) * 100) : 100 }),
  });
}

export interface PreviewContext {
  stages: Stages;
  /** Scratch for the images before they are stored. */
  dir: string;
  signal: AbortSignal;
  emit: Emit;
  store(path: string, file: string): Promise<StoredObject>;
}

/** Previews help people look; nothing depends on them: a failure is a warning note, never a failed job. */
async function previewStep<T>(c: PreviewContext, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    await mkdir(c.dir, { recursive: true });
    return await fn();
  } catch (err) {
    if (c.signal.aborted) throw err;
    const e = ReelError.from(err, "REEL_FFMPEG_FAILED");
    c.emit({ type: "note", level: "warn", message: `${what} not made: ${e.code} ${e.message}` });
    return undefined;
  }
}

/** An episode's poster, stored as `file` beside the output; answers where it went. */
export async function storePoster(c: PreviewContext, encodedPath: string, file: string): Promise<string | undefined> {
  const local = await makePosterFile(c, encodedPath, file);
  return local ? storeMadePoster(c, local, file) : undefined;
}

/** An episode's poster written into the scratch folder as `name`, not stored yet; answers its path. */
export function makePosterFile(
  c: PreviewContext,
  encodedPath: string,
  name: string,
  durationSecs?: number,
): Promise<string | undefined> {
  return previewStep(c, "poster", async () => {
    const local = join(c.dir, name);
    await c.stages.poster?.(encodedPath, local, { signal: c.signal, progress: () => {} }, durationSecs);
    return local;
  });
}

/** A poster made by makePosterFile, stored as `file` beside the output; answers where it went. */
export function storeMadePoster(c: PreviewContext, local: string, file: string): Promise<string | undefined> {
  return previewStep(c, "poster", async () => (await c.store(local, file)).location);
}

/** The merged file's seek thumbnails (sheets and their WebVTT index), stored beside it. */
export function storeThumbnails(c: PreviewContext, mergedPath: string, outputFile: string) {
  const { stem, thumbsVtt } = previewNames(outputFile);
  const make = c.stages.thumbnails;
  if (!make) return Promise.resolve(undefined);
  return previewStep(c, "seek thumbnails", async () => {
    const sprite = await make(mergedPath, c.dir, stem, { signal: c.signal, progress: () => {} });
    for (const sheet of sprite.sheets) await c.store(join(c.dir, sheet), sheet);
    await writeFile(join(c.dir, thumbsVtt), sprite.vtt);
    const vtt = await c.store(join(c.dir, thumbsVtt), thumbsVtt);
    return { vtt: vtt.location, sheets: sprite.sheets.length };
  });
}

/** The merged file's subtitles as one WebVTT file per language (cues at its times), stored beside it. */
export function storeSubtitles(c: PreviewContext, mergedPath: string, outputFile: string) {
  const make = c.stages.subtitles;
  if (!make) return Promise.resolve(undefined);
  const { stem } = previewNames(outputFile);
  return previewStep(c, "subtitle WebVTT files", async () => {
    const files = await make(mergedPath, c.dir, stem, { signal: c.signal, progress: () => {} });
    const stored: { language: string; vtt: string }[] = [];
    for (const f of files)
      stored.push({ language: f.language, vtt: (await c.store(join(c.dir, f.file), f.file)).location });
    return stored;
  });
}

/** What runJob's episodes share: its scratch folder, signal, events, clock, stage timer and previews. */
interface EpisodeRun {
  tmp: string;
  signal: AbortSignal;
  emit: Emit;
  now: () => Date;
  time: <T>(stage: string, fn: () => Promise<T>) => Promise<T>;
  previews: PreviewContext;
}

/**
 * runJob's episodes: `concurrency` encodes at once, and as many episodes ahead download and probe
 * meanwhile, so an encode slot that frees finds its next source ready (at most twice `concurrency`
 * sources on disk). Each episode's poster is made as soon as its encode ends, beside the encodes still
 * running, instead of one after another once the merged file is stored (5.5 s of 68 on job-e2e --quick).
 */
function episodeRunner(job: VideoJob, o: RunOptions, x: EpisodeRun) {
  const slots = Math.max(1, o.concurrency);
  const encodeSlot = semaphore(slots);
  // Posters are bounded too: a job of many short episodes must not start an ffmpeg per episode at once.
  const posterSlot = semaphore(slots);
  const posters = new Map<number, Promise<string | undefined>>();
  const runEpisode = async (index: number) => {
    const r = await processEpisode(job.spec.episodes[index] as VideoJobSpec["episodes"][number], index, {
      stages: o.stages,
      spec: job.spec,
      cacheDir: o.cacheDir,
      workDir: join(x.tmp, `ep${index}`),
      signal: x.signal,
      emit: x.emit,
      now: x.now,
      time: x.time,
      encodeSlot,
    });
    if (r.encodedPath && o.stages.poster) {
      const made = posterSlot(() =>
        x.time("preview", () =>
          makePosterFile(x.previews, r.encodedPath as string, `poster-${index}.jpg`, r.status.durationSecs),
        ),
      );
      // Only a cancel rejects (previewStep): the job then ends Cancelled without posters.
      posters.set(
        index,
        made.catch(() => undefined),
      );
    }
    return r;
  };
  return { runEpisode, posters, limit: 2 * slots };
}

export async function runJob(job: VideoJob, o: RunOptions): Promise<JobResult> {
  const { spec } = job;
  const emit: Emit = o.emit ?? (() => {});
  const now = o.now ?? (() => new Date());
  const signal = o.signal ?? new AbortController().signal;
  const timer = new Timer();
  const tmp = await mkdtemp(join(o.tmpDir, `reel-${safeName(job.metadata.name)}-`));
  const time = <T>(stage: string, fn: () => Promise<T>) => timer.time(stage, fn);
  const store = (path: string, file: string) =>
    time("store", () => storeFile(o.stages, o.target, path, file, { signal, emit }));
  const previews: PreviewContext = { stages: o.stages, dir: join(tmp, "previews"), signal, emit, store };
  const { runEpisode, posters, limit } = episodeRunner(job, o, { tmp, signal, emit, now, time, previews });
  const background: Promise<unknown>[] = [];

  try {
    const results = await pool(spec.episodes.length, limit, runEpisode);
    const episodes = results.map((r) => r.status);
    const done = results.filter((r) => r.status.phase === "Completed");
    const failed = episodes.filter((s) => s.phase !== "Completed");
    const ytDlp = results.some((r) => r.route === "page") ? await o.ytDlpVersion?.() : undefined;
    const base = { episodes, stageSeconds: timer.totals, ...(ytDlp ? { ytDlpVersion: ytDlp } : {}) };

    if (signal.aborted)
      return { ...base, phase: "Cancelled", error: { code: "REEL_CANCELLED", message: "job cancelled" } };
    if (done.length === 0 || (failed.length > 0 && !spec.merge.allowPartial)) {
      return {
        ...base,
        phase: "Failed",
        error: { code: "REEL_EPISODES_FAILED", message: failedEpisodesSummary(failed) },
      };
    }
    for (const f of failed) {
      emit({
        type: "note",
        level: "warn",
        message: `episode ${f.index + 1} left out: ${f.error?.code} ${f.error?.message}`,
      });
    }

    const poster = async (r: EpisodeResult, file: string) => {
      const local = await posters.get(r.status.index);
      const at = local ? await storeMadePoster(previews, local, file) : undefined;
      if (at) r.status.poster = at;
    };
    if (!spec.merge.enabled) {
      const episodeOutputs: StoredObject[] = [];
      for (const r of done) {
        const file = episodeFileName(job.metadata.name, r.status.index, r.status.title ?? "");
        episodeOutputs.push(await store(r.encodedPath as string, file));
        await poster(r, previewNames(file).poster);
      }
      return { ...base, phase: "Completed", episodeOutputs };
    }

    const mergedPath = join(tmp, "merged.mp4");
    const inputs = done.map((r) => ({
      path: r.encodedPath as string,
      title: r.status.title ?? "",
      episode: r.status.index,
      ...(r.sourceChapters ? { chapters: r.sourceChapters } : {}),
    }));
    let merged: Awaited<ReturnType<typeof mergeEncoded>> & { quality?: EpisodeStatus["quality"] };
    try {
      merged = await time("merge", () =>
        mergeEncoded(inputs, mergedPath, { stages: o.stages, spec, tmp, signal, emit }),
      );
    } catch (err) {
      // The job failed, not the command: the result still lists every episode (their encodes stay
      // in the cache for the retry).
      const e = ReelError.from(err, "REEL_INTERNAL");
      const phase = signal.aborted ? "Cancelled" : "Failed";
      return { ...base, phase, error: { code: e.code, message: e.message } };
    }
    const quality = mergedQuality(done.map((r) => r.status));
    if (quality) merged.quality = quality;
    const mergedFile = mergedFileName(job.metadata.name);
    // The seek sprite decodes the merged file's keyframes while it is stored and the last posters end.
    const sprite = time("preview", () => storeThumbnails(previews, mergedPath, mergedFile));
    background.push(sprite.catch(() => undefined));
    const stored = await store(mergedPath, mergedFile);
    for (const r of done) await poster(r, previewNames(mergedFile).episodePoster(r.status.index));
    const thumbnails = await sprite;
    const subtitles = spec.subtitles
      ? await time("preview", () => storeSubtitles(previews, mergedPath, mergedFile))
      : undefined;
    const extras = { ...(thumbnails ? { thumbnails } : {}), ...(subtitles?.length ? { subtitles } : {}) };
    return { ...base, phase: "Completed", output: { ...stored, ...merged, ...extras } };
  } finally {
    // No poster's or sprite's ffmpeg is left writing into the folder being removed.
    await Promise.all([...posters.values(), ...background]);
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Runs each `fn` given to it with at most `limit` of them in flight, the rest in the order they came. */
export function semaphore(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let free = limit;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/** Runs `fn(0..n-1)` with at most `limit` in flight; results in index order. */
export async function pool<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(n);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) {
      const i = next++;
      results[i] = await fn(i);
    }
  });
  await Promise.all(workers);
  return results;
}
