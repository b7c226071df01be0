// Between the REST shapes and VideoJob objects: what a create turns into, and what a Job looks like
// from a live CR or from a history row. Pure functions.
import { API_VERSION, KIND, type VideoJob, VideoJobSpec } from "@reel/crds";
import type { CreateJobInput, Job } from "../api/schemas.ts";
import type { HistoryRow } from "../db/history.ts";
import { SPAN_ANNOTATION, TRACE_ANNOTATION } from "../trace.ts";

export const CREATOR_ANNOTATION = "reel.dev/created-by";
export const SHIM_FIELD_MANAGER = "reel-shim";

export function buildVideoJob(
  input: CreateJobInput,
  ctx: { namespace: string; creator: string; traceId: string; spanId?: string },
): Omit<VideoJob, "metadata"> & { metadata: VideoJob["metadata"] & { generateName?: string } } {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      // Without a name the apiserver picks one (job-xxxxx), so concurrent creates never collide.
      ...(input.name ? { name: input.name } : { name: "", generateName: "job-" }),
      namespace: ctx.namespace,
      labels: { "app.kubernetes.io/created-by": "reel-shim" },
      annotations: {
        [CREATOR_ANNOTATION]: ctx.creator,
        [TRACE_ANNOTATION]: ctx.traceId,
        // The create request's span (exported by the shim): reconciles and pods hang from it.
        ...(ctx.spanId ? { [SPAN_ANNOTATION]: ctx.spanId } : {}),
      },
    },
    // Defaults applied here, so the stored spec reads the same to every client.
    spec: VideoJobSpec.parse({ ...input.spec, cancel: false }),
  };
}

/**
 * The spec as the API shows it to every reader of the tenant: a webhook URL's userinfo, query and
 * fragment (where a receiver's credentials go) are cut, as the webhook store keeps them (guard.ts).
 */
export function shownSpec<S extends { notification?: { webhook?: { url: string } } }>(spec: S): S {
  const hook = spec.notification?.webhook;
  if (!hook) return spec;
  let url: URL;
  try {
    url = new URL(hook.url);
  } catch {
    return spec;
  }
  if (!url.username && !url.password && !url.search && !url.hash) return spec;
  const shown = `${url.protocol}//${url.host}${url.pathname}${url.search ? "?…" : ""}`;
  return { ...spec, notification: { ...spec.notification, webhook: { ...hook, url: shown } } };
}

export function jobFromVideoJob(vj: VideoJob): Job {
  const trace = vj.metadata.annotations?.[TRACE_ANNOTATION];
  return {
    id: vj.metadata.name,
    ...(vj.metadata.uid ? { uid: vj.metadata.uid } : {}),
    namespace: vj.metadata.namespace ?? "",
    createdAt: vj.metadata.creationTimestamp ?? new Date(0).toISOString(),
    spec: shownSpec(vj.spec),
    ...(vj.status ? { status: vj.status } : {}),
    tags: vj.spec.tags ?? [],
    ...(trace ? { traceId: trace } : {}),
  };
}

export function jobFromHistory(h: HistoryRow): Job {
  return {
    id: h.name,
    uid: h.uid,
    namespace: h.namespace,
    createdAt: h.createdAt.toISOString(),
    ...(h.deletedAt ? { deletedAt: h.deletedAt.toISOString() } : {}),
    spec: shownSpec(h.spec as Job["spec"]),
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
    // A real apiserver always sets it; the fallback keeps such an object from sharing one row.
    uid:
      vj.metadata.uid ??
      `nouid-${vj.metadata.namespace ?? ""}/${vj.metadata.name}/${vj.metadata.creationTimestamp ?? ""}`,
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

/** Opaque list cursor: the (createdAt, id, uid) of the last item of the page. */
export function encodeCursor(j: { createdAt: string; id: string; uid?: string }): string {
  return Buffer.from(JSON.stringify([j.createdAt, j.id, j.uid ?? ""])).toString("base64url");
}

/** A cursor from encodeCursor; one from before uids (two elements) reads as uid "". */
export function decodeCursor(c: string): Cursor | undefined {
  try {
    const [createdAt, id, uid = ""] = JSON.parse(Buffer.from(c, "base64url").toString()) as unknown[];
    if (
      typeof createdAt !== "string" ||
      typeof id !== "string" ||
      typeof uid !== "string" ||
      Number.isNaN(Date.parse(createdAt))
    )
      return undefined;
    return { createdAt, id, uid };
  } catch {
    return undefined;
  }
}

export interface Cursor {
  createdAt: string;
  id: string;
  uid: string;
}

/**
 * Newest first, then by id, then by uid, descending (bytewise, as job_history's query orders them):
 * the order of listings. The uid separates two runs of one name created in the same second.
 */
export function compareJobs(
  a: Pick<Job, "createdAt" | "id" | "uid">,
  b: Pick<Job, "createdAt" | "id" | "uid">,
): number {
  const t = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  if (t !== 0) return t;
  if (a.id !== b.id) return a.id < b.id ? 1 : -1;
  const ua = a.uid ?? "";
  const ub = b.uid ?? "";
  return ua < ub ? 1 : ua > ub ? -1 : 0;
}

export function isAfter(j: Job, cursor: Cursor): boolean {
  return compareJobs(cursor, j) < 0;
}
