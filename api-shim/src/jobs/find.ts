// One job of a tenant by the `:id` of a route: a name or a uid, live (the watch-fed cache) or from
// history (job_history). Another tenant's job is not found, never forbidden.
import { ReelError } from "@reel/crds";
import { jobIdParam } from "../api/params.ts";
import type { Job } from "../api/schemas.ts";
import { getHistory, getHistoryByUid } from "../db/history.ts";
import type { ShimDeps } from "../deps.ts";
import type { CachedJob } from "./cache.ts";
import { jobFromHistory, jobFromVideoJob } from "./videojob.ts";

/** A Kubernetes uid (RFC 4122 text form), as `:id` may be instead of a name. */
const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const jobNotFound = (id: string) => new ReelError("REEL_JOB_NOT_FOUND", `job ${id} not found`);

/**
 * `id` is a name (the live VideoJob of that name, else the newest finished run of it) or a uid
 * (that run, live or from history: how an older run of a reused name is addressed). Only `ns` is
 * looked in; REEL_JOB_NOT_FOUND otherwise.
 */
export async function findJob(
  deps: Pick<ShimDeps, "cache" | "db">,
  ns: string,
  id: string,
): Promise<{ live?: CachedJob; job: Job }> {
  const { cache } = deps;
  const live = cache.get(ns, id);
  if (live) return { live, job: jobFromVideoJob(live) };
  // Checked after the cache (a cached name is valid) and before the database.
  jobIdParam(id);
  const h = await getHistory(deps.db.db, ns, id);
  if (h) return { job: jobFromHistory(h) };
  if (UID.test(id)) {
    const byUid = cache.list(ns).find((j) => j.metadata.uid === id);
    if (byUid) return { live: byUid, job: jobFromVideoJob(byUid) };
    const hu = await getHistoryByUid(deps.db.db, ns, id);
    if (hu) return { job: jobFromHistory(hu) };
  }
  throw jobNotFound(id);
}
