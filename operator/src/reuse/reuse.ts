// Reuse of finished work across the VideoJobs of a namespace (a retry is the usual case): for the
// episodes that have no Job yet, the candidates (candidates.ts) are checked against the source as
// it is now (source.ts: its validator must equal the one recorded at download) and copied into this
// job's staging (copy.ts). What comes back is each reused episode's status; the reconcile reports
// it and plans no Job for it. Any failure means no reuse: the episode simply runs.
import { type EpisodeStatus, isS3Url, type VideoJob, VideoJob as VideoJobSchema } from "@reel/crds";
import { reusedFromText } from "@reel/crds/reuse";
import type { Logger } from "pino";
import type { KubeApi, KubeObject } from "../kube/api.ts";
import { stagingLocation } from "../plan/jobs.ts";
import type { InstallationSettings } from "../plan/installation-env.ts";
import { jobBucket } from "../reconcile/staging.ts";
import { type ReuseCandidate, type ReuseWanted, reuseWanted } from "./candidates.ts";
import { copyStagedEpisode } from "./copy.ts";
import { askS3Validator, askSourceValidator } from "./source.ts";

export interface ReuseDeps {
  api: KubeApi;
  /** Every VideoJob the operator watches (the informer's memory). */
  videojobs: () => Iterable<KubeObject>;
  egressAllow: readonly string[];
  installation?: InstallationSettings;
  log: Logger;
  now: () => Date;
  /** An http(s) source's validator now (tests may point it elsewhere); askSourceValidator by default. */
  askValidator?: (url: string) => Promise<string | undefined>;
}

/** Copies at once per reconcile. */
const CONCURRENCY = 4;

/**
 * Parsed VideoJobs by the informer's object: the informer replaces an object on every change, so a
 * parse is done once per version, not once per reconcile of every job that looks for candidates.
 */
const parsedOnce = new WeakMap<KubeObject, VideoJob | null>();

/** VideoJobs of the namespace that have finished an episode, parsed (others are skipped unparsed). */
function finishedInNamespace(all: Iterable<KubeObject>, namespace: string | undefined): VideoJob[] {
  const out: VideoJob[] = [];
  for (const raw of all) {
    if (raw.metadata.namespace !== namespace) continue;
    const episodes = (raw as { status?: { episodes?: { phase?: string }[] } }).status?.episodes ?? [];
    if (!episodes.some((e) => e.phase === "Completed")) continue;
    let parsed = parsedOnce.get(raw);
    if (parsed === undefined) {
      const r = VideoJobSchema.safeParse(raw);
      parsed = r.success ? r.data : null;
      parsedOnce.set(raw, parsed);
    }
    if (parsed) out.push(parsed);
  }
  return out;
}

/** The status of an episode filled from another job's staged one. */
function reusedStatus(w: ReuseWanted, from: ReuseCandidate, recorded: EpisodeStatus, now: Date): EpisodeStatus {
  const { node: _node, startedAt: _s, error: _e, segments: _g, ...kept } = recorded;
  return {
    ...kept,
    index: w.index,
    title: w.title,
    phase: "Completed",
    progress: 100,
    attempts: 0,
    reusedFrom: reusedFromText(from.videojob, from.index),
    finishedAt: now.toISOString(),
  };
}

/**
 * Reuses what it can of `todo` (episode indexes without a Job); answers the reused episodes'
 * statuses by index. Sources are asked once per URL per call.
 */
export async function reuseFinishedEpisodes(
  d: ReuseDeps,
  vj: VideoJob,
  todo: readonly number[],
): Promise<Map<number, EpisodeStatus>> {
  const out = new Map<number, EpisodeStatus>();
  const wanted = reuseWanted(vj, finishedInNamespace(d.videojobs(), vj.metadata.namespace), todo);
  const staging = stagingLocation(vj);
  if (!wanted.length || typeof staging !== "string") return out;
  const open = await jobBucket(d.api, vj);
  if ("skipped" in open) return out;
  const askHttp = d.askValidator ?? ((url: string) => askSourceValidator(url, d.egressAllow));
  const ask = (w: ReuseWanted) => (isS3Url(w.url) ? askS3Validator(d.api, vj, w.index) : askHttp(w.url));
  const validators = new Map<string, Promise<string | undefined>>();
  const log = d.log.child({ videojob: `${vj.metadata.namespace}/${vj.metadata.name}` });
  const to = { staging, videojob: `${vj.metadata.namespace}/${vj.metadata.name}`, uid: vj.metadata.uid ?? "" };
  const one = async (w: ReuseWanted) => {
    if (!validators.has(w.source))
      validators.set(
        w.source,
        ask(w).catch(() => undefined),
      );
    const validator = await validators.get(w.source);
    if (!validator) return;
    for (const from of w.candidates) {
      const sse = {
        ...(d.installation?.sse ? { sse: d.installation.sse } : {}),
        ...(d.installation?.kmsKeyId ? { kmsKeyId: d.installation.kmsKeyId } : {}),
      };
      const recorded = await copyStagedEpisode(
        open.client,
        open.bucket,
        from,
        { ...to, index: w.index },
        validator,
        sse,
      );
      if (!recorded) continue;
      out.set(w.index, reusedStatus(w, from, recorded, d.now()));
      log.info({ episode: w.index, from: `${from.videojob}/${from.index}` }, "episode reused from staged work");
      return;
    }
  };
  try {
    let next = 0;
    const worker = async () => {
      while (next < wanted.length) {
        const w = wanted[next++] as ReuseWanted;
        await one(w).catch((err) => log.warn({ err, episode: w.index }, "reuse failed; the episode runs"));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, wanted.length) }, worker));
  } finally {
    open.client.destroy();
  }
  return out;
}
