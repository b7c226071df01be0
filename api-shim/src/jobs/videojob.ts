// Between the REST shapes and VideoJob objects: what a create turns into, and what a Job looks like
// from a live CR or from a history row. Pure functions.
import { API_VERSION, KIND, type VideoJob, VideoJobSpec } from "@reel/crds";
import type { CreateJobInput, Job } from "../api/schemas.ts";
import type { HistoryRow } from "../db/history.ts";
import { TRACE_ANNOTATION } from "../trace.ts";

export const CREATOR_ANNOTATION = "reel.dev/created-by";
export const SHIM_FIELD_MANAGER = "reel-shim";

export function buildVideoJob(
  input: CreateJobInput,
  ctx: { namespace: string; creator: string; traceId: string },
): Omit<VideoJob, "metadata"> & { metadata: VideoJob["metadata"] & { generateName?: string } } {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      // Without a name the apiserver picks one (job-xxxxx), so concurrent creates never collide.
      ...(input.name ? { name: input.name } : { name: "", generateName: "job-" }),
      namespace: ctx.namespace,
      labels: { "app.kubernetes.io/created-by": "reel-shim" },
      annotations: { [CREATOR_ANNOTATION]: ctx.creator, [TRACE_ANNOTATION]: ctx.traceId },
    },
    // Defaults applied here, so the stored spec reads the same to every client.
    spec: VideoJobSpec.parse({ ...input.spec, cancel: false }),
  };
}

export function jobFromVideoJob(vj: VideoJob): Job {
  const trace = vj.metadata.annotations?.[TRACE_ANNOTATION];
  return {
    id: vj.metadata.name,
    namespace: vj.metadata.namespace ?? "",
    createdAt: vj.metadata.creationTimestamp ?? new Date(0).toISOString(),
    spec: vj.spec,
    ...(vj.status ? { status: vj.status } : {}),
    tags: vj.spec.tags ?? [],
    ...(trace ? { traceId: trace } : {}),
  };
}

export function jobFromHistory(h: HistoryRow): Job {
  return {
    id: h.name,
    namespace: h.namespace,
    createdAt: h.createdAt.toISOString(),
    spec: h.spec as Job["spec"],
    ...(h.status ? { status: h.status as Job["status"] } : {}),
    tags: h.tags,
    ...(h.traceId ? { traceId: h.traceId } : {}),
  };
}

export function historyFromVideoJob(
  vj: VideoJob,
  deleted: boolean,
): Omit<HistoryRow, "deletedAt"> & { deleted: boolean } {
  const phase = vj.status?.phase ?? null;
  return {
    namespace: vj.metadata.namespace ?? "",
    name: vj.metadata.name,
    uid: vj.metadata.uid ?? null,
    createdAt: new Date(vj.metadata.creationTimestamp ?? Date.now()),
    finishedAt: vj.status?.completedAt ? new Date(vj.status.completedAt) : null,
    phase,
    tags: vj.spec.tags ?? [],
    traceId: vj.metadata.annotations?.[TRACE_ANNOTATION] ?? null,
    createdBy: vj.metadata.annotations?.[CREATOR_ANNOTATION] ?? null,
    spec: vj.spec as unknown as Record<string, unknown>,
    status: (vj.status ?? null) as Record<string, unknown> | null,
    deleted,
  };
}

/** Opaque list cursor: the (createdAt, id) of the last item of the page. */
export function encodeCursor(j: { createdAt: string; id: string }): string {
  return Buffer.from(JSON.stringify([j.createdAt, j.id])).toString("base64url");
}

export function decodeCursor(c: string): { createdAt: string; id: string } | undefined {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(c, "base64url").toString()) as unknown[];
    if (typeof createdAt !== "string" || typeof id !== "string" || Number.isNaN(Date.parse(createdAt)))
      return undefined;
    return { createdAt, id };
  } catch {
    return undefined;
  }
}

/** Newest first, then by id descending: the order of listings and of the history query. */
export function compareJobs(a: Job, b: Job): number {
  const t = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  return t !== 0 ? t : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function isAfter(j: Job, cursor: { createdAt: string; id: string }): boolean {
  return compareJobs({ createdAt: cursor.createdAt, id: cursor.id } as Job, j) < 0;
}
