// episode-state: one episode's status and the Job it needs, from its EpisodeView (children.ts) —
// one small pure function per state the episode can be in: unplanned, retrying, running on its
// Job, split into segments, segmenting, segments retrying, and final. `decideEpisode` picks the
// state; the Events are derived afterwards (decision-events.ts), never pushed from here.
import { EPISODE_STAGES, EpisodePhase, type EpisodeStatus, type VideoJob, type WorkerResultRead } from "@reel/crds";
import {
  type EpisodeObservation,
  type KubeJob,
  type OperatorSettings,
  type PlannedEpisode,
  planSegmentJob,
} from "../plan/jobs.ts";
import type { ObservedNode, Placement } from "../scheduling/gpu.ts";
import { type EpisodeView, resultOf } from "./children.ts";
import { jobCondition, type LiveProgress, type ObservedJob, type PodProgress } from "./observed.ts";

/** What every episode state reads besides its view. */
export interface EpisodeContext {
  vj: VideoJob;
  nodes: ObservedNode[];
  settings: OperatorSettings;
  now: Date;
  /** spec.cancel: running Jobs go, nothing new starts. */
  cancelled: boolean;
  progress?: LiveProgress;
}

/** A Job to create, with what its Event says about it. */
export type Creation =
  | { kind: "episode"; index: number; job: KubeJob; placement?: Placement; retry?: EpisodeObservation }
  | {
      kind: "segments";
      index: number;
      title: string;
      segments: number;
      job: KubeJob;
      placement?: Placement;
      /** Set when all segments run again after their encoder failed. */
      retry?: EpisodeObservation;
    }
  | { kind: "merge"; job: KubeJob };

export interface EpisodeOutcome {
  status: EpisodeStatus;
  /** Which child the status was read from: the planner, the episode Job, the Indexed Job, or the record. */
  from: "plan" | "job" | "segments" | "record";
  create?: Creation;
  /** A running Job to delete (cancel). */
  delete?: string;
  /** The next attempt this decision planned after the encoder failed (created, held back, or refused). */
  retry?: EpisodeObservation;
}

const isFinal = (phase: string | undefined) => phase === "Completed" || phase === "Failed" || phase === "Cancelled";

const baseOf = (v: EpisodeView): EpisodeStatus => ({
  index: v.index,
  title: v.title,
  phase: "Pending",
  progress: 0,
  attempts: 0,
});

/** Why a Job failed: the worker's error, else what the Job's Failed condition says. */
export function jobFailure(job: ObservedJob, result: WorkerResultRead | undefined): { code: string; message: string } {
  if (result?.error) return result.error;
  const failed = jobCondition(job, "Failed");
  if (failed?.reason === "DeadlineExceeded") {
    return { code: "REEL_EPISODE_DEADLINE", message: failed.message ?? "the Job ran past activeDeadlineSeconds" };
  }
  return {
    code: "REEL_WORKER_FAILED",
    message: `${failed?.reason ?? "Failed"}: ${failed?.message ?? "the worker failed without a result"}`,
  };
}

/** Picks the episode's state from its view and decides it. */
export function decideEpisode(v: EpisodeView, plan: PlannedEpisode | undefined, c: EpisodeContext): EpisodeOutcome {
  if (v.retry) return episodeRetrying(v, plan, c);
  if (v.segmentJob && v.segmentRetry && !c.cancelled) return episodeSegmentsRetrying(v, v.segmentJob, c);
  if (v.segmentJob) return episodeSegmenting(v, v.segmentJob, c);
  if (v.job) return episodeRunning(v, v.job, c);
  // A finished episode whose Job was garbage-collected keeps its recorded result.
  if (v.before && isFinal(v.before.phase)) return episodeFinal(v.before);
  return episodeUnplanned(v, plan, c);
}

/** No Job yet: the planned one (Pending until it runs), or Failed with why none can run. */
export function episodeUnplanned(v: EpisodeView, plan: PlannedEpisode | undefined, c: EpisodeContext): EpisodeOutcome {
  const base = baseOf(v);
  if (c.cancelled) return { status: { ...base, ...v.before, phase: "Cancelled" }, from: "plan" };
  if (plan?.refused) {
    const finishedAt = v.before?.finishedAt ?? c.now.toISOString();
    return { status: { ...base, phase: "Failed", error: plan.refused, finishedAt }, from: "plan" };
  }
  const status: EpisodeStatus = { ...base, ...(v.before ?? {}), phase: "Pending" };
  if (!plan?.job) return { status, from: "plan" };
  const create: Creation = {
    kind: "episode",
    index: v.index,
    job: plan.job,
    ...(plan.placement ? { placement: plan.placement } : {}),
    ...(v.retry ? { retry: v.retry } : {}),
  };
  return { status, from: "plan", create };
}

