// decision-events: the Kubernetes Events of one decision, derived after it rather than pushed from
// its branches — the difference between the old status and the new one (an episode or the job
// reaching a phase), and what the decision creates (Jobs scheduled, an episode split into
// segments, an attempt again after an encoder failed).
import { type EpisodeStatus, episodeTitle, type VideoJob, type VideoJobStatus } from "@reel/crds";
import type { EpisodeObservation } from "../plan/jobs.ts";
import type { Placement } from "../scheduling/gpu.ts";
import type { Creation, EpisodeOutcome } from "./episode-state.ts";
import type { JobState } from "./job-status.ts";

export interface KubeEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** 1,2,3,5,7,8 -> "1-3, 5, 7-8" */
export function ranges(ns: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length; ) {
    let j = i;
    while (j + 1 < ns.length && (ns[j + 1] as number) === (ns[j] as number) + 1) j++;
    out.push(i === j ? String(ns[i]) : `${ns[i]}-${ns[j]}`);
    i = j + 1;
  }
  return out.join(", ");
}

/** What changed for one episode: it completed, failed, or could not be planned. */
export function episodeEvent(
  before: EpisodeStatus | undefined,
  o: EpisodeOutcome,
  title: string,
): KubeEvent | undefined {
  const e = o.status;
  if (e.phase === before?.phase) return undefined;
  const n = e.index + 1;
  if (e.phase === "Completed" && o.from === "segments") {
    const with_ = e.encoder ? ` with ${e.encoder}` : "";
    const named = e.title ?? episodeTitle(undefined, e.index);
    const message = `episode ${n} (${named}) completed: ${e.segments?.total ?? 0} segments${with_}`;
    return { type: "Normal", reason: "EpisodeCompleted", message };
  }
  if (e.phase === "Completed" && o.from === "job") {
    const message = `episode ${n} (${title}) completed${e.encoder ? ` with ${e.encoder}` : ""}`;
    return { type: "Normal", reason: "EpisodeCompleted", message };
  }
  if (e.phase !== "Failed" || !e.error) return undefined;
  const error = `${e.error.code}: ${e.error.message}`;
  if (o.from === "plan") return { type: "Warning", reason: "EpisodeRefused", message: `episode ${n}: ${error}` };
  if (o.from === "segments") {
    const named = e.title ?? episodeTitle(undefined, e.index);
    const message = `episode ${n} (${named}): a segment failed: ${error}`.slice(0, 1000);
    return { type: "Warning", reason: "EpisodeFailed", message };
  }
  if (o.from === "job") {
    return { type: "Warning", reason: "EpisodeFailed", message: `episode ${n} (${title}): ${error}`.slice(0, 1000) };
  }
  return undefined;
}

const segmentsWhere = (p: Placement | undefined) =>
  p?.kind === "gpu" ? `${p.vendor} GPU nodes (${p.encoder})` : "the CPU";

const encoderFailed = (index: number, retry: EpisodeObservation): KubeEvent => ({
  type: "Warning",
  reason: "EncoderFailed",
  message: `episode ${index + 1}: the encoder failed on ${retry.failedNodes.join(", ")}; attempt ${(retry.attempt ?? 1) + 1} goes elsewhere`,
});

/**
 * What a planned episode says on its own: a split, or an attempt again after an encoder failed —
 * when its Job is created, or when no node is left for it (once, as the episode fails).
 */
export function actionEvent(vj: VideoJob, before: EpisodeStatus | undefined, o: EpisodeOutcome): KubeEvent | undefined {
  if (o.create) return creationEvent(vj, o.create);
  const refused = o.status.phase === "Failed" && before?.phase !== "Failed";
  return o.retry && refused ? encoderFailed(o.status.index, o.retry) : undefined;
}

