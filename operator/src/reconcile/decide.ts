// decide: everything a reconcile of one VideoJob should do, from the VideoJob and what was
// observed — the Jobs to create, the Jobs to delete, the status to report, the events to record,
// the finalizer. Pure and table-tested; reconciler.ts carries it out.
import {
  type Condition,
  EPISODE_STAGES,
  EpisodePhase,
  episodeTitle,
  type EpisodeStatus,
  parseWorkerResult,
  type VideoJob,
  type StoredOutput,
  type VideoJobStatus,
  type WorkerResultRead,
} from "@reel/crds";
import {
  ATTEMPT_LABEL,
  EPISODE_LABEL,
  EXIT_ENCODER_FAILED,
  type EpisodeObservation,
  MAX_ATTEMPTS,
  type KubeJob,
  type OperatorSettings,
  planEpisodeJobs,
  planMergeJob,
  planSegmentJob,
  ROLE_LABEL,
  stagingLocation,
} from "../plan/jobs.ts";
import { setCondition } from "../status/conditions.ts";
import {
  jobCondition,
  jobDone,
  type Observed,
  type ObservedJob,
  type ObservedPod,
  type PodProgress,
} from "./observed.ts";

import { FINALIZER } from "@reel/crds";

export { FINALIZER };

export interface DecideSettings extends OperatorSettings {
  /** Episode Jobs running at once per namespace (0 = no cap). */
  maxRunningPerNamespace: number;
}

export interface KubeEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
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

/** The worker's result, read back from its container's termination message. */
const parseTermination = parseWorkerResult;

const terminated = (p: ObservedPod) => p.status?.containerStatuses?.find((c) => c.name === "worker")?.state?.terminated;

/** The latest pod of a Job that has a result, and the latest pod at all. */
function podsOf(job: ObservedJob, pods: ObservedPod[]) {
  const mine = pods
    .filter((p) => p.metadata.labels?.["batch.kubernetes.io/job-name"] === job.metadata.name)
    .sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
  const withResult = mine.filter((p) => parseTermination(terminated(p)?.message));
  return { latest: mine.at(-1), result: withResult.at(-1) };
}