/** The latest attempt lost its encoder: the next one is planned away from where it failed. */
export function episodeRetrying(v: EpisodeView, plan: PlannedEpisode | undefined, c: EpisodeContext): EpisodeOutcome {
  const o = episodeUnplanned(v, plan, c);
  return v.retry && !c.cancelled ? { ...o, retry: v.retry } : o;
}

/** A finished episode whose Jobs are gone: what was recorded stands. */
export function episodeFinal(before: EpisodeStatus): EpisodeOutcome {
  return { status: before, from: "record" };
}

/** An episode on its Job: running, completed, split, failed, or cancelled. */
export function episodeRunning(v: EpisodeView, job: ObservedJob, c: EpisodeContext): EpisodeOutcome {
  const { latest, result } = v.jobPods;
  const st = job.status ?? {};
  const common: EpisodeStatus = {
    ...baseOf(v),
    ...(v.before ?? {}),
    attempts: (st.failed ?? 0) + (st.succeeded ?? 0) + (st.active ?? 0),
    ...(latest?.spec?.nodeName ? { node: latest.spec.nodeName } : {}),
    ...(st.startTime ? { startedAt: st.startTime } : {}),
  };
  if (jobCondition(job, "Complete") && result?.split) return episodeSplit(v, common, result, c);
  if (jobCondition(job, "Complete")) {
    const done: EpisodeStatus = {
      ...common,
      phase: "Completed",
      progress: 100,
      finishedAt: st.completionTime ?? v.before?.finishedAt ?? c.now.toISOString(),
    };
    delete done.error;
    if (result?.encoder) done.encoder = result.encoder;
    if (result?.quality) done.quality = result.quality;
    if (result?.bytesDownloaded !== undefined) done.bytesDownloaded = result.bytesDownloaded;
    if (result?.bytesOutput !== undefined) done.bytesOutput = result.bytesOutput;
    if (result?.durationSecs !== undefined) done.durationSecs = result.durationSecs;
    if (result?.warnings) done.warnings = result.warnings;
    if (result?.source) done.source = result.source;
    if (result?.loudness) done.loudness = result.loudness;
    if (result?.picture) done.picture = result.picture;
    // The source's own title for an episode the manifest left untitled: status and chapter show it.
    if (result?.title) done.title = result.title;
    return { status: done, from: "job" };
  }
  if (jobCondition(job, "Failed")) {
    const finishedAt = v.before?.finishedAt ?? c.now.toISOString();
    return { status: { ...common, phase: "Failed", error: jobFailure(job, result), finishedAt }, from: "job" };
  }
  if (c.cancelled) {
    const status: EpisodeStatus = { ...common, phase: "Cancelled", finishedAt: c.now.toISOString() };
    return { status, from: "job", delete: job.metadata.name };
  }
  const podRunning = latest?.status?.phase === "Running";
  return { status: { ...common, ...runningEpisode(c.progress?.get(v.index), podRunning, v.before) }, from: "job" };
}

/** The episode's pod split it: its segments are encoded by an Indexed Job, planned here. */
export function episodeSplit(
  v: EpisodeView,
  common: EpisodeStatus,
  result: WorkerResultRead,
  c: EpisodeContext,
): EpisodeOutcome {
  const known: EpisodeStatus = {
    ...common,
    ...(result.durationSecs !== undefined ? { durationSecs: result.durationSecs } : {}),
    ...(result.bytesDownloaded !== undefined ? { bytesDownloaded: result.bytesDownloaded } : {}),
    ...(result.source ? { source: result.source } : {}),
    ...(result.title ? { title: result.title } : {}),
    ...(result.loudness ? { loudness: result.loudness } : {}),
  };
  if (c.cancelled) return { status: { ...known, phase: "Cancelled", finishedAt: c.now.toISOString() }, from: "job" };
  return planSegments(v, known, result.split?.segments ?? 0, { failedNodes: v.failedNodes }, c);
}

/** The Indexed Job lost its encoder: all segments again, elsewhere, so one encoder makes the episode. */
export function episodeSegmentsRetrying(v: EpisodeView, seg: ObservedJob, c: EpisodeContext): EpisodeOutcome {
  const total = seg.spec?.completions ?? v.before?.segments?.total ?? 0;
  return planSegments(v, { ...baseOf(v), ...(v.before ?? {}) }, total, v.segmentRetry ?? { failedNodes: [] }, c);
}

