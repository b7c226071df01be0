// The REST API's answers (api-shim/API.md), defined once: the shim builds its OpenAPI document from
// these schemas and answers these shapes; the CLI's client, its fake shim and scripts read them
// through the inferred types. Readers take the `z.input` side (a field the shim fills with a default
// may be absent from an older shim). Inputs the shim checks strictly (job create, keys, admin) stay
// in api-shim/src/api/schemas.ts.
import { z } from "zod";
import { JobPhase, type StoredFileStatus, VideoJobSpec, VideoJobStatus } from "../schema.ts";
import { ProgressPhase } from "./progress.ts";

/** Roles of the users table, most allowed first. */
export const ROLES = ["admin", "operator", "viewer"] as const;
/** What an API key may be scoped to. */
export const SCOPES = ["jobs:read", "jobs:write", "keys:admin"] as const;
export const Role = z.enum(ROLES);
export const Scope = z.enum(SCOPES);
export type Role = z.infer<typeof Role>;
export type Scope = z.infer<typeof Scope>;

export const Job = z
  .object({
    id: z.string().describe("The VideoJob's name; names can be reused, so two jobs of a listing may share it."),
    uid: z
      .string()
      .optional()
      .describe("The VideoJob's uid: unique to this job, and the id of a run whose name was used again."),
    namespace: z.string(),
    createdAt: z.string().describe("RFC 3339 time."),
    deletedAt: z
      .string()
      .optional()
      .describe("RFC 3339 time; present when the VideoJob is gone and the job is served from history."),
    spec: VideoJobSpec,
    status: VideoJobStatus.optional(),
    tags: z.array(z.string()),
    traceId: z.string().optional(),
  })
  .meta({ id: "Job" });
export type Job = z.output<typeof Job>;

export const JobList = z.object({ items: z.array(Job), next: z.string().optional() }).meta({ id: "JobList" });
export type JobList = z.output<typeof JobList>;

/**
 * A job in a listing asked for with `?view=summary`: what a table row shows, without the spec and
 * the per-episode status (a page of 200 jobs of 500 episodes is about 45 MB in full, and every
 * reader of the tenant may ask for it). The spec is one `GET /api/v1/jobs/:id` away.
 */
export const JobSummary = Job.pick({
  id: true,
  uid: true,
  namespace: true,
  createdAt: true,
  deletedAt: true,
  tags: true,
  traceId: true,
})
  .extend({
    phase: JobPhase,
    progress: z.number().optional().describe("Percent of the whole job done (from status)."),
    episodes: z.number().int().describe("How many episodes the spec has."),
    episodesSummary: z.string().optional().describe("Status's `done/total` line, when the operator wrote one."),
  })
  .meta({ id: "JobSummary" });
export type JobSummary = z.output<typeof JobSummary>;

export const JobSummaryList = z
  .object({ items: z.array(JobSummary), next: z.string().optional() })
  .meta({ id: "JobSummaryList" });
export type JobSummaryList = z.output<typeof JobSummaryList>;

/** The summary of a job as the REST API gives it (the one writer, used by the shim). */
export function jobSummary(j: Job): JobSummary {
  return {
    id: j.id,
    ...(j.uid ? { uid: j.uid } : {}),
    namespace: j.namespace,
    createdAt: j.createdAt,
    ...(j.deletedAt ? { deletedAt: j.deletedAt } : {}),
    tags: j.tags,
    ...(j.traceId ? { traceId: j.traceId } : {}),
    phase: j.status?.phase ?? "Pending",
    ...(j.status?.progress !== undefined ? { progress: j.status.progress } : {}),
    episodes: j.spec.episodes.length,
    ...(j.status?.episodesSummary ? { episodesSummary: j.status.episodesSummary } : {}),
  };
}

/** A pod's live progress as the streams carry it: `progress` is a percent (0..100) of that pod's work. */
const PodProgress = z.object({
  stage: z.string().describe("The pod's stage (crds/src/contract/progress.ts); `done` ends an attempt."),
  progress: z.number().min(0).max(100).describe("Percent of this pod's work done."),
  phase: ProgressPhase.describe(
    "The stage's phase (Merging for the merge pod's own stages); on `done`, how the attempt ended (Completed, Failed, Cancelled).",
  ),
});

export const JobEvent = z
  .object({
    id: z
      .string()
      .describe(
        "Cursor <resourceVersion>-<progress seq>: the same on every shim replica; send it back as Last-Event-ID.",
      ),
    type: z.enum(["phase", "progress", "status", "deleted"]),
    job: z.string(),
    at: z.string(),
    phase: JobPhase.optional(),
    progress: z.number().optional().describe("Percent of the whole job done (from status)."),
    episode: PodProgress.extend({ index: z.number().int().min(0) })
      .optional()
      .describe("A progress event of an episode pod."),
    merge: PodProgress.optional().describe("A progress event of the merge pod."),
    status: VideoJobStatus.optional(),
  })
  .meta({ id: "JobEvent" });
export type JobEvent = z.output<typeof JobEvent>;

export const Me = z
  .object({
    id: z.number().int(),
    name: z.string(),
    role: Role,
    tenant: z.string().nullable(),
    namespace: z.string().nullable(),
  })
  .meta({ id: "Me" });
export type Me = z.output<typeof Me>;

/** The JSON answer of an output's download route (asked with Accept: application/json). */
export const OutputLink = z
  .object({
    url: z.string().describe("A fresh presigned GET, or <publicBaseUrl>/<key> when the installation sets one."),
    expiresAt: z.string().optional().describe("RFC 3339 time the presigned URL stops working; absent: it does not."),
  })
  .meta({ id: "OutputLink" });
export type OutputLink = z.output<typeof OutputLink>;

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().regex(/^REEL_[A-Z0-9_]+$/),
      message: z.string(),
      hint: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: "Error" });
export type ErrorBody = z.output<typeof ErrorBody>;

/**
 * Every stored file of a job, in order: `status.outputs`, or for a status written before that
 * field the merged `status.output` alone. Index n of this list is output n of the download route.
 */
export function storedFiles(status: z.input<typeof VideoJobStatus> | undefined): StoredFileStatus[] {
  if (status?.outputs) return status.outputs;
  if (!status?.output) return [];
  const { chapters: _, ...file } = status.output;
  return [file];
}

/** The download route of output `n` (below the server's base URL); `id` is the job's uid or name. */
export const outputDownloadPath = (id: string, n: number): string =>
  `/api/v1/jobs/${encodeURIComponent(id)}/outputs/${n}/download`;
