// Runs a whole VideoJob on this machine: every episode through fetch → probe → encode → measure
// with bounded concurrency, then one merged file with a chapter per episode, stored on the target.
// A failed episode never stops the others; finished encodes are kept in a content-keyed cache so
// a re-run reuses them; the temporary directory goes away on success and on failure.
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ReelError, type VideoJob, type VideoJobSpec } from "@reel/crds";
import type { OutputTarget, StoredObject } from "../output/target.ts";
import { safeName } from "../output/names.ts";
import { type Emit, overall, type Stage } from "./events.ts";
import type { SourceProbe, StageContext, Stages } from "./stages.ts";
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
}

export interface EpisodeResult {
  status: EpisodeStatus;
  encodedPath?: string;
  probe?: SourceProbe;
}

export interface JobResult {
  phase: "Completed" | "Failed" | "Cancelled";
  episodes: EpisodeStatus[];
  output?: StoredObject & { durationSecs?: number; chapters?: number };
  /** Extra outputs when merge is off: one stored file per episode. */
  episodeOutputs?: StoredObject[];
  error?: { code: string; message: string };
  stageSeconds: Record<string, number>;
}

/** The settings that change an encode's bytes; with the source hash they key the encode cache. */
export function encodeKey(sourceHash: string, spec: VideoJobSpec): string {
  const settings = {
    v: 2, // 2: SSIM is of the luma plane
    quality: spec.quality,
    codec: spec.codec,
    compression: spec.compression,
    gpu: spec.gpu.policy,
  };
  return createHash("sha256").update(sourceHash).update(JSON.stringify(settings)).digest("hex").slice(0, 32);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.size > 0,
    () => false,
  );
}

