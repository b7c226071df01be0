// decide: everything a reconcile of one VideoJob should do, from the VideoJob and what was
// observed — the Jobs to create, the Jobs to delete, the status to report, the events to record,
// the finalizer. Pure and table-tested; reconciler.ts carries it out. It composes the parts:
// children.ts indexes what was observed per episode, episode-state.ts decides each episode,
// job-status.ts the job, and decision-events.ts derives the Events from old and new status.
import { FINALIZER, type VideoJob, type VideoJobStatus } from "@reel/crds";
import {
  type EpisodeObservation,
  type KubeJob,
  type OperatorSettings,
  planEpisodeJobs,
  stagingLocation,
} from "../plan/jobs.ts";
import { type Children, indexChildren } from "./children.ts";
import { decisionEvents, type KubeEvent } from "./decision-events.ts";
import { decideEpisode, type EpisodeContext, type EpisodeOutcome } from "./episode-state.ts";
import { activityOf, conditionsFor, type JobState, jobState } from "./job-status.ts";
import type { Observed } from "./observed.ts";

export { FINALIZER };
export { type KubeEvent, ranges } from "./decision-events.ts";
export { runningEpisode } from "./episode-state.ts";
export { activityOf, storedOutputs } from "./job-status.ts";

export interface DecideSettings extends OperatorSettings {
  /** Episode Jobs running at once per namespace (0 = no cap). */
  maxRunningPerNamespace: number;
}

export interface Decision {
  create: KubeJob[];
  /** Names of Jobs to delete (cancel, deletion). */
  delete: string[];
  status: VideoJobStatus;
  events: KubeEvent[];
  finalizer?: "add" | "remove";
  /** Staging to remove before the finalizer goes (S3 prefix or volume directory). */
  cleanupStaging?: string;
}

export function decide(vj: VideoJob, observed: Observed, s: DecideSettings, now: Date): Decision {
  const hasFinalizer = vj.metadata.finalizers?.includes(FINALIZER) ?? false;
  if (vj.metadata.deletionTimestamp !== undefined) return deletion(vj, observed, hasFinalizer);
  const prev = vj.status ?? {};
  const cancelled = vj.spec.cancel;
  const children = indexChildren(vj, observed, prev);
  const plans = planUnplanned(vj, children, observed, s, cancelled);
  const c: EpisodeContext = { vj, nodes: observed.nodes, settings: s, now, cancelled };
  if (observed.progress) c.progress = observed.progress;
  const decided = children.episodes.map((v) => reusedEpisode(v, observed) ?? decideEpisode(v, plans[v.index], c));
  const { outcomes, waitingForCap } = underCap(decided, capBudget(s, observed, children));
  const job = jobState({
    vj,
    prev,
    episodes: outcomes.map((o) => o.status),
    ...(children.merge ? { merge: children.merge } : {}),
    ...(children.mergePods.result ? { mergeResult: children.mergePods.result } : {}),
    ...(observed.progress?.get("merge") ? { mergeProgress: observed.progress.get("merge") } : {}),
    waitingForCap,
    cancelled,
    settings: s,
  });
  const status = jobStatus(vj, prev, outcomes, children, job, now);
  const creations = outcomes.flatMap((o) => (o.create ? [o.create] : []));
  if (job.createMerge) creations.push({ kind: "merge", job: job.createMerge });
  const toDelete = outcomes.flatMap((o) => (o.delete ? [o.delete] : []));
  if (job.deleteMerge) toDelete.push(job.deleteMerge);
  const mergeJob = job.createMerge?.metadata.name ?? children.merge?.metadata.name;
  const events = decisionEvents({
    vj,
    prev,
    status,
    job,
    outcomes: outcomes.map((o, i) => ({ ...o, ...episodeOf(children, i) })),
    creations,
    deleted: toDelete.length,
    ...(mergeJob ? { mergeJob } : {}),
  });
  return {
    create: creations.map((x) => x.job),
    delete: toDelete,
    status,
    events,
    ...(hasFinalizer ? {} : { finalizer: "add" as const }),
  };
}

