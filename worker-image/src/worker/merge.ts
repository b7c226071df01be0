// The merge pod: the staged episodes (checked against their records) joined in order with a
// chapter per title by the same code as `reel run` (mergeEncoded), stored where `reel run` would
// store it and named the same; then merge.json in staging, then the rest of staging removed (unless
// REEL_KEEP_STAGING). With merge off, each listed episode is stored on its own under `reel run`'s
// per-episode name instead. A retried pod answers merge.json's result without redoing anything.
import { createHash } from "node:crypto";
import { join, posix } from "node:path";
import { ReelError, type SourceChapter, staged, type VideoJobSpec } from "@reel/crds";
import { cleanChapters } from "../probe/chapters.ts";
import { LocalTarget } from "../output/local.ts";
import { episodeFileName, mergedFileName, previewNames } from "../output/names.ts";
import { parseDuration, type S3Connection, S3Target } from "../output/s3.ts";
import type { OutputTarget, StoredObject } from "../output/target.ts";
import type { JobEvent } from "../pipeline/events.ts";
import {
  type MergeInput,
  mergeEncoded,
  type PreviewContext,
  storeFile,
  storePoster,
  storeSubtitles,
  storeThumbnails,
} from "../pipeline/job.ts";
import { type EpisodeRecord, episodeFile, episodeRecordFile, type PodContext } from "./episode.ts";
import type { MergeEnv } from "./env.ts";
import { putJson } from "./staging.ts";
import type { JoinedEpisode, MergeOutcome, StoredOutput } from "@reel/crds";
import { defaultBinaries } from "../ffmpeg/run.ts";
import { joinSplitEpisode } from "./split.ts";

/** What a merge pod reports and stores (the contract with the operator: crds/src/worker-result.ts). */
export type { MergeOutcome, StoredOutput } from "@reel/crds";

/** What merge.json holds. */
export interface MergeRecord {
  v: 1;
  videojob: string;
  uid: string;
  key: string;
  /** What was asked without the staged bytes (listKey): a retry asking the same answers this record once staging is cleared. */
  asked?: string;
  /** Stored names, so a later pod can presign them again. */
  names: string[];
  output?: StoredOutput;
  outputs?: StoredOutput[];
  /** Staging was removed but this record (the episodes' records with it: `key` cannot be checked again). */
  cleared?: boolean;
}

export const MERGE_RECORD = staged.mergeRecord;

/** The merge asked of this pod, without the staged bytes: the same episodes, titles, merge and output. */
function listKey(env: MergeEnv): string {
  const { merge, output } = env.job.spec;
  const what = { v: 1, uid: env.uid, name: env.job.metadata.name, episodes: env.episodes, merge, output };
  return createHash("sha256").update(JSON.stringify(what)).digest("hex").slice(0, 32);
}

/**
 * The merge is the same when the same staged bytes (by their sha256) are joined in the same order
 * under the same titles into the same output: then a retried merge pod answers the stored result.
 */
export function mergeKey(env: MergeEnv, records: EpisodeRecord[]): string {
  const spec = env.job.spec;
  const what = {
    v: 1,
    uid: env.uid,
    name: env.job.metadata.name,
    episodes: env.episodes.map((e, i) => ({ index: e.index, title: e.title, sha256: records[i]?.sha256 })),
    merge: spec.merge,
    output: spec.output,
  };
  return createHash("sha256").update(JSON.stringify(what)).digest("hex").slice(0, 32);
}

