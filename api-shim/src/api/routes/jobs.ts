// /api/v1/jobs: VideoJobs in the caller's tenant namespace. Reads come from the watch-fed cache
// (and job_history for finished jobs whose CRs are gone); writes go to the apiserver. Another
// tenant's job is not found, never forbidden: ids must not leak across tenants.
import { API_VERSION, jobSummary, KIND, ReelError, unknownSpecFields } from "@reel/crds";
import { ApiError, resourcePath } from "@reel/operator/kube";
import type { FastifyInstance } from "fastify";
import { actorName, type Principal } from "../../auth/principal.ts";
import { principal, requireScope, tenantNamespace } from "../../auth/request.ts";
import { listHistory } from "../../db/history.ts";
import type { ShimDeps } from "../../deps.ts";
import { requestAuditor } from "../audit.ts";
import type { CachedJob } from "../../jobs/cache.ts";
import { findJob, jobNotFound } from "../../jobs/find.ts";
import {
  buildVideoJob,
  compareJobs,
  decodeCursor,
  encodeCursor,
  isAfter,
  jobFromHistory,
  jobFromVideoJob,
  SHIM_FIELD_MANAGER,
} from "../../jobs/videojob.ts";
import { annotateUploads, jobUploads } from "../../uploads/episodes.ts";
import { invalid, RequestError, unknownFieldsError } from "../errors.ts";
import { CreateJobInput, FULL_PAGE_MAX, ListJobsQuery } from "../schemas.ts";
import { retryRoute } from "./retry.ts";