const episodeOf = (children: Children, i: number) => {
  const v = children.episodes[i];
  return { title: v?.title ?? "", ...(v?.before ? { before: v.before } : {}) };
};

/** Deletion: remove the children and the staging, then let the VideoJob go. */
function deletion(vj: VideoJob, observed: Observed, hasFinalizer: boolean): Decision {
  const alive = observed.jobs.filter((j) => !j.metadata.deletionTimestamp).map((j) => j.metadata.name);
  const staging = stagingLocation(vj);
  return {
    create: [],
    delete: alive,
    status: vj.status ?? {},
    events: [],
    ...(hasFinalizer ? { finalizer: "remove" as const } : {}),
    ...(hasFinalizer && typeof staging === "string" ? { cleanupStaging: staging } : {}),
  };
}

/**
 * Plans only what may be created: episodes without a Job, and retries. Most reconciles are answers
 * to the watch reporting Jobs this operator made; they plan nothing.
 */
function planUnplanned(vj: VideoJob, children: Children, observed: Observed, s: DecideSettings, cancelled: boolean) {
  const unplanned = new Set<number>();
  const retries = new Map<number, EpisodeObservation>();
  for (const v of children.episodes) {
    if (observed.reused?.has(v.index)) continue;
    if (v.retry) retries.set(v.index, v.retry);
    if (v.retry || (!v.job && !v.segmentJob)) unplanned.add(v.index);
  }
  return cancelled || unplanned.size === 0 ? [] : planEpisodeJobs(vj, observed.nodes, retries, s, unplanned);
}

/** An episode nothing started whose finished work was copied from another job: Completed, no Job. */
function reusedEpisode(v: Children["episodes"][number], observed: Observed): EpisodeOutcome | undefined {
  const reused = observed.reused?.get(v.index);
  if (!reused || v.job || v.segmentJob) return undefined;
  return { status: reused, from: "record" };
}

/** Episode Jobs this VideoJob may still start under the namespace cap. */
function capBudget(s: DecideSettings, observed: Observed, children: Children): number {
  if (s.maxRunningPerNamespace <= 0) return Number.POSITIVE_INFINITY;
  return s.maxRunningPerNamespace - observed.namespaceActive - children.running;
}

/** Keeps the first `budget` planned episode Jobs (in episode order); the rest wait, still Pending. */
function underCap(decided: EpisodeOutcome[], budget: number): { outcomes: EpisodeOutcome[]; waitingForCap: number } {
  let left = budget;
  let waitingForCap = 0;
  const outcomes = decided.map((o) => {
    if (o.create?.kind !== "episode") return o;
    if (left > 0) {
      left--;
      return o;
    }
    waitingForCap++;
    const { create: _held, ...rest } = o;
    return rest;
  });
  return { outcomes, waitingForCap };
}

/** The new status: the episodes', the job's state, and what the pods report. */
function jobStatus(
  vj: VideoJob,
  prev: VideoJobStatus,
  outcomes: EpisodeOutcome[],
  children: Children,
  job: JobState,
  now: Date,
): VideoJobStatus {
  const generation = vj.metadata.generation ?? 0;
  const episodes = job.episodes ?? outcomes.map((o) => o.status);
  const completed = episodes.filter((e) => e.phase === "Completed").length;
  const status: VideoJobStatus = {
    ...prev,
    observedGeneration: generation,
    episodes,
    episodesSummary: `${completed}/${episodes.length}`,
    startedAt: prev.startedAt ?? now.toISOString(),
  };
  delete status.activity;
  const running = activityOf(episodes);
  if (running && !vj.spec.cancel) status.activity = running;
  if (children.ytDlp) status.ytDlpVersion = children.ytDlp;
  status.phase = job.phase;
  if (job.finished) status.completedAt = prev.completedAt ?? now.toISOString();
  if (job.progress !== undefined) status.progress = job.progress;
  if (job.stored) Object.assign(status, job.stored);
  if (job.activity) status.activity = job.activity;
  status.conditions = job.report
    ? conditionsFor(prev.conditions, job.report, generation, now)
    : (prev.conditions ?? []);
  return status;
}