async function readSidecar(path: string): Promise<{ encoder: string; quality: EpisodeStatus["quality"] } | undefined> {
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

export async function runJob(job: VideoJob, o: RunOptions): Promise<JobResult> {
  const { spec } = job;
  const emit: Emit = o.emit ?? (() => {});
  const now = o.now ?? (() => new Date());
  const signal = o.signal ?? new AbortController().signal;
  const timer = new Timer();
  const tmp = await mkdtemp(join(o.tmpDir, `reel-${safeName(job.metadata.name)}-`));
  const encodedDir = join(o.cacheDir, "encoded");
  await mkdir(encodedDir, { recursive: true });

  const ctx = (index: number, stage: Stage, phase: EpisodeStatus["phase"]): StageContext => ({
    signal,
    progress: (f, detail) =>
      emit({ type: "episode", index, phase, stage, progress: overall(stage, f), ...(detail ? { detail } : {}) }),
  });

  async function runEpisode(index: number): Promise<EpisodeResult> {
    const ep = spec.episodes[index] as VideoJobSpec["episodes"][number];
    const title = ep.title ?? `Episode ${index + 1}`;
    const status: EpisodeStatus = {
      index,
      title,
      phase: "Pending",
      progress: 0,
      attempts: 1,
      startedAt: now().toISOString(),
    };
    const dir = join(tmp, `ep${index}`);
    try {
      await mkdir(dir, { recursive: true });
      const fetched = await timer.time("fetch", () =>
        o.stages.fetch(ep.url, dir, spec, ctx(index, "fetch", "Downloading")),
      );
      status.bytesDownloaded = fetched.bytes;
      const probe = await timer.time("probe", () => o.stages.probe(fetched.path, ctx(index, "probe", "Probing")));
      status.durationSecs = probe.durationSecs;

      const key = encodeKey(await o.stages.hash(fetched.path), spec);
      const encodedPath = join(encodedDir, `${key}.mp4`);
      const sidecar = join(encodedDir, `${key}.json`);
      const encCtx = ctx(index, "encode", "Transcoding");
      const reused = (await exists(encodedPath)) ? await readSidecar(sidecar) : undefined;
      if (reused) {
        status.encoder = `${reused.encoder} (reused)`;
        status.quality = reused.quality;
        encCtx.progress(1, "reused a finished encode");
      } else {
        const partial = join(dir, "encoded.mp4");
        const enc = await timer.time("encode", () => o.stages.encode(fetched.path, probe, partial, spec, encCtx));
        status.encoder = enc.encoder;
        status.quality =
          enc.quality ??
          (await timer.time("measure", () =>
            o.stages.measure(fetched.path, partial, probe, ctx(index, "measure", "Measuring")),
          ));
        await rename(partial, encodedPath).catch(async () => {
          await copyFile(partial, encodedPath); // cache on another filesystem
        });
        // The sidecar goes last: an encode without one is never trusted as finished.
        await writeFile(sidecar, JSON.stringify({ encoder: enc.encoder, quality: status.quality }));
      }
      status.bytesOutput = (await stat(encodedPath)).size;
      // The source is no longer needed: free the disk before the next episode starts.
      await rm(dir, { recursive: true, force: true });
      status.phase = "Completed";
      status.progress = 100;
      status.finishedAt = now().toISOString();
      return { status, encodedPath, probe };
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

  try {
    const results = await pool(spec.episodes.length, Math.max(1, o.concurrency), runEpisode);
    const episodes = results.map((r) => r.status);
    const done = results.filter((r) => r.status.phase === "Completed");
    const failed = episodes.filter((s) => s.phase !== "Completed");
    const base = { episodes, stageSeconds: timer.totals };

    if (signal.aborted)
      return { ...base, phase: "Cancelled", error: { code: "REEL_CANCELLED", message: "job cancelled" } };
    if (done.length === 0 || (failed.length > 0 && !spec.merge.allowPartial)) {
      const list = failed.map((s) => `episode ${s.index + 1} (${s.title}): ${s.error?.code}`).join("; ");
      return { ...base, phase: "Failed", error: { code: "REEL_EPISODES_FAILED", message: list } };
    }
    for (const f of failed) {
      emit({
        type: "note",
        level: "warn",
        message: `episode ${f.index + 1} left out: ${f.error?.code} ${f.error?.message}`,
      });
    }

    const name = safeName(job.metadata.name);
    if (!spec.merge.enabled) {
      const episodeOutputs: StoredObject[] = [];
      for (const r of done) {
        const file = `${name}-${String(r.status.index + 1).padStart(3, "0")}-${safeName(r.status.title ?? "")}.mp4`;
        episodeOutputs.push(await timer.time("store", () => store(r.encodedPath as string, file)));
      }
      return { ...base, phase: "Completed", episodeOutputs };
    }

    const mergedPath = join(tmp, "merged.mp4");
    const merged = await timer.time("merge", () => mergeEpisodes(done, mergedPath));
    const stored = await timer.time("store", () => store(mergedPath, `${name}.mp4`));
    return { ...base, phase: "Completed", output: { ...stored, ...merged } };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  async function mergeEpisodes(done: EpisodeResult[], output: string) {
    const mctx: StageContext = { signal, progress: (f) => emit({ type: "merge", progress: Math.round(f * 100) }) };
    let inputs = done.map((r) => ({ path: r.encodedPath as string, title: r.status.title ?? "" }));
    const mismatches = await o.stages.compatible(inputs.map((i) => i.path));
    if (mismatches.length) {
      // Episodes from different sources can differ in size or frame rate; re-encode the odd ones
      // to the first episode's parameters, then join losslessly.
      const odd = new Set(mismatches.map((m) => m.input));
      const reference = inputs[0]?.path as string;
      emit({
        type: "note",
        level: "info",
        message: `normalising ${odd.size} episode(s) to match episode 1 before merging`,
      });
      inputs = await Promise.all(
        inputs.map(async (input, i) => {
          if (!odd.has(i)) return input;
          const out = join(tmp, `normalised-${i}.mp4`);
          await o.stages.normalise(input.path, reference, out, spec, mctx);
          return { ...input, path: out };
        }),
      );
    }
    return o.stages.merge(inputs, output, spec.merge.chapters, mctx);
  }

  async function store(path: string, file: string): Promise<StoredObject> {
    const sha256 = await o.stages.sha256(path);
    return o.target.put(path, file, {
      sha256,
      signal,
      onProgress: (d, t) => emit({ type: "store", progress: t ? Math.round((d / t) * 100) : 100 }),
    });
  }
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
