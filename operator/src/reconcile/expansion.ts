// expansion: a VideoJob with playlist entries (`- playlist: URL`) before and after its one listing.
// Recorded (status.expansion): the VideoJob is planned as if its entries were the episodes recorded
// (crds applyExpansion), whatever the playlist says today. Not recorded: the list Job is created,
// its listing read from staging once it is there, and either recorded or the job Failed with the
// listing's code. Pure; reconciler.ts reads the listing and carries the step out.
import {
  applyExpansion,
  errorCodes,
  findPlaylists,
  isErrorCode,
  type Listing,
  type PlaylistExpansion,
  ReelError,
  recordExpansion,
  type VideoJob,
  VideoJob as VideoJobSchema,
  withStandIns,
} from "@reel/crds";
import { type KubeJob, type OperatorSettings, stagingLocation } from "../plan/jobs.ts";
import { planListJob } from "../plan/list.ts";
import { jobCondition, type ObservedJob } from "./observed.ts";

/** What a VideoJob as stored is, for planning. */
export type Expanded =
  /** No playlist entries, or all recorded: plan `vj` (its episodes are the recorded ones). */
  | { kind: "planned"; vj: VideoJob }
  /** Playlist entries without a record: `standIn` is the job with one stand-in episode per entry. */
  | { kind: "unlisted"; standIn: VideoJob; staging: string | { error: string } }
  | { kind: "invalid"; message: string };

export function expanded(raw: object): Expanded {
  const status = (raw as { status?: { expansion?: PlaylistExpansion[] } }).status;
  let doc: object | undefined;
  try {
    if (!findPlaylists(raw).length) return parsed(raw);
    doc = applyExpansion(raw, status?.expansion);
    if (doc) return parsed(doc);
    const standIn = VideoJobSchema.safeParse(withStandIns(raw));
    if (!standIn.success) return { kind: "invalid", message: standIn.error.message };
    return { kind: "unlisted", standIn: standIn.data, staging: stagingLocation(standIn.data) };
  } catch (e) {
    return { kind: "invalid", message: (e as Error).message };
  }
}

function parsed(doc: object): Expanded {
  const p = VideoJobSchema.safeParse(doc);
  return p.success ? { kind: "planned", vj: p.data } : { kind: "invalid", message: p.error.message };
}

/** The next step of an unlisted VideoJob. */
export type ListingStep =
  | { kind: "create"; job: KubeJob }
  | { kind: "wait" }
  | { kind: "record"; expansion: PlaylistExpansion[] }
  | { kind: "fail"; code: string; message: string };

export interface ListingObserved {
  /** The list Job, when the informer (or our own create) has it. */
  job?: ObservedJob;
  /** The listing in staging, when one was read. */
  listing?: Listing;
}

/** Read the listing from staging now: there is no list Job (a restart after it was cleaned up) or it succeeded. */
export const shouldReadListing = (job: ObservedJob | undefined) => !job || !!jobCondition(job, "Complete");

export function listingStep(
  raw: object,
  u: Extract<Expanded, { kind: "unlisted" }>,
  o: ListingObserved,
  s: OperatorSettings,
): ListingStep {
  if (typeof u.staging !== "string" || !u.staging.startsWith("s3://")) {
    return {
      kind: "fail",
      code: "REEL_JOB_INVALID",
      message:
        "playlist entries in a cluster need output.s3 (the list pod leaves its listing in S3 staging); with a volume output, submit the expanded episodes: reel submit expands them on your machine",
    };
  }
  if (o.listing) {
    try {
      return { kind: "record", expansion: recordExpansion(raw, o.listing) };
    } catch (e) {
      const r = ReelError.from(e, "REEL_YTDLP_FAILED");
      return { kind: "fail", code: r.code, message: r.message };
    }
  }
  if (!o.job) return { kind: "create", job: planListJob(raw, u.standIn, u.staging, s) };
  const failed = jobCondition(o.job, "Failed");
  if (failed || jobCondition(o.job, "Complete")) {
    return {
      kind: "fail",
      code: "REEL_YTDLP_FAILED",
      message: `the list Job ${o.job.metadata.name} ended without a listing in staging (${failed?.reason ?? "no playlists.json"}); see kubectl logs job/${o.job.metadata.name}`,
    };
  }
  return { kind: "wait" };
}

/** A failed listing as the condition message people read: the code, what happened, the next step. */
export function failureMessage(code: string, message: string): string {
  const next = isErrorCode(code) ? ` ${errorCodes[code]}` : "";
  return `${code}: ${message}.${next}`.slice(0, 2000);
}
