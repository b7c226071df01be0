// Which finished episodes of other VideoJobs in the namespace could stand for an episode that has
// no Job yet: the same URL and the same output-shaping settings (crds requestKey), staged in the
// same bucket under the same credentials, Completed and not split. Pure: the source is asked and
// the staged record read afterwards (reuse/reuse.ts), and only a matching validator reuses.
import { episodeTitle, isS3Url, s3SourceOf, type VideoJob } from "@reel/crds";
import { requestKey } from "@reel/crds/reuse";
import { EPISODE_LABEL, stagingLocation } from "../plan/jobs.ts";

/** A finished staged episode another VideoJob could copy. */
export interface ReuseCandidate {
  /** The VideoJob that staged it, and its episode's index there. */
  videojob: string;
  index: number;
  /** That VideoJob's staging folder (s3://bucket/…/.reel-staging/<uid>/). */
  staging: string;
}

/** An episode that may be reused: where it would go and what could fill it. */
export interface ReuseWanted {
  index: number;
  url: string;
  /** What names the source: its URL, and for an s3:// object its endpoint too. */
  source: string;
  title: string;
  candidates: ReuseCandidate[];
}

/** Staging on S3 in the same bucket, endpoint and Secret: a server-side copy can move the bytes. */
function sameStore(a: VideoJob, b: VideoJob): boolean {
  const x = a.spec.output.s3;
  const y = b.spec.output.s3;
  return (
    !!x && !!y && x.bucket === y.bucket && x.endpoint === y.endpoint && x.credentialsSecret === y.credentialsSecret
  );
}

/**
 * What names an episode's source in the request key: its URL; an s3:// object's endpoint with it
 * (the same bucket and key on two endpoints are two objects). Undefined for a bad s3:// URL and
 * for an episode with its own subtitle files.
 */
export function sourceId(vj: VideoJob, index: number): string | undefined {
  const ep = vj.spec.episodes[index];
  const url = ep?.url;
  // An episode's own subtitle files shape its encode (mov_text tracks, burn-in) and nothing
  // checks that their bytes are unchanged: such an episode is never reused, it runs again.
  if (ep?.subtitles?.length) return undefined;
  if (!url || !isS3Url(url)) return url;
  try {
    return `s3 ${s3SourceOf(vj.spec, index).endpoint ?? "aws"} ${url}`;
  } catch {
    return undefined;
  }
}

const wantsSourceChapters = (vj: VideoJob) => (vj.spec.merge?.chapterMarks ?? "episodes") !== "episodes";

/** Finished, unsplit episodes of `other` by request key (a reused episode may be reused again). */
function finishedByKey(other: VideoJob): Map<string, ReuseCandidate> {
  const out = new Map<string, ReuseCandidate>();
  const staging = stagingLocation(other);
  if (typeof staging !== "string") return out;
  for (const e of other.status?.episodes ?? []) {
    const source = sourceId(other, e.index);
    if (e.phase !== "Completed" || e.segments || !source) continue;
    const key = requestKey(source, other.spec);
    if (!out.has(key)) out.set(key, { videojob: other.metadata.name, index: e.index, staging });
  }
  return out;
}

/**
 * The episodes of `vj` listed in `todo` that another VideoJob of the namespace has finished, with
 * every candidate (oldest VideoJob first).
 */
export function reuseWanted(vj: VideoJob, others: readonly VideoJob[], todo: readonly number[]): ReuseWanted[] {
  if (!todo.length || typeof stagingLocation(vj) !== "string") return [];
  const pool = others
    .filter((o) => o.metadata.uid !== vj.metadata.uid && o.metadata.namespace === vj.metadata.namespace)
    .filter((o) => sameStore(vj, o))
    // A job that keeps its sources' chapters needs records that carry them (written only when asked).
    .filter((o) => !wantsSourceChapters(vj) || wantsSourceChapters(o))
    .sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""))
    .map(finishedByKey)
    .filter((m) => m.size > 0);
  if (!pool.length) return [];
  const wanted: ReuseWanted[] = [];
  for (const index of todo) {
    const ep = vj.spec.episodes[index];
    const source = sourceId(vj, index);
    if (!ep || !source) continue;
    const key = requestKey(source, vj.spec);
    const candidates = pool.flatMap((m) => m.get(key) ?? []);
    if (candidates.length) wanted.push({ index, url: ep.url, source, title: episodeTitle(ep, index), candidates });
  }
  return wanted;
}

const FINAL = new Set(["Completed", "Failed", "Cancelled"]);

/**
 * Episodes that nothing has started: no Job of any attempt, not finished in status. Only these may
 * be reused; a cancelled or deleted VideoJob reuses nothing.
 */
export function episodesToDo(
  vj: VideoJob,
  jobs: readonly { metadata: { labels?: Record<string, string> } }[],
): number[] {
  if (vj.spec.cancel || vj.metadata.deletionTimestamp) return [];
  const started = new Set(jobs.map((j) => Number(j.metadata.labels?.[EPISODE_LABEL])).filter(Number.isInteger));
  const finished = new Set((vj.status?.episodes ?? []).filter((e) => FINAL.has(e.phase)).map((e) => e.index));
  return vj.spec.episodes.map((_, i) => i).filter((i) => !started.has(i) && !finished.has(i));
}