/** Plans a split episode's Indexed Job (the first, or again after its encoder failed). */
function planSegments(
  v: EpisodeView,
  known: EpisodeStatus,
  segments: number,
  o: EpisodeObservation,
  c: EpisodeContext,
): EpisodeOutcome {
  const status: EpisodeStatus = {
    ...known,
    phase: "Transcoding",
    progress: EPISODE_STAGES.encode.from,
    segments: { total: segments, completed: 0 },
  };
  // Sized from the episode's source as its pod just reported it (plan/resources.ts).
  const plan = planSegmentJob(c.vj, v.index, segments, c.nodes, o, c.settings, known);
  if (plan.refused || !plan.job) {
    const error = plan.refused ?? { code: "REEL_INTERNAL", message: "no segment Job planned" };
    const finishedAt = known.finishedAt ?? c.now.toISOString();
    return { status: { ...status, phase: "Failed", error, finishedAt }, from: "plan" };
  }
  const create: Creation = {
    kind: "segments",
    index: v.index,
    title: v.title,
    segments,
    job: plan.job,
    ...(plan.placement ? { placement: plan.placement } : {}),
    ...(o.attempt ? { retry: o } : {}),
  };
  return { status, from: "plan", create };
}

/** A split episode, from its Indexed Job: segments done, then the outcome. */
export function episodeSegmenting(v: EpisodeView, seg: ObservedJob, c: EpisodeContext): EpisodeOutcome {
  const known: EpisodeStatus = { ...baseOf(v), ...(v.before ?? {}) };
  const st = seg.status ?? {};
  const total = seg.spec?.completions ?? known.segments?.total ?? 0;
  const completed = Math.min(total, st.succeeded ?? 0);
  const results = v.segmentPods.all.map((p) => resultOf(p)).filter((r) => r !== undefined);
  const common: EpisodeStatus = {
    ...known,
    segments: { total, completed },
    attempts: Math.max(known.attempts ?? 0, 1),
  };
  if (jobCondition(seg, "Complete")) {
    const encoder = results.find((r) => r.encoder)?.encoder;
    const finishedAt = st.completionTime ?? known.finishedAt ?? c.now.toISOString();
    const done: EpisodeStatus = {
      ...common,
      phase: "Completed",
      progress: 100,
      finishedAt,
      ...(encoder ? { encoder } : {}),
    };
    delete done.error;
    return { status: done, from: "segments" };
  }
  if (jobCondition(seg, "Failed")) {
    const error = jobFailure(seg, results.filter((r) => r.error).at(-1));
    const finishedAt = known.finishedAt ?? c.now.toISOString();
    return { status: { ...common, phase: "Failed", error, finishedAt }, from: "segments" };
  }
  if (c.cancelled) {
    const status: EpisodeStatus = { ...common, phase: "Cancelled", finishedAt: c.now.toISOString() };
    return { status, from: "segments", delete: seg.metadata.name };
  }
  const { from, to } = EPISODE_STAGES.encode;
  const progress = Math.round(from + (total ? ((to - from) * completed) / total : 0));
  return { status: { ...common, phase: "Transcoding", progress }, from: "segments" };
}

/**
 * A running episode's phase and percent, from its pod's latest progress message (the contract's
 * stage table) or, without one, from the pod: Downloading once it runs, else Pending. A message that
 * ends the attempt (`done`) shows the upload finished until the Job completes, or, after a failed
 * attempt the Job retries, what was known before.
 */
export function runningEpisode(
  fine: PodProgress | undefined,
  podRunning: boolean,
  before: EpisodeStatus | undefined,
): Pick<EpisodeStatus, "phase" | "progress"> {
  const known = before?.progress ?? 0;
  if (!fine) return { phase: podRunning ? "Downloading" : "Pending", progress: known };
  if (fine.stage === "done") {
    if (fine.phase === "Completed") return { phase: "Uploading", progress: 100 };
    return { phase: podRunning ? "Downloading" : "Pending", progress: known };
  }
  const phase =
    EPISODE_PHASES.has(fine.phase) && !isFinal(fine.phase) ? (fine.phase as EpisodeStatus["phase"]) : "Downloading";
  return { phase, progress: Math.round(fine.percent) };
}

const EPISODE_PHASES = new Set<string>(EpisodePhase.options);
