// job-status: the VideoJob's own phase, progress, conditions, activity and stored outputs, computed
// from its episodes' new statuses and its merge Job — one small function per state of the job
// (cancelled, working, failed, ready to merge, merging, merged, merge failed). The merge Job is
// planned here, once every episode is done.
import {
  type Condition,
  type EpisodeStatus,
  episodePosterLocation,
  episodeTitle,
  failedEpisodesSummary,
  posterLocation,
  type StoredOutput,
  type VideoJob,
  type VideoJobStatus,
  type WorkerResultRead,
} from "@reel/crds";
import { mergedQuality } from "@reel/crds/quality";
import { type KubeJob, type OperatorSettings, planMergeJob } from "../plan/jobs.ts";
import { setCondition } from "../status/conditions.ts";
import { jobFailure } from "./episode-state.ts";
import { jobCondition, jobDone, type ObservedJob, type PodProgress } from "./observed.ts";

export interface JobInput {
  vj: VideoJob;
  prev: VideoJobStatus;
  /** The episodes' statuses as decided in this reconcile. */
  episodes: EpisodeStatus[];
  merge?: ObservedJob;
  mergeResult?: WorkerResultRead;
  /** The merge pod's latest progress message. */
  mergeProgress?: PodProgress;
  /** Planned episode Jobs held back by the namespace cap. */
  waitingForCap: number;
  cancelled: boolean;
  settings: OperatorSettings & { maxRunningPerNamespace: number };
}

/** Where the job stands: its phase and progress, and what its kstatus conditions say. */
export interface JobState {
  phase: NonNullable<VideoJobStatus["phase"]>;
  /** Absent: what the status said stands. */
  progress?: number;
  /** The job reached its end in this state: completedAt is stamped (kept once set). */
  finished?: boolean;
  /** Done (Ready), working (Reconciling), or stalled (failed, cancelled: kstatus ends a wait on it); absent: the conditions stand. */
  report?: { state: "done" | "working" | "stalled"; reason: string; message: string };
  /** The merge pod's activity, while it runs. */
  activity?: string;
  stored?: Pick<VideoJobStatus, "output" | "outputs">;
  /** Episodes with the figures the merge pod reported for them. */
  episodes?: EpisodeStatus[];
  createMerge?: KubeJob;
  deleteMerge?: string;
}

const isFinal = (phase: string | undefined) => phase === "Completed" || phase === "Failed" || phase === "Cancelled";

/** Episodes' share of the job's progress (0-100): a cancelled episode counts for what it had done. */
function episodeProgress(episodes: EpisodeStatus[]): number {
  const done = (e: EpisodeStatus) => e.phase === "Completed" || e.phase === "Failed";
  return episodes.reduce((a, e) => a + (done(e) ? 100 : e.progress), 0) / episodes.length;
}

/** Picks the job's state from its episodes and merge Job. */
export function jobState(i: JobInput): JobState {
  const completed = i.episodes.filter((e) => e.phase === "Completed");
  const failed = i.episodes.some((e) => e.phase === "Failed");
  if (i.cancelled) return jobCancelled(i);
  if (!i.episodes.every((e) => isFinal(e.phase))) return jobWorking(i);
  if (completed.length === 0 || (failed && !i.vj.spec.merge.allowPartial)) return jobFailed(i);
  if (!i.merge) return jobReadyToMerge(i);
  if (jobCondition(i.merge, "Complete")) return jobMerged(i);
  if (jobCondition(i.merge, "Failed")) return jobMergeFailed(i, i.merge);
  return jobMerging(i);
}

export function jobCancelled(i: JobInput): JobState {
  return {
    phase: "Cancelled",
    progress: Math.round(episodeProgress(i.episodes) * 0.95),
    finished: true,
    report: { state: "stalled", reason: "Cancelled", message: "spec.cancel is true" },
    ...(i.merge && !jobDone(i.merge) ? { deleteMerge: i.merge.metadata.name } : {}),
  };
}

const FORWARD = { Pending: 0, Downloading: 1, Processing: 2 } as const;