/** What a planned Job says on its own: a split, or an attempt again after an encoder failed. */
export function creationEvent(vj: VideoJob, c: Creation): KubeEvent | undefined {
  if (c.kind === "episode" && c.retry) return encoderFailed(c.index, c.retry);
  if (c.kind !== "segments") return undefined;
  const where = segmentsWhere(c.placement);
  const episode = `episode ${c.index + 1} (${c.title})`;
  if (c.retry) {
    const message = `${episode}: a segment's encoder failed on ${c.retry.failedNodes.join(", ")}; all ${c.segments} segments again on ${where} (Indexed Job ${c.job.metadata.name})`;
    return { type: "Warning", reason: "EncoderFailed", message };
  }
  const atOnce = Math.min(c.segments, vj.spec.split.maxParallel);
  const message = `${episode} split into ${c.segments} segments: Indexed Job ${c.job.metadata.name} on ${where}, ${atOnce} pod(s) at once`;
  return { type: "Normal", reason: "EpisodeSplit", message };
}

/**
 * One Event for the episode Jobs a decision creates, grouped by where they go (not one per episode:
 * a 500-episode job would write 500 Events, and Events cost the apiserver as much as Jobs).
 */
export function scheduledEvent(creations: Creation[]): KubeEvent | undefined {
  const scheduled = new Map<string, number[]>();
  for (const c of creations) {
    if (c.kind !== "episode") continue;
    const p = c.placement;
    const where = p?.kind === "gpu" ? `a ${p.vendor} GPU node (${p.encoder})` : `the CPU (${p?.encoder})`;
    scheduled.set(where, [...(scheduled.get(where) ?? []), c.index + 1]);
  }
  if (!scheduled.size) return undefined;
  const parts = [...scheduled].map(
    ([where, eps]) => `${eps.length === 1 ? "episode" : "episodes"} ${ranges(eps)} for ${where}`,
  );
  const jobs = creations.filter((c) => c.kind !== "merge").length;
  return { type: "Normal", reason: "EpisodesScheduled", message: `created ${jobs} Job(s): ${parts.join("; ")}` };
}

/** What changed for the job: it reached Merging, Completed, Failed or Cancelled. */
export function jobEvent(
  prev: VideoJobStatus,
  next: VideoJobStatus,
  job: JobState,
  o: { deleted: number; mergeJob?: string },
): KubeEvent | undefined {
  if (next.phase === prev.phase) return undefined;
  switch (next.phase) {
    case "Cancelled":
      return { type: "Normal", reason: "Cancelled", message: `cancelled; ${o.deleted} running Job(s) removed` };
    case "Failed": {
      const reason = job.report?.reason === "MergeFailed" ? "MergeFailed" : "Failed";
      return { type: "Warning", reason, message: job.report?.message ?? "" };
    }
    case "Completed": {
      const where = next.output?.location ?? next.outputs?.[0]?.location ?? "(unknown)";
      const more = (next.outputs?.length ?? 0) > 1 ? ` and ${(next.outputs?.length ?? 0) - 1} more` : "";
      return { type: "Normal", reason: "Completed", message: `output at ${where}${more}` };
    }
    case "Merging":
      return { type: "Normal", reason: "Merging", message: `${job.report?.message} with Job ${o.mergeJob}` };
    default:
      return undefined;
  }
}

/** Every Event of a decision, episode by episode, then the Jobs scheduled, then the job's own. */
export function decisionEvents(d: {
  vj: VideoJob;
  prev: VideoJobStatus;
  status: VideoJobStatus;
  job: JobState;
  outcomes: Array<EpisodeOutcome & { before?: EpisodeStatus; title: string }>;
  creations: Creation[];
  deleted: number;
  mergeJob?: string;
}): KubeEvent[] {
  const events: Array<KubeEvent | undefined> = [];
  for (const o of d.outcomes) {
    events.push(actionEvent(d.vj, o.before, o));
    events.push(episodeEvent(o.before, o, o.title));
  }
  events.push(scheduledEvent(d.creations));
  events.push(
    jobEvent(d.prev, d.status, d.job, { deleted: d.deleted, ...(d.mergeJob ? { mergeJob: d.mergeJob } : {}) }),
  );
  return events.filter((e): e is KubeEvent => e !== undefined);
}
