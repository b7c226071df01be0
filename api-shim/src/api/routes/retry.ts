// POST /api/v1/jobs/:id/retry: a new VideoJob from a finished one with failed episodes, named
// <name>-r1, -r2, … (jobs/retry.ts), with its spec (playlists as recorded: retrySpec). The operator reuses the episodes whose finished
// work matches their source and runs the rest. Tenant-checked like the other job routes (another
// tenant's job is not found), and audited as job.retry.
import { API_VERSION, KIND, ReelError } from "@reel/crds";
import { resourcePath } from "@reel/operator/kube";
import type { FastifyInstance } from "fastify";
import { actorName } from "../../auth/principal.ts";
import { principal, requireScope, tenantNamespace } from "../../auth/request.ts";
import type { ShimDeps } from "../../deps.ts";
import type { CachedJob } from "../../jobs/cache.ts";
import { findJob } from "../../jobs/find.ts";
import { retryName, retryRefusal, retrySpec } from "../../jobs/retry.ts";
import { buildVideoJob, jobFromVideoJob, SHIM_FIELD_MANAGER } from "../../jobs/videojob.ts";
import { requestAuditor } from "../audit.ts";
import { createRefused } from "./jobs.ts";

/** Names taken by a concurrent retry answer 409; the next number is tried, this many times. */
const NAME_TRIES = 3;

export function retryRoute(app: FastifyInstance, deps: ShimDeps) {
  const { cache, kube } = deps;
  const audit = requestAuditor(deps);

  app.post<{ Params: { id: string } }>("/jobs/:id/retry", async (req, reply) => {
    const p = principal(req);
    const ns = tenantNamespace(p);
    cache.assertSynced();
    const id = req.params.id;
    // Existence first: a tenant without the scope still learns nothing about other tenants' ids.
    const { live } = await findJob(deps, ns, id);
    try {
      requireScope(req, "jobs:write");
    } catch (e) {
      await audit(req, p, { action: "job.retry", target: `${ns}/${id}`, result: "denied" });
      throw e;
    }
    if (!live)
      throw new ReelError("REEL_JOB_FINISHED", `job ${id} is gone (only its history is kept); submit it again`);
    const from = live.metadata.name;
    const refusal = retryRefusal(live.status);
    if (refusal) throw new ReelError("REEL_JOB_NOT_RETRYABLE", `job ${from}: ${refusal}`);
    const spec = retrySpec(live);
    const ctx = { namespace: ns, creator: actorName(p), traceId: req.trace.traceId, spanId: req.trace.spanId };
    let taken = cache.list(ns).map((j) => j.metadata.name);
    for (let attempt = 0; ; attempt++) {
      const name = retryName(from, taken);
      if (!name) throw new ReelError("REEL_JOB_INVALID", `job ${from}: a retry's name would pass 63 characters`);
      try {
        const created = await kube.request<CachedJob>(
          "POST",
          `${resourcePath(API_VERSION, KIND, ns)}?fieldManager=${SHIM_FIELD_MANAGER}`,
          buildVideoJob({ name, spec }, ctx),
        );
        cache.remember(created);
        const job = jobFromVideoJob(created);
        await audit(req, p, { action: "job.retry", target: `${ns}/${name}`, result: "ok", detail: { from } });
        deps.onJobCreated?.(job);
        return reply.code(201).send(job);
      } catch (e) {
        const err = createRefused(e, ns, name);
        if (err.code === "REEL_JOB_EXISTS" && attempt + 1 < NAME_TRIES) {
          taken = [...taken, name];
          continue;
        }
        await audit(req, p, {
          action: "job.retry",
          target: `${ns}/${name}`,
          result: "failed",
          detail: { from, code: err.code },
        });
        throw err;
      }
    }
  });
}