export function jobRoutes(app: FastifyInstance, deps: ShimDeps) {
  const { cache, kube } = deps;

  const audit = requestAuditor(deps);

  const find = (ns: string, id: string) => findJob(deps, ns, id);

  retryRoute(app, deps);

  app.post("/jobs", async (req, reply) => {
    const p = requireScope(req, "jobs:write");
    const ns = tenantNamespace(p);
    cache.assertSynced();
    // `upload: <id>` episodes become the S3 objects the shim stored (uploads/episodes.ts).
    const uploads = await jobUploads(deps, p, ns, req.body);
    const parsed = CreateJobInput.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid(parsed.error, "job", "REEL_JOB_INVALID");
    // The schema is strict at the spec's top level; a misspelt nested field (merge.alowPartial)
    // would be dropped silently, so it is refused with the closest known name, as reel run does.
    const unknown = unknownSpecFields((req.body as { spec?: unknown }).spec);
    if (unknown.length) throw unknownFieldsError(unknown);
    const input = parsed.data;
    clusterOnly(input.spec);
    if (input.spec.priority === "high") mayUseHighPriority(p, deps.config.REEL_HIGH_PRIORITY_TENANTS);
    const obj = buildVideoJob(input, {
      namespace: ns,
      creator: actorName(p),
      traceId: req.trace.traceId,
      spanId: req.trace.spanId,
    });
    annotateUploads(obj, uploads);
    if (obj.spec.notification?.webhook && deps.webhooks) {
      try {
        await deps.webhooks.validateRegistration(ns, obj.spec);
      } catch (e) {
        await audit(req, p, {
          action: "job.create",
          target: `${ns}/${input.name ?? "(generated)"}`,
          result: "denied",
          detail: { code: (e as ReelError).code, message: (e as Error).message },
        });
        throw e;
      }
    }
    let created: CachedJob;
    try {
      created = await kube.request<CachedJob>(
        "POST",
        `${resourcePath(API_VERSION, KIND, ns)}?fieldManager=${SHIM_FIELD_MANAGER}`,
        obj,
      );
    } catch (e) {
      const err = createRefused(e, ns, input.name);
      if (err.code === "REEL_UNAVAILABLE" || err.code === "REEL_TENANT_UNKNOWN")
        req.log.warn({ err: (e as Error).message, videojob: `${ns}/${input.name ?? ""}` }, "create refused");
      await audit(req, p, {
        action: "job.create",
        target: `${ns}/${input.name ?? "(generated)"}`,
        result: "failed",
        detail: { code: err.code, message: err.message },
      });
      throw err;
    }
    cache.remember(created);
    const job = jobFromVideoJob(created);
    await audit(req, p, {
      action: "job.create",
      target: `${ns}/${job.id}`,
      result: "ok",
      detail: { uid: created.metadata.uid },
    });
    deps.onJobCreated?.(job);
    req.log.info({ videojob: `${ns}/${job.id}` }, "job created");
    return reply.code(201).send(job);
  });

  app.get("/jobs", async (req) => {
    const p = requireScope(req, "jobs:read");
    const ns = tenantNamespace(p);
    cache.assertSynced();
    const q = ListJobsQuery.safeParse(req.query);
    if (!q.success) throw invalid(q.error, "query");
    const { phase, tag, view } = q.data;
    const limit = q.data.limit ?? (view === "full" ? FULL_PAGE_MAX : 50);
    if (view === "full" && limit > FULL_PAGE_MAX) {
      throw new RequestError(
        "REEL_INVALID_ARGUMENT",
        `a view=full page holds at most ${FULL_PAGE_MAX} jobs (asked ${limit}); list summaries (the default) or ask fewer`,
      );
    }
    const after = q.data.cursor ? decodeCursor(q.data.cursor) : undefined;
    if (q.data.cursor && !after) throw new RequestError("REEL_INVALID_ARGUMENT", "cursor is not one this API gave out");
    // Both sources in the same order, merged: live CRs win over their own history rows.
    const live = cache
      .list(ns)
      .map(jobFromVideoJob)
      .filter((j) => (!phase || (j.status?.phase ?? "Pending") === phase) && (!tag || j.tags.includes(tag)))
      .filter((j) => !after || isAfter(j, after))
      .sort(compareJobs);
    const history = (
      await listHistory(deps.db.db, {
        namespace: ns,
        ...(phase ? { phase } : {}),
        ...(tag ? { tag } : {}),
        ...(after ? { after: { createdAt: new Date(after.createdAt), name: after.id, uid: after.uid } } : {}),
        limit: limit + 1,
      })
    ).map(jobFromHistory);
    // A live CR's own history row (written when it finished) is left out by uid; a run of the same
    // name from before is another job and is listed beside it.
    const uids = new Set(live.map((j) => j.uid));
    const merged = [...live, ...history.filter((h) => !uids.has(h.uid))].sort(compareJobs);
    const items = merged.slice(0, limit);
    const last = items.at(-1);
    const next = merged.length > limit && last ? { next: encodeCursor(last) } : {};
    return { items: view === "full" ? items : items.map(jobSummary), ...next };
  });

  app.get<{ Params: { id: string } }>("/jobs/:id", async (req) => {
    const ns = tenantNamespace(requireScope(req, "jobs:read"));
    cache.assertSynced();
    return (await find(ns, req.params.id)).job;
  });

  // The status GET answers a live job with its status serialised once per cached object: the watch
  // replaces the object on every change (a new resourceVersion), so a WeakMap keyed by it holds
  // each version's body until the next one replaces it.
  const statusBodies = new WeakMap<CachedJob, string>();
  app.get<{ Params: { id: string } }>("/jobs/:id/status", (req, reply) => {
    const ns = tenantNamespace(requireScope(req, "jobs:read"));
    cache.assertSynced();
    const live = cache.get(ns, req.params.id);
    if (!live) return find(ns, req.params.id).then(({ job }) => job.status ?? {});
    let body = statusBodies.get(live);
    if (body === undefined) {
      body = JSON.stringify(live.status ?? {});
      statusBodies.set(live, body);
    }
    return reply.type("application/json; charset=utf-8").send(body);
  });

  app.post<{ Params: { id: string } }>("/jobs/:id/cancel", async (req, reply) => {
    const p = principal(req);
    const ns = tenantNamespace(p);
    cache.assertSynced();
    const id = req.params.id;
    const target = `${ns}/${id}`;
    // Existence first: a tenant without the scope still learns nothing about other tenants' ids.
    const { live } = await find(ns, id);
    try {
      requireScope(req, "jobs:write");
    } catch (e) {
      await audit(req, p, {
        action: "job.cancel",
        target,
        result: "denied",
        detail: { message: (e as Error).message },
      });
      throw e;
    }
    if (!live) throw new ReelError("REEL_JOB_FINISHED", `job ${id} has finished; only its history is kept`);
    let patched: CachedJob;
    try {
      // By name: `id` may have been the uid.
      patched = await kube.patch<CachedJob>(API_VERSION, KIND, ns, live.metadata.name, { spec: { cancel: true } });
    } catch (e) {
      const err =
        e instanceof ApiError && e.status === 404
          ? jobNotFound(id)
          : new ReelError("REEL_UNAVAILABLE", "the Kubernetes API did not take the cancel; try again shortly");
      if (err.code === "REEL_UNAVAILABLE")
        req.log.warn({ err: (e as Error).message, videojob: target }, "cancel refused");
      await audit(req, p, { action: "job.cancel", target, result: "failed", detail: { code: err.code } });
      throw err;
    }
    await audit(req, p, { action: "job.cancel", target, result: "ok" });
    return reply.code(202).send(jobFromVideoJob(patched));
  });
}