function jobFailure(job: ObservedJob, result: WorkerResultRead | undefined): { code: string; message: string } {
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

/** The nodes where this Job's GPU encoder failed (worker exit 3). */
function encoderFailedNodes(job: ObservedJob, pods: ObservedPod[]): string[] {
  const nodes: string[] = [];
  for (const p of pods) {
    if (p.metadata.labels?.["batch.kubernetes.io/job-name"] !== job.metadata.name) continue;
    const t = terminated(p);
    const code = parseTermination(t?.message)?.error?.code;
    const node = p.spec?.nodeName;
    if ((t?.exitCode === EXIT_ENCODER_FAILED || code === "REEL_ENCODER_FAILED") && node && !nodes.includes(node))
      nodes.push(node);
  }
  return nodes;
}

/** The node where this Job's GPU encoder failed (worker exit 3), if it did. */
const encoderFailedOn = (job: ObservedJob, pods: ObservedPod[]) => encoderFailedNodes(job, pods)[0];

const isFinal = (phase: string | undefined) => phase === "Completed" || phase === "Failed" || phase === "Cancelled";

export function decide(vj: VideoJob, observed: Observed, s: DecideSettings, now: Date): Decision {
  const generation = vj.metadata.generation ?? 0;
  const prev = vj.status ?? {};
  const prevEpisodes = new Map((prev.episodes ?? []).map((e) => [e.index, e]));
  const events: KubeEvent[] = [];
  // The latest attempt of each episode, and the nodes where its GPU encoder already failed.
  const jobsByEpisode = new Map<number, ObservedJob>();
  const attemptOf = (j: ObservedJob) => Number(j.metadata.labels?.[ATTEMPT_LABEL] ?? 0) || 0;
  const failedNodes = new Map<number, string[]>();
  let mergeJob: ObservedJob | undefined;
  // Split episodes: the Indexed Job encoding their segments (the latest attempt's).
  const segmentJobs = new Map<number, ObservedJob>();
  for (const j of observed.jobs) {
    if (j.metadata.labels?.[ROLE_LABEL] === "merge") mergeJob = j;
    else if (j.metadata.labels?.[ROLE_LABEL] === "segment") {
      const i = Number(j.metadata.labels?.[EPISODE_LABEL]);
      if (!Number.isInteger(i)) continue;
      const known = segmentJobs.get(i);
      if (!known || attemptOf(j) > attemptOf(known)) segmentJobs.set(i, j);
      const nodes = encoderFailedNodes(j, observed.pods);
      if (nodes.length) failedNodes.set(i, [...(failedNodes.get(i) ?? []), ...nodes]);
    } else {
      const i = Number(j.metadata.labels?.[EPISODE_LABEL]);
      if (!Number.isInteger(i)) continue;
      const known = jobsByEpisode.get(i);
      if (!known || attemptOf(j) > attemptOf(known)) jobsByEpisode.set(i, j);
      const node = encoderFailedOn(j, observed.pods);
      if (node) failedNodes.set(i, [...(failedNodes.get(i) ?? []), node]);
    }
  }
  // Episodes whose latest attempt lost its encoder: plan the next attempt elsewhere.
  const retries = new Map<number, EpisodeObservation>();
  for (const [i, j] of jobsByEpisode) {
    if (jobCondition(j, "Failed") && encoderFailedOn(j, observed.pods) && attemptOf(j) + 1 < MAX_ATTEMPTS) {
      retries.set(i, { failedNodes: failedNodes.get(i) ?? [], attempt: attemptOf(j) + 1 });
    }
  }
  // Split episodes whose segment encoder failed: all segments again, on another node (or the CPU),
  // so that every segment of the episode comes from one encoder and the join stays lossless.
  const segmentRetries = new Map<number, EpisodeObservation>();
  for (const [i, j] of segmentJobs) {
    if (jobCondition(j, "Failed") && encoderFailedOn(j, observed.pods) && attemptOf(j) + 1 < MAX_ATTEMPTS) {
      segmentRetries.set(i, { failedNodes: failedNodes.get(i) ?? [], attempt: attemptOf(j) + 1 });
    }
  }
  const deleting = vj.metadata.deletionTimestamp !== undefined;
  const hasFinalizer = vj.metadata.finalizers?.includes(FINALIZER) ?? false;
  const cancelled = vj.spec.cancel || deleting;

  // Deletion: remove the children and the staging, then let the VideoJob go.
  if (deleting) {
    const alive = observed.jobs.filter((j) => !j.metadata.deletionTimestamp).map((j) => j.metadata.name);
    const staging = stagingLocation(vj);
    return {
      create: [],
      delete: alive,
      status: prev,
      events: [],
      ...(hasFinalizer ? { finalizer: "remove" as const } : {}),
      ...(hasFinalizer && typeof staging === "string" ? { cleanupStaging: staging } : {}),
    };
  }

  // Plan only what may be created: episodes without a Job, and retries. Most reconciles are
  // answers to the watch reporting Jobs this operator made; they plan nothing.
  const unplanned = new Set<number>();
  vj.spec.episodes.forEach((_, i) => {
    if (retries.has(i) || (!jobsByEpisode.has(i) && !segmentJobs.has(i))) unplanned.add(i);
  });
  const planned = cancelled || unplanned.size === 0 ? [] : planEpisodeJobs(vj, observed.nodes, retries, s, unplanned);
  let budget =
    s.maxRunningPerNamespace > 0
      ? s.maxRunningPerNamespace -
        observed.namespaceActive -
        [...jobsByEpisode.values()].filter((j) => !jobDone(j)).length
      : Number.POSITIVE_INFINITY;

  const create: KubeJob[] = [];
  const toDelete: string[] = [];
  // One event per reconcile for the Jobs it creates, grouped by where they go (not one per episode:
  // a 500-episode job would write 500 events, and events cost the apiserver as much as Jobs).
  const scheduled = new Map<string, number[]>();
  let waitingForCap = 0;
  /** Plans a split episode's Indexed Job (the first, or again after its encoder failed). */
  const planSegments = (
    index: number,
    title: string,
    segments: number,
    o: EpisodeObservation,
    known: EpisodeStatus,
  ): EpisodeStatus => {
    const st: EpisodeStatus = {
      ...known,
      phase: "Transcoding",
      progress: EPISODE_STAGES.encode.from,
      segments: { total: segments, completed: 0 },
    };
    const plan = planSegmentJob(vj, index, segments, observed.nodes, o, s);
    if (plan.refused || !plan.job) {
      const error = plan.refused ?? { code: "REEL_INTERNAL", message: "no segment Job planned" };
      if (known.phase !== "Failed")
        events.push({
          type: "Warning",
          reason: "EpisodeRefused",
          message: `episode ${index + 1}: ${error.code}: ${error.message}`,
        });
      return { ...st, phase: "Failed", error, finishedAt: known.finishedAt ?? now.toISOString() };
    }
    create.push(plan.job);
    const where =
      plan.placement?.kind === "gpu" ? `${plan.placement.vendor} GPU nodes (${plan.placement.encoder})` : "the CPU";
    events.push(
      o.attempt
        ? {
            type: "Warning",
            reason: "EncoderFailed",
            message: `episode ${index + 1} (${title}): a segment's encoder failed on ${o.failedNodes.join(", ")}; all ${segments} segments again on ${where} (Indexed Job ${plan.job.metadata.name})`,
          }
        : {
            type: "Normal",
            reason: "EpisodeSplit",
            message: `episode ${index + 1} (${title}) split into ${segments} segments: Indexed Job ${plan.job.metadata.name} on ${where}, ${Math.min(segments, vj.spec.split.maxParallel)} pod(s) at once`,
          },
    );
    return st;
  };
  /** A split episode, from its Indexed Job: segments done, then the outcome. */
  const segmentStatus = (seg: ObservedJob, known: EpisodeStatus): EpisodeStatus => {
    const index = known.index;
    const title = known.title ?? episodeTitle(undefined, index);
    const st = seg.status ?? {};
    const total = seg.spec?.completions ?? known.segments?.total ?? 0;
    const completedSegments = Math.min(total, st.succeeded ?? 0);
    const mine = observed.pods.filter((p) => p.metadata.labels?.["batch.kubernetes.io/job-name"] === seg.metadata.name);
    const results = mine.map((p) => parseTermination(terminated(p)?.message)).filter((r) => r !== undefined);
    const common: EpisodeStatus = {
      ...known,
      segments: { total, completed: completedSegments },
      attempts: Math.max(known.attempts ?? 0, 1),
    };
    if (jobCondition(seg, "Complete")) {
      const encoder = results.find((r) => r.encoder)?.encoder;
      if (known.phase !== "Completed")
        events.push({
          type: "Normal",
          reason: "EpisodeCompleted",
          message: `episode ${index + 1} (${title}) completed: ${total} segments${encoder ? ` with ${encoder}` : ""}`,
        });
      const done: EpisodeStatus = {
        ...common,
        phase: "Completed",
        progress: 100,
        finishedAt: st.completionTime ?? known.finishedAt ?? now.toISOString(),
        ...(encoder ? { encoder } : {}),
      };
      delete done.error;
      return done;
    }
    if (jobCondition(seg, "Failed")) {
      const error = jobFailure(seg, results.filter((r) => r.error).at(-1));
      if (known.phase !== "Failed")
        events.push({
          type: "Warning",
          reason: "EpisodeFailed",
          message: `episode ${index + 1} (${title}): a segment failed: ${error.code}: ${error.message}`.slice(0, 1000),
        });
      return { ...common, phase: "Failed", error, finishedAt: known.finishedAt ?? now.toISOString() };
    }
    if (cancelled) {
      toDelete.push(seg.metadata.name);
      return { ...common, phase: "Cancelled", finishedAt: now.toISOString() };
    }
    const { from, to } = EPISODE_STAGES.encode;
    return {
      ...common,
      phase: "Transcoding",
      progress: Math.round(from + (total ? ((to - from) * completedSegments) / total : 0)),
    };
  };
  const episodes: EpisodeStatus[] = vj.spec.episodes.map((ep, index) => {
    const before = prevEpisodes.get(index);
    const title = episodeTitle(ep, index);
    const base: EpisodeStatus = { index, title, phase: "Pending", progress: 0, attempts: 0 };
    const retry = retries.get(index);
    const job = retry ? undefined : jobsByEpisode.get(index);
    const segmentJob = retry ? undefined : segmentJobs.get(index);
    const segmentRetry = segmentRetries.get(index);
    if (segmentJob && segmentRetry && !cancelled) {
      const total = segmentJob.spec?.completions ?? before?.segments?.total ?? 0;
      return planSegments(index, title, total, segmentRetry, { ...base, ...(before ?? {}) });
    }
    if (segmentJob) return segmentStatus(segmentJob, { ...base, ...(before ?? {}) });
    if (retry && !cancelled && before?.phase !== "Pending") {
      events.push({
        type: "Warning",
        reason: "EncoderFailed",
        message: `episode ${index + 1}: the encoder failed on ${retry.failedNodes.join(", ")}; attempt ${(retry.attempt ?? 1) + 1} goes elsewhere`,
      });
    }
    if (!job) {
      // A finished episode whose Job was garbage-collected keeps its recorded result.
      if (before && isFinal(before.phase) && !retry) return before;
      if (cancelled) return { ...base, ...before, phase: "Cancelled" };
      const plan = planned[index];
      if (plan?.refused) {
        if (before?.phase !== "Failed")
          events.push({
            type: "Warning",
            reason: "EpisodeRefused",
            message: `episode ${index + 1}: ${plan.refused.code}: ${plan.refused.message}`,
          });
        return { ...base, phase: "Failed", error: plan.refused, finishedAt: before?.finishedAt ?? now.toISOString() };
      }
      if (plan?.job && budget > 0) {
        budget--;
        create.push(plan.job);
        const where =
          plan.placement?.kind === "gpu"
            ? `a ${plan.placement.vendor} GPU node (${plan.placement.encoder})`
            : `the CPU (${plan.placement?.encoder})`;
        scheduled.set(where, [...(scheduled.get(where) ?? []), index + 1]);
      } else if (plan?.job) waitingForCap++;
      return { ...base, ...(before ?? {}), phase: "Pending" };
    }
    const { latest, result: withResult } = podsOf(job, observed.pods);
    const result = parseTermination(withResult ? terminated(withResult)?.message : undefined);
    const st = job.status ?? {};
    const attempts = (st.failed ?? 0) + (st.succeeded ?? 0) + (st.active ?? 0);
    const common: EpisodeStatus = {
      ...base,
      ...(before ?? {}),
      attempts,
      ...(latest?.spec?.nodeName ? { node: latest.spec.nodeName } : {}),
      ...(st.startTime ? { startedAt: st.startTime } : {}),
    };
    if (jobCondition(job, "Complete") && result?.split) {
      // The pod split a long episode: its segments are encoded by an Indexed Job.
      const known: EpisodeStatus = {
        ...common,
        ...(result.durationSecs !== undefined ? { durationSecs: result.durationSecs } : {}),
        ...(result.bytesDownloaded !== undefined ? { bytesDownloaded: result.bytesDownloaded } : {}),
      };
      if (cancelled) return { ...known, phase: "Cancelled", finishedAt: now.toISOString() };
      return planSegments(index, title, result.split.segments, { failedNodes: failedNodes.get(index) ?? [] }, known);
    }
    if (jobCondition(job, "Complete")) {
      const done: EpisodeStatus = {
        ...common,
        phase: "Completed",
        progress: 100,
        finishedAt: st.completionTime ?? before?.finishedAt ?? now.toISOString(),
      };
      delete done.error;
      if (result?.encoder) done.encoder = result.encoder;
      if (result?.quality) done.quality = result.quality;
      if (result?.bytesDownloaded !== undefined) done.bytesDownloaded = result.bytesDownloaded;
      if (result?.bytesOutput !== undefined) done.bytesOutput = result.bytesOutput;
      if (result?.durationSecs !== undefined) done.durationSecs = result.durationSecs;
      if (before?.phase !== "Completed")
        events.push({
          type: "Normal",
          reason: "EpisodeCompleted",
          message: `episode ${index + 1} (${title}) completed${result?.encoder ? ` with ${result.encoder}` : ""}`,
        });
      return done;
    }
    if (jobCondition(job, "Failed")) {
      const error = jobFailure(job, result);
      if (before?.phase !== "Failed")
        events.push({
          type: "Warning",
          reason: "EpisodeFailed",
          message: `episode ${index + 1} (${title}): ${error.code}: ${error.message}`.slice(0, 1000),
        });
      return { ...common, phase: "Failed", error, finishedAt: before?.finishedAt ?? now.toISOString() };
    }
    if (cancelled) {
      toDelete.push(job.metadata.name);
      return { ...common, phase: "Cancelled", finishedAt: now.toISOString() };
    }
    return { ...common, ...runningEpisode(observed.progress?.get(index), latest?.status?.phase === "Running", before) };
  });

  if (scheduled.size) {
    const parts = [...scheduled].map(
      ([where, eps]) => `${eps.length === 1 ? "episode" : "episodes"} ${ranges(eps)} for ${where}`,
    );
    events.push({
      type: "Normal",
      reason: "EpisodesScheduled",
      message: `created ${create.length} Job(s): ${parts.join("; ")}`,
    });
  }
  const total = episodes.length;
  const completed = episodes.filter((e) => e.phase === "Completed");
  const failed = episodes.filter((e) => e.phase === "Failed");
  const allFinished = episodes.every((e) => isFinal(e.phase));
  const status: VideoJobStatus = {
    ...prev,
    observedGeneration: generation,
    episodes,
    episodesSummary: `${completed.length}/${total}`,
    startedAt: prev.startedAt ?? now.toISOString(),
  };
  delete status.activity;
  const running = activityOf(episodes);
  if (running && !cancelled) status.activity = running;
  const ytDlp = observed.pods.map((p) => parseTermination(terminated(p)?.message)?.ytDlp).find(Boolean);
  if (ytDlp) status.ytDlpVersion = ytDlp;
  let conditions: Condition[] = prev.conditions ?? [];
  const cond = (type: "Ready" | "Reconciling" | "Stalled", st: "True" | "False", reason: string, message = "") => {
    conditions = setCondition(conditions, { type, status: st, reason, message, observedGeneration: generation }, now);
  };
  /** The three kstatus conditions for where the job stands: done, working, or stalled (failed, cancelled). */
  const report = (state: "done" | "working" | "stalled", reason: string, message = "") => {
    cond("Ready", state === "done" ? "True" : "False", reason, message);
    cond("Reconciling", state === "working" ? "True" : "False", reason, state === "working" ? message : "");
    cond("Stalled", state === "stalled" ? "True" : "False", reason, state === "stalled" ? message : "");
  };

  // A cancelled episode counts for what it had done, not as finished work.
  const done = (e: EpisodeStatus) => e.phase === "Completed" || e.phase === "Failed";
  const episodeProgress = episodes.reduce((a, e) => a + (done(e) ? 100 : e.progress), 0) / total;
  const finish = (phase: "Completed" | "Failed" | "Cancelled") => {
    status.phase = phase;
    status.completedAt = prev.completedAt ?? now.toISOString();
  };

  if (cancelled) {
    if (mergeJob && !jobDone(mergeJob)) toDelete.push(mergeJob.metadata.name);
    finish("Cancelled");
    status.progress = Math.round(episodeProgress * 0.95);
    // Terminal without success: Stalled, so kstatus (Flux) ends a wait on it instead of timing out.
    report("stalled", "Cancelled", "spec.cancel is true");
    if (prev.phase !== "Cancelled")
      events.push({
        type: "Normal",
        reason: "Cancelled",
        message: `cancelled; ${toDelete.length} running Job(s) removed`,
      });
  } else if (!allFinished) {
    // The job's phase and progress only move forward: episodes finish, retry and download at
    // different times, and a job that went Processing -> Downloading -> Processing would say so to
    // every watcher and webhook (seen on L4: ten phase deliveries for one four-episode job).
    const active = episodes.filter((e) => !isFinal(e.phase) && e.phase !== "Pending");
    const beyondDownload = episodes.some(
      (e) => isFinal(e.phase) || (e.phase !== "Pending" && e.phase !== "Downloading"),
    );
    const computed = beyondDownload ? "Processing" : active.length ? "Downloading" : "Pending";
    const rank = { Pending: 0, Downloading: 1, Processing: 2 } as const;
    const before =
      prev.phase === "Pending" || prev.phase === "Downloading" || prev.phase === "Processing" ? prev.phase : "Pending";
    status.phase = rank[before] > rank[computed] ? before : computed;
    status.progress = Math.max(prev.progress ?? 0, Math.round(episodeProgress * 0.95));
    const reason = waitingForCap > 0 ? "NamespaceCapReached" : "EpisodesRunning";
    const message =
      waitingForCap > 0
        ? `${waitingForCap} episode(s) wait: the namespace runs ${s.maxRunningPerNamespace} episodes at most`
        : `${completed.length}/${total} episodes done`;
    report("working", reason, message);
  } else if (completed.length === 0 || (failed.length > 0 && !vj.spec.merge.allowPartial)) {
    finish("Failed");
    status.progress = Math.round(episodeProgress * 0.95);
    const list = failed.map((e) => `episode ${e.index + 1} (${e.title}): ${e.error?.code}`).join("; ");
    const message = `REEL_EPISODES_FAILED: ${list}`.slice(0, 2000);
    report("stalled", "EpisodesFailed", message);
    if (prev.phase !== "Failed") events.push({ type: "Warning", reason: "Failed", message });
  } else if (!mergeJob) {
    if (prev.phase === "Completed" && (prev.output || prev.outputs?.length)) {
      // The merge Job was garbage-collected after it finished: the recorded output stands.
      status.phase = "Completed";
      status.progress = 100;
    } else {
      const list = completed.map((e) => ({
        index: e.index,
        title: e.title ?? episodeTitle(undefined, e.index),
        ...(e.segments ? { segments: e.segments.total } : {}),
      }));
      const m = planMergeJob(vj, list, s);
      create.push(m);
      events.push({
        type: "Normal",
        reason: "Merging",
        message: `${mergeWork(vj, list.length)} with Job ${m.metadata.name}`,
      });
      status.phase = "Merging";
      status.progress = Math.max(prev.progress ?? 0, 95);
      report("working", "Merging", mergeWork(vj, list.length));
    }
  } else {
    const { result: withResult } = podsOf(mergeJob, observed.pods);
    const result = parseTermination(withResult ? terminated(withResult)?.message : undefined);
    if (jobCondition(mergeJob, "Complete")) {
      finish("Completed");
      status.progress = 100;
      Object.assign(status, storedOutputs(result, completed));
      // Split episodes get their figures over all segments from the pod that joined them.
      for (const j of result?.joined ?? []) {
        const at = episodes.findIndex((x) => x.index === j.index);
        const e = episodes[at];
        if (!e) continue;
        episodes[at] = {
          ...e,
          ...(j.encoder ? { encoder: j.encoder } : {}),
          ...(j.quality ? { quality: j.quality } : {}),
          ...(j.bytesOutput !== undefined ? { bytesOutput: j.bytesOutput } : {}),
          ...(j.durationSecs !== undefined ? { durationSecs: j.durationSecs } : {}),
        };
      }
      const partial = failed.length ? `, ${failed.length} failed episode(s) left out` : "";
      const how = vj.spec.merge.enabled ? "merged" : "stored as separate files (merge.enabled is false)";
      report("done", "Completed", `${completed.length}/${total} episodes ${how}${partial}`);
      const where = status.output?.location ?? status.outputs?.[0]?.location ?? "(unknown)";
      const more = (status.outputs?.length ?? 0) > 1 ? ` and ${(status.outputs?.length ?? 0) - 1} more` : "";
      if (prev.phase !== "Completed")
        events.push({ type: "Normal", reason: "Completed", message: `output at ${where}${more}` });
    } else if (jobCondition(mergeJob, "Failed")) {
      finish("Failed");
      const error = jobFailure(mergeJob, result);
      const message = `merge: ${error.code}: ${error.message}`.slice(0, 2000);
      report("stalled", "MergeFailed", message);
      if (prev.phase !== "Failed") events.push({ type: "Warning", reason: "MergeFailed", message });
    } else {
      // The merge pod's progress moves the job from 95 % to 99 %; Completed makes it 100.
      const fine = observed.progress?.get("merge");
      // `done` ends the pod's attempt: all stored when it ended Completed, else nothing yet.
      const percent = !fine ? 0 : fine.stage !== "done" ? fine.percent : fine.phase === "Completed" ? 100 : 0;
      status.phase = "Merging";
      status.progress = Math.max(prev.progress ?? 0, 95 + Math.floor((percent * 4) / 100));
      const activity = fine ? activityOf([], { stage: fine.stage, percent }) : undefined;
      if (activity) status.activity = activity;
      report("working", "Merging", mergeWork(vj, completed.length));
    }
  }
  status.conditions = conditions;
  return {
    create,
    delete: toDelete,
    status,
    events,
    ...(hasFinalizer ? {} : { finalizer: "add" as const }),
  };
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

const RUNNING_ORDER: EpisodeStatus["phase"][] = ["Uploading", "Measuring", "Transcoding", "Probing", "Downloading"];

/**
 * What the job's pods do now, for `kubectl get` (status.activity): the running episodes one by one
 * when there are few ("ep1 Uploading 99%, ep3 Transcoding 40%"), counted by phase when there are
 * many, and the merge pod's stage while it runs.
 */
export function activityOf(episodes: EpisodeStatus[], merge?: { stage: string; percent: number }): string | undefined {
  if (merge)
    return `${merge.stage === "store" || merge.stage === "done" ? "storing" : "merging"} ${Math.floor(merge.percent)}%`;
  const running = episodes.filter((e) => RUNNING_ORDER.includes(e.phase));
  if (!running.length) return undefined;
  if (running.length <= 3)
    return running.map((e) => `ep${e.index + 1} ${e.phase} ${Math.floor(e.progress)}%`).join(", ");
  return RUNNING_ORDER.map((p) => [p, running.filter((e) => e.phase === p).length] as const)
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${n} ${p}`)
    .join(", ");
}

/** What the merge Job does: join into one file, or store each episode as its own. */
const mergeWork = (vj: VideoJob, n: number) =>
  vj.spec.merge.enabled ? `merging ${n} episode(s)` : `storing ${n} episode(s) as separate files`;

/**
 * The job's stored files from the merge pod's result: `output` (the merged file) and `outputs`
 * (every file: the merged one, or one per episode with its index and title when merge is off).
 */
export function storedOutputs(
  result: WorkerResultRead | undefined,
  completed: EpisodeStatus[],
): Pick<VideoJobStatus, "output" | "outputs"> {
  const file = (o: StoredOutput) => ({
    location: o.location,
    ...(o.url ? { url: o.url } : {}),
    ...(o.urlExpiresAt ? { urlExpiresAt: o.urlExpiresAt } : {}),
    ...(o.bytes !== undefined ? { sizeBytes: o.bytes } : {}),
    ...(o.sha256 ? { checksum: `sha256:${o.sha256}` } : {}),
    ...(o.durationSecs !== undefined ? { durationSecs: o.durationSecs } : {}),
  });
  const merged = result?.output;
  if (merged?.location) {
    const output = { ...file(merged), ...(merged.chapters !== undefined ? { chapters: merged.chapters } : {}) };
    return { output, outputs: [file(merged)] };
  }
  const each = (result?.outputs ?? []).filter((o) => o.location);
  if (!each.length) return {};
  return {
    outputs: each.map((o, i) => {
      const e = completed[i];
      return { ...file(o), ...(e ? { episode: e.index, ...(e.title ? { title: e.title } : {}) } : {}) };
    }),
  };
}
