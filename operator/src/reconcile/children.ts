// children: what a VideoJob's observed Jobs and pods say, indexed once per reconcile — pods by Job,
// each episode's latest attempt and segment Job, the nodes where its encoder failed, the retry that
// is due, and the merge Job — into one EpisodeView per episode for the state functions
// (episode-state.ts) to read.
import {
  type EpisodeStatus,
  episodeTitle,
  parseWorkerResult,
  type VideoJob,
  type VideoJobStatus,
  type WorkerResultRead,
} from "@reel/crds";
import {
  ATTEMPT_LABEL,
  EPISODE_LABEL,
  EXIT_ENCODER_FAILED,
  type EpisodeObservation,
  MAX_ATTEMPTS,
  ROLE_LABEL,
} from "../plan/jobs.ts";
import { jobCondition, jobDone, type Observed, type ObservedJob, type ObservedPod } from "./observed.ts";

const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";

/** A Job's pods and what they reported. */
export interface JobPods {
  /** In the order they were observed. */
  all: ObservedPod[];
  /** The newest pod. */
  latest?: ObservedPod;
  /** The worker result of the newest pod that has one. */
  result?: WorkerResultRead;
}

/** One episode as observed: its latest Jobs, their pods, and what went wrong with its encoder. */
export interface EpisodeView {
  index: number;
  /** The title from the spec (episodeTitle). */
  title: string;
  /** The episode's status before this reconcile. */
  before?: EpisodeStatus;
  /** The latest attempt's episode Job. */
  job?: ObservedJob;
  jobPods: JobPods;
  /** The latest attempt's Indexed Job, once the episode was split into segments. */
  segmentJob?: ObservedJob;
  segmentPods: JobPods;
  /** Nodes where the episode's GPU encoder failed, over all its attempts. */
  failedNodes: string[];
  /** The next episode attempt, when the latest one failed because its encoder did. */
  retry?: EpisodeObservation;
  /** All segments again, when the latest Indexed Job failed because its encoder did. */
  segmentRetry?: EpisodeObservation;
}

export interface Children {
  episodes: EpisodeView[];
  merge?: ObservedJob;
  mergePods: JobPods;
  /** Latest episode Jobs still running (the namespace cap counts them). */
  running: number;
  /** The yt-dlp version a pod reported. */
  ytDlp?: string;
}

export const terminated = (p: ObservedPod) =>
  p.status?.containerStatuses?.find((c) => c.name === "worker")?.state?.terminated;

/** The worker's result, read back from its container's termination message. */
export const resultOf = (p: ObservedPod | undefined) => (p ? parseWorkerResult(terminated(p)?.message) : undefined);

const attemptOf = (j: ObservedJob) => Number(j.metadata.labels?.[ATTEMPT_LABEL] ?? 0) || 0;

function jobPods(all: ObservedPod[] = []): JobPods {
  const byAge = [...all].sort((a, b) =>
    (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
  );
  const result = resultOf(byAge.filter((p) => resultOf(p)).at(-1));
  return { all, ...(byAge.length ? { latest: byAge.at(-1) } : {}), ...(result ? { result } : {}) };
}

/** The nodes where a Job's GPU encoder failed (worker exit 3 or its error code), in pod order. */
function encoderFailedNodes(pods: ObservedPod[]): string[] {
  const nodes: string[] = [];
  for (const p of pods) {
    const t = terminated(p);
    const code = parseWorkerResult(t?.message)?.error?.code;
    const node = p.spec?.nodeName;
    if ((t?.exitCode === EXIT_ENCODER_FAILED || code === "REEL_ENCODER_FAILED") && node && !nodes.includes(node))
      nodes.push(node);
  }
  return nodes;
}

/** The next attempt after `j`, when `j` failed because its encoder did and attempts are left. */
function retryAfter(j: ObservedJob | undefined, pods: JobPods, failedNodes: string[]): EpisodeObservation | undefined {
  if (!j || !jobCondition(j, "Failed") || !encoderFailedNodes(pods.all).length) return undefined;
  return attemptOf(j) + 1 < MAX_ATTEMPTS ? { failedNodes, attempt: attemptOf(j) + 1 } : undefined;
}

/** Indexes the observed Jobs and pods of `vj` by episode. */
export function indexChildren(vj: VideoJob, observed: Observed, prev: VideoJobStatus): Children {
  const podsByJob = new Map<string, ObservedPod[]>();
  for (const p of observed.pods) {
    const name = p.metadata.labels?.[JOB_NAME_LABEL];
    if (name !== undefined) podsByJob.set(name, [...(podsByJob.get(name) ?? []), p]);
  }
  const pods = (j: ObservedJob | undefined) => jobPods(j ? podsByJob.get(j.metadata.name) : undefined);
  const episodeJobs = new Map<number, ObservedJob>();
  const segmentJobs = new Map<number, ObservedJob>();
  const failedNodes = new Map<number, string[]>();
  let merge: ObservedJob | undefined;
  for (const j of observed.jobs) {
    const role = j.metadata.labels?.[ROLE_LABEL];
    if (role === "merge") {
      merge = j;
      continue;
    }
    const i = Number(j.metadata.labels?.[EPISODE_LABEL]);
    if (!Number.isInteger(i)) continue;
    const latest = role === "segment" ? segmentJobs : episodeJobs;
    const known = latest.get(i);
    if (!known || attemptOf(j) > attemptOf(known)) latest.set(i, j);
    // An Indexed Job's segments run on several nodes; an episode Job's pod counts once.
    const nodes = encoderFailedNodes(podsByJob.get(j.metadata.name) ?? []);
    const lost = role === "segment" ? nodes : nodes.slice(0, 1);
    if (lost.length) failedNodes.set(i, [...(failedNodes.get(i) ?? []), ...lost]);
  }
  const before = new Map((prev.episodes ?? []).map((e) => [e.index, e]));
  const episodes = vj.spec.episodes.map((ep, index): EpisodeView => {
    const job = episodeJobs.get(index);
    const segmentJob = segmentJobs.get(index);
    const view: EpisodeView = {
      index,
      title: episodeTitle(ep, index),
      jobPods: pods(job),
      segmentPods: pods(segmentJob),
      failedNodes: failedNodes.get(index) ?? [],
    };
    const was = before.get(index);
    const retry = retryAfter(job, view.jobPods, view.failedNodes);
    const segmentRetry = retryAfter(segmentJob, view.segmentPods, view.failedNodes);
    return {
      ...view,
      ...(was ? { before: was } : {}),
      ...(job ? { job } : {}),
      ...(segmentJob ? { segmentJob } : {}),
      ...(retry ? { retry } : {}),
      ...(segmentRetry ? { segmentRetry } : {}),
    };
  });
  const ytDlp = observed.pods.map((p) => resultOf(p)?.ytDlp).find(Boolean);
  return {
    episodes,
    ...(merge ? { merge } : {}),
    mergePods: pods(merge),
    running: [...episodeJobs.values()].filter((j) => !jobDone(j)).length,
    ...(ytDlp ? { ytDlp } : {}),
  };
}
