// `reel run job.yaml`: parse and validate the manifest, expand its playlists (once, listed by yt-dlp;
// `--dry-run` prints the episodes and stops), check flags, tools and output before any
// work, run it locally, draw progress, print the final table (or JSON) with every secret cut and
// every control character escaped, and answer the exit code.
import { resolve } from "node:path";
import {
  findPlaylists,
  parseVideoJob,
  ReelError,
  readManifestDocument,
  redactText,
  type VideoJob,
  withStandIns,
} from "@reel/crds";
import { config } from "../config.ts";
import { type Cookies, readCookies } from "../fetch/cookies.ts";
import { expandPlaylists } from "../fetch/playlist.ts";
import { knownSecrets, preflightJob, runLocal, targetFor } from "../local.ts";
import type { JobResult } from "../pipeline/job.ts";
import type { EpisodeStatus } from "../pipeline/types.ts";
import { checkAllow } from "./allow.ts";
import { printable, summary } from "./format.ts";
import { progress } from "./progress.ts";

export interface RunFlags {
  concurrency: number;
  out?: string;
  json: boolean;
  allow: string[];
  /** `--allow-metadata`: the user confirmed an --allow range that opens the metadata address. */
  allowMetadata?: boolean;
  /** `--dry-run`: print the episodes (playlists expanded) and exit. */
  dryRun?: boolean;
  /** `--cookies FILE`: a Netscape cookies file for yt-dlp's pages (fetch/cookies.ts). */
  cookies?: string;
  /** `--storage-class`: S3 storage class of the outputs (over REEL_S3_STORAGE_CLASS). */
  storageClass?: string;
}

/**
 * The manifest at `file` (at most 4 MiB read, a bigger one refused unparsed, aliases capped), its
 * playlists expanded once into episodes: everything else is checked before any listing.
 */
export async function loadJob(
  file: string,
  flags: Pick<RunFlags, "allow" | "allowMetadata"> = { allow: [] },
  cookies?: Cookies,
) {
  const doc = await readManifestDocument(file);
  if (!findPlaylists(doc).length) return parseVideoJob(doc);
  parseVideoJob(withStandIns(doc));
  checkAllow(flags.allow, flags.allowMetadata ?? false);
  const allow = [...config.REEL_EGRESS_ALLOW, ...flags.allow];
  const o = { ytDlp: config.ytDlp, env: config.childEnv, allow, ...(cookies ? { cookies } : {}) };
  return parseVideoJob(await expandPlaylists(doc, o));
}

export async function runFile(file: string, flags: RunFlags): Promise<number> {
  // Checked before any work (a playlist's listing included); its values are cut from all the run shows.
  const cookies = flags.cookies ? await readCookies(resolve(flags.cookies)) : undefined;
  const job = await loadJob(file, flags, cookies);
  if (flags.dryRun) return dryRun(job, flags.json);
  return runAndReport(job, flags, cookies);
}

/** `--dry-run`: the episodes the job would run, playlists expanded, and nothing else done. */
function dryRun(job: VideoJob, json: boolean): number {
  process.stdout.write(episodeList(job, json));
  return 0;
}

/**
 * The job's episodes as `reel run --dry-run` and `reel submit` show them: "N episodes:" and a row
 * each (number, title, URL), secrets cut and control characters escaped; or `{ episodes }` as JSON.
 */
export function episodeList(job: VideoJob, json: boolean): string {
  const secrets = knownSecrets(job);
  const episodes = job.spec.episodes.map((e, i) => ({
    index: i,
    ...(e.title ? { title: redactText(e.title, secrets) } : {}),
    url: redactText(e.url, secrets),
  }));
  if (json) return `${JSON.stringify({ episodes }, null, 2)}\n`;
  const rows = episodes.map(
    (e) => `${String(e.index + 1).padStart(4)}  ${printable(e.title ?? "-")}  ${printable(e.url)}`,
  );
  return `${episodes.length} episodes:\n${rows.join("\n")}\n`;
}

export async function runAndReport(job: VideoJob, flags: RunFlags, cookies?: Cookies): Promise<number> {
  // Everything that can be checked is checked before any work starts (exit 2 from main.ts).
  checkAllow(flags.allow, flags.allowMetadata ?? false);
  const outDir = flags.out && resolve(flags.out);
  await preflightJob(job, targetFor(job, outDir, flags.storageClass));
  const secrets = [...knownSecrets(job), ...(cookies?.values ?? [])];
  const titles = job.spec.episodes.map((e, i) => e.title ?? `Episode ${i + 1}`);
  const bars = flags.json ? undefined : progress(titles);
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  // A closed terminal (SIGHUP) cancels like ^C: children stop and the temp dir goes.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(sig, onSignal);
  // Each episode's last status, so a failure after the episodes (storage) still reports them.
  const done = new Map<number, EpisodeStatus>();
  let result: JobResult;
  try {
    result = await runLocal(job, {
      ...(outDir ? { outDir } : {}),
      concurrency: flags.concurrency,
      allow: flags.allow,
      ...(cookies ? { cookies } : {}),
      ...(flags.storageClass !== undefined ? { storageClass: flags.storageClass } : {}),
      signal: ac.signal,
      emit: (e) => {
        if (e.type === "episode-done") done.set(e.index, e.status);
        const shown = e.type === "note" ? { ...e, message: redactText(e.message, secrets) } : e;
        bars?.on(shown);
        // Under --json stdout is the result alone; warnings still reach the user, on stderr.
        if (!bars && shown.type === "note") process.stderr.write(`${shown.level}: ${printable(shown.message)}\n`);
      },
    });
  } catch (err) {
    // Before any episode ran this is the command's or the machine's fault (exit 2); after, the job failed.
    if (done.size === 0) throw err;
    const e = ReelError.from(err, "REEL_INTERNAL");
    result = failedAfterWork([...done.values()], e);
  } finally {
    bars?.stop();
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(sig, onSignal);
  }
  report(redactResult(result, secrets), flags.json);
  return result.phase === "Completed" ? 0 : 1;
}

function failedAfterWork(episodes: EpisodeStatus[], e: ReelError): JobResult {
  return {
    phase: "Failed",
    episodes: episodes.sort((a, b) => a.index - b.index),
    error: { code: e.code, message: e.message },
    stageSeconds: {},
  };
}

function report(result: JobResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  process.stdout.write(`\n${summary(result)}\n\n`);
  if (result.phase === "Completed") {
    const where = result.output?.location ?? result.episodeOutputs?.map((o) => o.location).join("\n");
    const what = result.output ? `merged (${result.output.chapters} chapters)` : "outputs";
    process.stdout.write(`${what}: ${printable(where ?? "", { lines: true })}\n`);
  } else {
    const why = `${result.error?.code} ${printable(result.error?.message ?? "", { lines: true })}`;
    process.stdout.write(`job ${result.phase.toLowerCase()}: ${why}\n`);
  }
}

/**
 * The result with every secret cut from what the run observed (errors, titles, episodes); the
 * outputs are left whole: their URLs are ours to hand out (a presigned download link).
 */
export function redactResult(result: JobResult, secrets: readonly string[]): JobResult {
  const { output, episodeOutputs, ...observed } = result;
  return {
    ...redactDeep(observed, secrets),
    ...(output ? { output } : {}),
    ...(episodeOutputs ? { episodeOutputs } : {}),
  };
}

function redactDeep<T>(v: T, secrets: readonly string[]): T {
  if (typeof v === "string") return redactText(v, secrets) as T;
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, secrets)) as T;
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x, secrets)])) as T;
  }
  return v;
}
