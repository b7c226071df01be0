// What retention asks of one VideoJob now, and when it will next ask something: pure, table-tested
// (due.test.ts); sweeper.ts carries it out.
//
// - REEL_OUTPUT_RETENTION: a finished job's output objects in S3 are deleted that long after it
//   finished, and status says so (output.expiredAt, url gone). Outputs on a volume are left alone
//   (only a pod mounting the claim could reach them).
// - REEL_FINISHED_RETENTION: a finished VideoJob (Completed, Failed, Cancelled) is deleted that long
//   after it finished; its finalizer still removes the staging. A VideoJob is the only record of
//   its output, so one whose output is still to expire is kept until that is done.
import type { StoredFileStatus, VideoJob, VideoJobStatus } from "@reel/crds";

export interface RetentionSettings {
  /** REEL_OUTPUT_RETENTION in seconds; unset keeps outputs. */
  outputsSecs?: number;
  /** REEL_FINISHED_RETENTION in seconds; unset keeps finished VideoJobs. */
  finishedSecs?: number;
}

export type RetentionAction = "expire-output" | "delete-videojob";

export interface Due {
  /** What to do now, in this order (an output goes before its VideoJob). */
  actions: RetentionAction[];
  /** When (epoch ms) the next action not yet due comes due. */
  next?: number;
}

/** The subset of a VideoJob retention reads (the informer's objects are not re-parsed for it). */
export type RetainedVideoJob = {
  metadata: Pick<VideoJob["metadata"], "deletionTimestamp">;
  spec: { output: Pick<VideoJob["spec"]["output"], "s3"> };
  status?: VideoJobStatus;
};

const FINAL = new Set(["Completed", "Failed", "Cancelled"]);

/** When the job finished: status.completedAt, else the last change of its Ready/Stalled condition. */
export function finishedAt(vj: RetainedVideoJob): number | undefined {
  const st = vj.status;
  if (!st?.phase || !FINAL.has(st.phase)) return undefined;
  const completed = Date.parse(st.completedAt ?? "");
  if (Number.isFinite(completed)) return completed;
  const times = (st.conditions ?? [])
    .filter((c) => c.type === "Ready" || c.type === "Stalled")
    .map((c) => Date.parse(c.lastTransitionTime))
    .filter(Number.isFinite);
  return times.length ? Math.max(...times) : undefined;
}

/** The job's stored files: every entry of status.outputs, else status.output. */
export function storedFiles(
  status: VideoJobStatus | undefined,
): Array<Pick<StoredFileStatus, "location" | "expiredAt" | "thumbnails" | "subtitles">> {
  if (status?.outputs?.length) return status.outputs;
  return status?.output ? [status.output] : [];
}

/** Outputs in the job's own S3 bucket that were not deleted yet. */
export function expirableOutput(vj: RetainedVideoJob): boolean {
  const s3 = vj.spec.output.s3;
  return !!s3 && storedFiles(vj.status).some((o) => o.location.startsWith(`s3://${s3.bucket}/`) && !o.expiredAt);
}

export function due(vj: RetainedVideoJob, now: Date, s: RetentionSettings): Due {
  const none: Due = { actions: [] };
  if (vj.metadata.deletionTimestamp) return none;
  const t = finishedAt(vj);
  if (t === undefined) return none;
  const at = now.getTime();
  const actions: RetentionAction[] = [];
  let next: number | undefined;
  const later = (when: number) => {
    next = next === undefined ? when : Math.min(next, when);
  };
  let outputAt: number | undefined;
  if (s.outputsSecs !== undefined && expirableOutput(vj)) {
    outputAt = t + s.outputsSecs * 1000;
    if (outputAt <= at) actions.push("expire-output");
    else later(outputAt);
  }
  if (s.finishedSecs !== undefined) {
    const deleteAt = Math.max(t + s.finishedSecs * 1000, outputAt ?? Number.NEGATIVE_INFINITY);
    if (deleteAt <= at) actions.push("delete-videojob");
    else later(deleteAt);
  }
  return next === undefined ? { actions } : { actions, next };
}

/**
 * The status a reconcile writes, with expired outputs kept expired: decide() rebuilds
 * status.output and status.outputs from the merge pod's result for as long as the merge Job
 * exists, which would bring the dead URLs back.
 */
export function keepExpiredOutput(prev: VideoJobStatus | undefined, next: VideoJobStatus): VideoJobStatus {
  const expired = prev?.output?.expiredAt ?? prev?.outputs?.find((o) => o.expiredAt)?.expiredAt;
  if (!expired) return next;
  const dead = <T extends { url?: string; urlExpiresAt?: string }>({ url: _u, urlExpiresAt: _e, ...rest }: T) => ({
    ...rest,
    expiredAt: expired,
  });
  return {
    ...next,
    ...(prev?.output ? { output: dead(prev.output) } : {}),
    ...(prev?.outputs ? { outputs: prev.outputs.map(dead) } : {}),
  };
}

/** "2s", "45m", "30d", "1d2h": a period in seconds as people read it, for events. */
export function humanDuration(secs: number): string {
  const parts: string[] = [];
  let left = secs;
  for (const [unit, n] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (left >= n) {
      parts.push(`${Math.floor(left / n)}${unit}`);
      left %= n;
    }
  }
  return parts.join("") || "0s";
}