export function outputTarget(env: MergeEnv, conn?: S3Connection): OutputTarget & { presign?: S3Target["presign"] } {
  const s3 = env.job.spec.output.s3;
  if (s3) {
    if (!conn)
      throw new ReelError("REEL_WORKER_ENV_INVALID", "S3 output needs AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
    const t = new S3Target({
      ...conn,
      bucket: s3.bucket,
      prefix: s3.prefix,
      urlExpirySecs: parseDuration(s3.urlExpiry),
    });
    return { put: (p, n, o) => t.put(p, n, o), presign: (n) => t.presign(n) };
  }
  const dir = env.outputDir;
  if (!dir) throw new ReelError("REEL_WORKER_ENV_INVALID", "no output directory for a volume output");
  const local = new LocalTarget(dir);
  const vol = env.job.spec.output.volume;
  return {
    async put(path, name, o) {
      const stored = await local.put(path, name, o);
      // Status names the file on the claim, not where this pod happened to mount it.
      return vol
        ? {
            ...stored,
            location: `pvc://${vol.claimName}${posix.join("/", vol.path, stored.location.slice(dir.length))}`,
          }
        : stored;
    },
  };
}

function toOutput(s: StoredObject, extra: Partial<StoredOutput> = {}): StoredOutput {
  return {
    location: s.location,
    bytes: s.sizeBytes,
    sha256: s.checksum.replace(/^sha256:/, ""),
    ...(s.url ? { url: s.url } : {}),
    ...(s.urlExpiresAt ? { urlExpiresAt: s.urlExpiresAt } : {}),
    ...extra,
  };
}

export async function runMergePod(
  env: MergeEnv,
  ctx: PodContext,
  target: ReturnType<typeof outputTarget>,
): Promise<MergeOutcome> {
  const { staging, signal, log, progress } = ctx;
  // A pod that stored everything and cleared staging before it could report: its record answers.
  const previous = await staging.readJson<MergeRecord>(MERGE_RECORD, signal);
  if (previous?.cleared && previous.asked === listKey(env)) return storedResult(previous, ctx, target, env, {});

  const joined = await joinSplitEpisodes(env, ctx);
  const withJoined = joined.length ? { joined } : {};
  const records = await episodeRecords(env, ctx);
  const key = mergeKey(env, records);
  if (previous?.key === key) return storedResult(previous, ctx, target, env, withJoined);

  log.info({ episodes: env.episodes.map((e) => e.index), staging: staging.location }, "merge starting");
  const inputs = await fetchStaged(env, ctx, records);
  const stored = await storeOutputs(env, ctx, target, inputs);
  const record: MergeRecord = { v: 1, videojob: env.ref, uid: env.uid, key, asked: listKey(env), ...stored };
  await putJson(staging, ctx.scratch, MERGE_RECORD, record);
  if (!env.keepStaging) {
    // Everything staged is in the outputs now. The record stays: a retried pod answers from it.
    const removed = await staging.clear([MERGE_RECORD], signal);
    await putJson(staging, ctx.scratch, MERGE_RECORD, { ...record, cleared: true } satisfies MergeRecord);
    log.info({ removed, staging: staging.location }, "staging cleared");
  }
  progress.report({ index: "merge", stage: "done", fraction: 1 });
  log.info({ location: record.output?.location ?? record.outputs?.map((o) => o.location) }, "merge stored");
  return {
    mode: "merge",
    phase: "Completed",
    ...(record.output ? { output: record.output } : {}),
    ...(record.outputs ? { outputs: record.outputs } : {}),
    ...withJoined,
  } satisfies MergeOutcome;
}

/** Split episodes first: their segments joined and staged as ordinary episodes, with their figures. */
async function joinSplitEpisodes(env: MergeEnv, ctx: PodContext): Promise<JoinedEpisode[]> {
  const joined: JoinedEpisode[] = [];
  const split = env.episodes.filter((e) => e.segments).length;
  for (const e of env.episodes) {
    if (!e.segments) continue;
    const detail = `joining episode ${e.index + 1}`;
    ctx.progress.report({ index: "merge", stage: "join", fraction: joined.length / split, detail });
    const r = await joinSplitEpisode({
      index: e.index,
      segments: e.segments,
      staging: ctx.staging,
      stages: ctx.stages,
      scratch: ctx.scratch,
      binaries: ctx.binaries ?? defaultBinaries,
      videojob: env.ref,
      uid: env.uid,
      signal: ctx.signal,
    });
    ctx.log.info({ episode: e.index, segments: e.segments, encoder: r.status.encoder }, "split episode joined");
    joined.push({
      index: e.index,
      ...(r.status.encoder ? { encoder: r.status.encoder } : {}),
      ...(r.status.quality ? { quality: r.status.quality } : {}),
      ...(r.status.bytesOutput !== undefined ? { bytesOutput: r.status.bytesOutput } : {}),
      ...(r.status.durationSecs !== undefined ? { durationSecs: r.status.durationSecs } : {}),
    });
  }
  return joined;
}

/** Each listed episode's finished record; REEL_STAGING_MISSING (retried) for one that has none. */
async function episodeRecords(env: MergeEnv, ctx: PodContext): Promise<EpisodeRecord[]> {
  const records: EpisodeRecord[] = [];
  for (const e of env.episodes) {
    const r = await ctx.staging.readJson<EpisodeRecord>(episodeRecordFile(e.index), ctx.signal);
    if (r?.status?.phase !== "Completed") {
      throw new ReelError(
        "REEL_STAGING_MISSING",
        `episode ${e.index + 1} has no finished record at ${ctx.staging.locate(episodeRecordFile(e.index))}`,
      );
    }
    records.push(r);
  }
  return records;
}

/** The staged episodes as local files, each checked against its record's sha256. */
async function fetchStaged(env: MergeEnv, ctx: PodContext, records: EpisodeRecord[]) {
  const inputs: MergeInput[] = [];
  for (const [i, e] of env.episodes.entries()) {
    ctx.progress.report({ index: "merge", stage: "fetch", fraction: i / env.episodes.length });
    const path = await ctx.staging.materialise(episodeFile(e.index), join(ctx.scratch, "staged"), ctx.signal);
    const sha256 = await ctx.stages.sha256(path);
    if (sha256 !== records[i]?.sha256) {
      throw new ReelError(
        "REEL_CHECKSUM_MISMATCH",
        `staged episode ${e.index + 1} does not match its record (sha256 ${sha256.slice(0, 12)}…, recorded ${records[i]?.sha256?.slice(0, 12)}…)`,
      );
    }
    // The episode's own number, so a merge that cannot join names the right one.
    inputs.push({ path, title: e.title, episode: e.index, ...ownChapters(env, ctx, records[i]) });
  }
  return inputs;
}

/** The record's source chapters, cleaned again (it crossed a process boundary), when the job asks for them. */
function ownChapters(
  env: MergeEnv,
  ctx: PodContext,
  record: EpisodeRecord | undefined,
): { chapters?: SourceChapter[] } {
  const marks = env.job.spec.merge.chapterMarks;
  if (marks !== "source" && marks !== "both") return {};
  if (!record?.sourceChapters) {
    // A record staged by a job that did not ask (the operator's reuse copies records as they are).
    ctx.log.warn(
      { episode: record?.index, chapterMarks: marks },
      "staged episode has no source chapters; merged without",
    );
    return {};
  }
  return { chapters: cleanChapters(record.sourceChapters) };
}

/** The outputs, named like `reel run`'s: one merged file, or one per episode when merge is off. */
async function storeOutputs(
  env: MergeEnv,
  ctx: PodContext,
  target: ReturnType<typeof outputTarget>,
  inputs: MergeInput[],
): Promise<Pick<MergeRecord, "names" | "output" | "outputs">> {
  const { stages, signal, progress } = ctx;
  const spec: VideoJobSpec = env.job.spec;
  const emit = (e: JobEvent) => {
    if (e.type === "merge") progress.report({ index: "merge", stage: "merge", fraction: e.progress / 100 });
    else if (e.type === "store") progress.report({ index: "merge", stage: "store", fraction: e.progress / 100 });
    else if (e.type === "note") ctx.log[e.level]({}, e.message);
  };
  const name = env.job.metadata.name;
  const store = (path: string, f: string) => storeFile(stages, target, path, f, { signal, emit });
  const previews = { stages, dir: join(ctx.scratch, "previews"), signal, emit, store };
  if (spec.merge.enabled) {
    const merged = join(ctx.scratch, "merged.mp4");
    const m = await mergeEncoded(inputs, merged, { stages, spec, tmp: ctx.scratch, signal, emit });
    const file = mergedFileName(name);
    const stored = await store(merged, file);
    const thumbnails = await storeThumbnails(previews, merged, file);
    const subtitles = spec.subtitles ? await storeSubtitles(previews, merged, file) : undefined;
    const posters = await storeEpisodePosters(previews, inputs, file);
    const figures = {
      durationSecs: m.durationSecs,
      chapters: m.chapters,
      ...(thumbnails ? { thumbnails } : {}),
      ...(posters ? { posters } : {}),
      ...(subtitles?.length ? { subtitles } : {}),
    };
    return { names: [file], output: toOutput(stored, figures) };
  }
  const names: string[] = [];
  const outputs: StoredOutput[] = [];
  for (const [i, input] of inputs.entries()) {
    const file = episodeFileName(name, env.episodes[i]?.index ?? i, input.title);
    const stored = await store(input.path, file);
    // Its poster beside it, named as `reel run` names it; reported only where that is the crds rule's
    // name (posterLocation), which the operator lists it by (a stem cut for length is not).
    const own = previewNames(file);
    const poster = stages.poster ? await storePoster(previews, input.path, own.poster) : undefined;
    const listed = poster && own.stem === file.replace(/\.mp4$/, "");
    outputs.push(toOutput(stored, listed ? { posters: { stored: 1 } } : {}));
    names.push(file);
  }
  return { names, outputs };
}

/**
 * A poster per merged episode beside the merged file, from the staged episode already here (no
 * second download). Only a count goes in the result: the operator names each by the crds rule, so
 * the names must be exactly that rule's (a stem cut for length is not, and gets no posters).
 */
async function storeEpisodePosters(
  previews: PreviewContext,
  inputs: MergeInput[],
  file: string,
): Promise<StoredOutput["posters"]> {
  const names = previewNames(file);
  if (!previews.stages.poster) return undefined;
  if (names.stem !== file.replace(/\.mp4$/, "")) {
    previews.emit({
      type: "note",
      level: "warn",
      message: `no episode posters: ${file} is too long a name to name them by`,
    });
    return undefined;
  }
  const missing: number[] = [];
  for (const [i, input] of inputs.entries()) {
    const episode = input.episode ?? i;
    const at = await storePoster(previews, input.path, names.episodePoster(episode));
    if (!at) missing.push(episode);
  }
  // More failures than the result can list: none are claimed.
  if (missing.length > 8) return undefined;
  return { stored: inputs.length - missing.length, ...(missing.length ? { missing } : {}) };
}

/** The result a finished merge recorded, with its download links signed again (they may be old). */
async function storedResult(
  previous: MergeRecord,
  ctx: PodContext,
  target: ReturnType<typeof outputTarget>,
  env: MergeEnv,
  extra: Pick<MergeOutcome, "joined">,
): Promise<MergeOutcome> {
  ctx.log.info({ key: previous.key, episodes: env.episodes.length }, "merge already done; answering the stored result");
  const fresh = async (o: StoredOutput | undefined, name: string | undefined) =>
    o && name && target.presign ? { ...o, ...(await target.presign(name)) } : o;
  const output = await fresh(previous.output, previous.names[0]);
  const outputs = previous.outputs
    ? await Promise.all(previous.outputs.map((o, i) => fresh(o, previous.names[i]) as Promise<StoredOutput>))
    : undefined;
  ctx.progress.report({ index: "merge", stage: "done", fraction: 1 });
  return {
    mode: "merge",
    phase: "Completed",
    reused: true,
    ...(output ? { output } : {}),
    ...(outputs ? { outputs } : {}),
    ...extra,
  } satisfies MergeOutcome;
}
