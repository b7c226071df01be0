// A retry of a finished job: which jobs may be retried and what the new one is called. The new
// VideoJob has the old one's spec; the operator then reuses every episode whose finished staged work
// still matches its source (operator/src/reuse), so only the failed ones run again. Pure.
import {
  applyExpansion,
  ReelError,
  type VideoJobSpec,
  VideoJobSpec as VideoJobSpecSchema,
  type VideoJobStatus,
} from "@reel/crds";

/** Why `status` cannot be retried, or undefined when it can: Failed, or Completed with a failed episode. */
export function retryRefusal(status: VideoJobStatus | undefined): string | undefined {
  const phase = status?.phase ?? "Pending";
  const failed = (status?.episodes ?? []).filter((e) => e.phase === "Failed").length;
  if (phase === "Failed") return undefined;
  if (phase === "Completed" && failed > 0) return undefined;
  if (phase === "Completed") return "every episode completed; there is nothing to retry";
  if (phase === "Cancelled") return "the job was cancelled; submit it again instead";
  return `the job is ${phase}; retry it once it has finished`;
}

/** The longest VideoJob name (a DNS label, like the shim's JobName). */
const MAX_NAME = 63;

/**
 * `<name>-r1`, `-r2`, …: the first free number after the highest taken, counted from the original
 * name (a retry of season-r1 is season-r2). Undefined when the name would be too long.
 */
export function retryName(name: string, taken: Iterable<string>): string | undefined {
  const base = name.replace(/-r\d+$/, "");
  const mine = new RegExp(`^${base.replace(/[-.]/g, "\\$&")}-r(\\d+)$`);
  let highest = 0;
  for (const t of [name, ...taken]) {
    const n = Number(mine.exec(t)?.[1] ?? 0);
    if (n > highest) highest = n;
  }
  const next = `${base}-r${highest + 1}`;
  return next.length <= MAX_NAME ? next : undefined;
}

/**
 * The retry's spec: the job's own, with its playlist entries replaced by the episodes recorded in
 * status.expansion, so a retry runs the same videos whatever the playlist lists now. A job whose
 * playlists were never recorded (its listing failed) ran nothing: it is submitted again, not retried.
 */
export function retrySpec(job: { metadata?: { name?: string }; spec: unknown; status?: VideoJobStatus }): VideoJobSpec {
  const doc = { spec: { ...(job.spec as object), cancel: false } };
  const recorded = applyExpansion(doc, job.status?.expansion) as typeof doc | undefined;
  if (!recorded) {
    throw new ReelError(
      "REEL_JOB_NOT_RETRYABLE",
      `job ${job.metadata?.name ?? ""}: its playlists were never listed (the listing failed, see its conditions); submit it again`,
    );
  }
  return VideoJobSpecSchema.parse(recorded.spec);
}