/**
 * Episodes still running. The job's phase and progress only move forward: episodes finish, retry
 * and download at different times, and a job that went Processing -> Downloading -> Processing would
 * say so to every watcher and webhook (seen on L4: ten phase deliveries for one four-episode job).
 */
export function jobWorking(i: JobInput): JobState {
  const { episodes, prev, waitingForCap } = i;
  const active = episodes.some((e) => !isFinal(e.phase) && e.phase !== "Pending");
  const beyondDownload = episodes.some((e) => isFinal(e.phase) || (e.phase !== "Pending" && e.phase !== "Downloading"));
  const computed = beyondDownload ? "Processing" : active ? "Downloading" : "Pending";
  const before =
    prev.phase === "Pending" || prev.phase === "Downloading" || prev.phase === "Processing" ? prev.phase : "Pending";
  const completed = episodes.filter((e) => e.phase === "Completed").length;
  const message =
    waitingForCap > 0
      ? `${waitingForCap} episode(s) wait: the namespace runs ${i.settings.maxRunningPerNamespace} episodes at most`
      : `${completed}/${episodes.length} episodes done`;
  return {
    phase: FORWARD[before] > FORWARD[computed] ? before : computed,
    progress: Math.max(prev.progress ?? 0, Math.round(episodeProgress(episodes) * 0.95)),
    report: { state: "working", reason: waitingForCap > 0 ? "NamespaceCapReached" : "EpisodesRunning", message },
  };
}

/** Every episode finished, too few of them completed: the job failed, listing each failed episode. */
export function jobFailed(i: JobInput): JobState {
  const list = failedEpisodesSummary(i.episodes.filter((e) => e.phase === "Failed"));
  return {
    phase: "Failed",
    progress: Math.round(episodeProgress(i.episodes) * 0.95),
    finished: true,
    report: { state: "stalled", reason: "EpisodesFailed", message: `REEL_EPISODES_FAILED: ${list}`.slice(0, 2000) },
  };
}

/** Every episode done and no merge Job: plan it, unless it ran and was garbage-collected. */
export function jobReadyToMerge(i: JobInput): JobState {
  const { prev } = i;
  if (prev.phase === "Completed" && (prev.output || prev.outputs?.length)) {
    // The merge Job was garbage-collected after it finished: the recorded output stands.
    return { phase: "Completed", progress: 100 };
  }
  const list = i.episodes
    .filter((e) => e.phase === "Completed")
    .map((e) => ({
      index: e.index,
      title: e.title ?? episodeTitle(undefined, e.index),
      ...(e.segments ? { segments: e.segments.total } : {}),
    }));
  return {
    phase: "Merging",
    progress: Math.max(prev.progress ?? 0, 95),
    report: { state: "working", reason: "Merging", message: mergeWork(i.vj, list.length) },
    // Sized from what the episodes produced (plan/resources.ts).
    createMerge: planMergeJob(i.vj, list, i.settings, i.episodes),
  };
}

/** The merge Job is running: its pod's progress moves the job from 95 % to 99 %. */
export function jobMerging(i: JobInput): JobState {
  const fine = i.mergeProgress;
  // `done` ends the pod's attempt: all stored when it ended Completed, else nothing yet.
  const percent = !fine ? 0 : fine.stage !== "done" ? fine.percent : fine.phase === "Completed" ? 100 : 0;
  const activity = fine ? activityOf([], { stage: fine.stage, percent }) : undefined;
  const completed = i.episodes.filter((e) => e.phase === "Completed").length;
  return {
    phase: "Merging",
    progress: Math.max(i.prev.progress ?? 0, 95 + Math.floor((percent * 4) / 100)),
    report: { state: "working", reason: "Merging", message: mergeWork(i.vj, completed) },
    ...(activity ? { activity } : {}),
  };
}

