// Uploads leave with the job that used them: when a VideoJob naming uploads (UPLOADS_ANNOTATION)
// is deleted — by the operator's finished-job retention or by hand — its uploads' objects and rows
// are removed, unless another job in the namespace still names them. Every replica hears the
// deletion; removal is idempotent (a quiet DeleteObjects, a DELETE of a row that may be gone).
import { UPLOADS_ANNOTATION, uploadsOf } from "@reel/crds";
import type { CachedJob } from "../jobs/cache.ts";
import type { ShimDeps } from "../deps.ts";
import { forgetUploadByKey } from "./store.ts";
import type { TusUploads } from "./tus.ts";

/** The ids `job` names that no other job of `others` names. */
export function uploadsFreedBy(job: CachedJob, others: CachedJob[]): string[] {
  const still = new Set(
    others
      .filter((o) => o.metadata.uid !== job.metadata.uid)
      .flatMap((o) => uploadsOf(o.metadata.annotations?.[UPLOADS_ANNOTATION])),
  );
  return uploadsOf(job.metadata.annotations?.[UPLOADS_ANNOTATION]).filter((id) => !still.has(id));
}

/** Starts removing uploads with their jobs; returns the stop function. */
export function removeUploadsWithJobs(deps: ShimDeps, tus: TusUploads): () => void {
  const onDeleted = (job: CachedJob) => {
    const namespace = job.metadata.namespace ?? "";
    const ids = uploadsFreedBy(job, deps.cache.list(namespace));
    for (const id of ids) {
      const target = { namespace, id };
      (async () => {
        await tus.remove(target);
        // The key names the namespace: a row of another tenant with the same id cannot match.
        await forgetUploadByKey(deps.db.db, id, tus.key(target));
        deps.log.info({ videojob: `${namespace}/${job.metadata.name}`, upload: id }, "upload removed with its job");
      })().catch((err) =>
        deps.log.warn({ err: (err as Error).message, upload: id }, "upload not removed with its job; it stays counted"),
      );
    }
  };
  deps.cache.on("deleted", onDeleted);
  return () => deps.cache.off("deleted", onDeleted);
}