/**
 * What an apiserver refusal of a create means to the caller, in our words only (its own text names
 * internal hosts and may change): a name taken, a spec the CRD refuses (its field list is the
 * caller's own input), a tenant whose namespace does not exist, or a 503 to retry.
 */
export function createRefused(e: unknown, ns: string, name: string | undefined): ReelError {
  if (!(e instanceof ApiError))
    return new ReelError("REEL_UNAVAILABLE", "the Kubernetes API is not reachable; try again shortly");
  if (e.status === 409) return new ReelError("REEL_JOB_EXISTS", `job ${name} already exists`);
  if (e.status === 422 || e.status === 400)
    return new RequestError("REEL_JOB_INVALID", e.message.replace(/^POST \S+: /, ""));
  if (e.status === 404)
    return new RequestError(
      "REEL_TENANT_UNKNOWN",
      `your tenant's namespace ${ns} does not exist in the cluster; ask an admin to create it or map the tenant to another`,
      undefined,
      409,
    );
  return new ReelError("REEL_UNAVAILABLE", "the Kubernetes API did not take the create; try again shortly");
}

/**
 * Outputs a cluster can write: `local` is a directory on the machine running `reel run`, and a
 * volume path must stay inside its claim (no `..` segment).
 */
function clusterOnly(spec: CreateJobInput["spec"]): void {
  if (spec.output?.local) {
    throw new RequestError("REEL_JOB_INVALID", "spec.output.local is for reel run; in a cluster use s3 or volume", [
      { path: "spec.output.local", message: "not valid in a cluster; use output.s3 or output.volume" },
    ]);
  }
  const path = spec.output?.volume?.path;
  if (path?.split(/[\\/]+/).includes("..")) {
    throw new RequestError("REEL_JOB_INVALID", "spec.output.volume.path may not leave the volume ('..')", [
      { path: "spec.output.volume.path", message: "must not contain a '..' segment" },
    ]);
  }
}

/** priority high preempts other tenants' pods: only tenants the installation names may ask for it. */
function mayUseHighPriority(p: Principal, allowed: readonly string[]): void {
  if (allowed.includes("*") || (p.tenant !== null && allowed.includes(p.tenant))) return;
  throw new RequestError(
    "REEL_FORBIDDEN",
    `tenant ${p.tenant ?? "(none)"} may not use priority high; use normal or low, or ask an admin to add the tenant to REEL_HIGH_PRIORITY_TENANTS`,
    [{ path: "spec.priority", message: "high is not allowed for this tenant" }],
  );
}