/** The merge Job completed: the stored files, and split episodes' figures over all their segments. */
export function jobMerged(i: JobInput): JobState {
  const joined = new Map((i.mergeResult?.joined ?? []).map((j) => [j.index, j]));
  const episodes = i.episodes.map((e) => {
    const j = joined.get(e.index);
    if (!j) return e;
    return {
      ...e,
      ...(j.encoder ? { encoder: j.encoder } : {}),
      ...(j.quality ? { quality: j.quality } : {}),
      ...(j.bytesOutput !== undefined ? { bytesOutput: j.bytesOutput } : {}),
      ...(j.durationSecs !== undefined ? { durationSecs: j.durationSecs } : {}),
    };
  });
  const completed = i.episodes.filter((e) => e.phase === "Completed");
  return {
    phase: "Completed",
    progress: 100,
    finished: true,
    report: completedReport(i),
    stored: storedOutputs(i.mergeResult, completed),
    episodes: withPosters(episodes, i.mergeResult),
  };
}

/**
 * Each episode's poster location (episodes[].poster), named by the crds rules from where the merge
 * pod stored the files: beside the merged file (it reports how many and which episodes have none),
 * or, with merge off, beside each episode's own file (paired in list order, as storedOutputs does).
 */
export function withPosters(episodes: EpisodeStatus[], result: WorkerResultRead | undefined): EpisodeStatus[] {
  const merged = result?.output;
  const set = (e: EpisodeStatus, poster: string | undefined) => (poster ? { ...e, poster } : e);
  if (merged?.location) {
    const posters = merged.posters;
    if (!posters?.stored) return episodes;
    const missing = new Set(posters.missing ?? []);
    return episodes.map((e) =>
      e.phase !== "Completed" || missing.has(e.index) ? e : set(e, episodePosterLocation(merged.location, e.index)),
    );
  }
  const each = (result?.outputs ?? []).filter((o) => o.location);
  const completed = episodes.filter((e) => e.phase === "Completed");
  const own = new Map(completed.map((e, i) => [e.index, each[i]]));
  return episodes.map((e) => {
    const o = own.get(e.index);
    return o?.posters?.stored ? set(e, posterLocation(o.location)) : e;
  });
}

function completedReport(i: JobInput): NonNullable<JobState["report"]> {
  const completed = i.episodes.filter((e) => e.phase === "Completed").length;
  const failed = i.episodes.filter((e) => e.phase === "Failed").length;
  const partial = failed ? `, ${failed} failed episode(s) left out` : "";
  const how = i.vj.spec.merge.enabled ? "merged" : "stored as separate files (merge.enabled is false)";
  return { state: "done", reason: "Completed", message: `${completed}/${i.episodes.length} episodes ${how}${partial}` };
}

export function jobMergeFailed(i: JobInput, merge: ObservedJob): JobState {
  const error = jobFailure(merge, i.mergeResult);
  const message = `merge: ${error.code}: ${error.message}`.slice(0, 2000);
  return {
    phase: "Failed",
    finished: true,
    report: { state: "stalled", reason: "MergeFailed", message },
  };
}

/** The three kstatus conditions for where the job stands. */
export function conditionsFor(
  conditions: Condition[] | undefined,
  r: NonNullable<JobState["report"]>,
  generation: number,
  now: Date,
): Condition[] {
  const set = (cs: Condition[], type: "Ready" | "Reconciling" | "Stalled", on: boolean, message: string) =>
    setCondition(
      cs,
      { type, status: on ? "True" : "False", reason: r.reason, message, observedGeneration: generation },
      now,
    );
  let out = set(conditions ?? [], "Ready", r.state === "done", r.message);
  out = set(out, "Reconciling", r.state === "working", r.state === "working" ? r.message : "");
  return set(out, "Stalled", r.state === "stalled", r.state === "stalled" ? r.message : "");
}

/** What the merge Job does: join into one file, or store each episode as its own. */
export const mergeWork = (vj: VideoJob, n: number) =>
  vj.spec.merge.enabled ? `merging ${n} episode(s)` : `storing ${n} episode(s) as separate files`;

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
    ...(o.thumbnails ? { thumbnails: o.thumbnails } : {}),
    ...(o.subtitles?.length ? { subtitles: o.subtitles } : {}),
  });
  const merged = result?.output;
  if (merged?.location) {
    // The merged file's scores are its episodes' (crds quality.ts), as `reel run` reports them.
    const quality = mergedQuality(completed);
    const output = {
      ...file(merged),
      ...(merged.chapters !== undefined ? { chapters: merged.chapters } : {}),
      ...(quality ? { quality } : {}),
    };
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
