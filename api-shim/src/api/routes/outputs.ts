// GET /api/v1/jobs/:id/outputs/:n/download: a fresh link to a job's stored file n, for anyone who
// may read the job (live or from history), so a link opened long after the status's presigned URL
// expired still works. 302 to it; JSON {url, expiresAt?} when asked with Accept: application/json
// (the dashboard, which cannot read a redirect's Location). Each link given out is audited: it is a
// bearer URL to the bytes. GET …/outputs/:n/thumbnails.vtt answers the file's seek-thumbnail index
// with links to its sheets (outputs/thumbnails.ts), and GET /jobs/:id/episodes/:n/poster a link to
// episode n's poster beside the merged file (outputs/poster.ts, 302 or JSON), under the same rules.
// GET …/outputs/:n/subtitles/:lang.vtt answers one listed language's WebVTT file itself
// (outputs/subtitles.ts), same-origin so a <track> can load it.
import type { OutputLink } from "@reel/crds";
import { ReelError } from "@reel/crds";
import type { KubeObject } from "@reel/operator/kube";
import type { FastifyInstance } from "fastify";
import { requireScope, tenantNamespace } from "../../auth/request.ts";
import type { ShimDeps } from "../../deps.ts";
import { findJob } from "../../jobs/find.ts";
import { planOutputLink } from "../../outputs/link.ts";
import { presignOutput, type ReadSecret, withJobBucket } from "../../outputs/sign.ts";
import { planPoster } from "../../outputs/poster.ts";
import { planSubtitles, readSubtitles, subtitleLanguageParam } from "../../outputs/subtitles.ts";
import { linkedThumbnailVtt, planThumbnails } from "../../outputs/thumbnails.ts";
import { requestAuditor } from "../audit.ts";
import { episodeIndexParam, outputIndexParam } from "../params.ts";

/** Whether the client asked for JSON first (a browser's navigation or curl asks for anything). */
export const wantsJson = (accept: string | undefined): boolean => /^\s*application\/json\b/i.test(accept ?? "");

export function outputRoutes(app: FastifyInstance, deps: ShimDeps) {
  const { cache, kube, config } = deps;
  const audit = requestAuditor(deps);

  const readSecret: ReadSecret = async (namespace, name) => {
    let secret: (KubeObject & { data?: Record<string, string> }) | undefined;
    try {
      secret = await kube.find("v1", "Secret", namespace, name);
    } catch (cause) {
      // The apiserver's own words (its address among them) go to the log, not to the caller.
      deps.log.warn({ err: (cause as Error).message, secret: `${namespace}/${name}` }, "Secret not read");
      throw new ReelError(
        "REEL_UNAVAILABLE",
        `the Kubernetes API did not answer for Secret ${name}; try again shortly`,
        {
          cause,
        },
      );
    }
    if (!secret) return undefined;
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
  };

  app.get<{ Params: { id: string; n: string } }>("/jobs/:id/outputs/:n/download", async (req, reply) => {
    const p = requireScope(req, "jobs:read");
    const ns = tenantNamespace(p);
    cache.assertSynced();
    const n = outputIndexParam(req.params.n);
    const { job } = await findJob(deps, ns, req.params.id);
    const plan = planOutputLink(job, n, { publicBaseUrl: config.REEL_OUTPUT_PUBLIC_BASE_URL });
    const link: OutputLink = plan.kind === "public" ? { url: plan.url } : await presignOutput(plan, ns, readSecret);
    await audit(req, p, {
      action: "job.download",
      target: `${ns}/${job.id}`,
      result: "ok",
      detail: {
        output: n,
        ...(job.uid ? { uid: job.uid } : {}),
        ...(link.expiresAt ? { expiresAt: link.expiresAt } : {}),
      },
    });
    // Each answer is a new link: neither the redirect nor the JSON may be cached.
    reply.header("cache-control", "no-store");
    if (wantsJson(req.headers.accept)) return link;
    return reply.redirect(link.url, 302);
  });

  app.get<{ Params: { id: string; n: string } }>("/jobs/:id/episodes/:n/poster", async (req, reply) => {
    const p = requireScope(req, "jobs:read");
    const ns = tenantNamespace(p);
    cache.assertSynced();
    const n = episodeIndexParam(req.params.n);
    const { job } = await findJob(deps, ns, req.params.id);
    const plan = planPoster(job, n, { publicBaseUrl: config.REEL_OUTPUT_PUBLIC_BASE_URL });
    const link: OutputLink = plan.kind === "public" ? { url: plan.url } : await presignOutput(plan, ns, readSecret);
    await audit(req, p, {
      action: "job.poster",
      target: `${ns}/${job.id}`,
      result: "ok",
      detail: { episode: n, ...(job.uid ? { uid: job.uid } : {}) },
    });
    reply.header("cache-control", "no-store");
    if (wantsJson(req.headers.accept)) return link;
    return reply.redirect(link.url, 302);
  });

  app.get<{ Params: { id: string; n: string } }>("/jobs/:id/outputs/:n/thumbnails.vtt", async (req, reply) => {
    const p = requireScope(req, "jobs:read");
    const ns = tenantNamespace(p);
    cache.assertSynced();
    const n = outputIndexParam(req.params.n);
    const { job } = await findJob(deps, ns, req.params.id);
    const plan = planThumbnails(job, n);
    const publicBaseUrl = config.REEL_OUTPUT_PUBLIC_BASE_URL;
    const linked = await withJobBucket(plan.index, ns, readSecret, (client) =>
      linkedThumbnailVtt(client, plan, { publicBaseUrl }),
    );
    await audit(req, p, {
      action: "job.thumbnails",
      target: `${ns}/${job.id}`,
      result: "ok",
      detail: { output: n, cues: linked.cues, dropped: linked.dropped, ...(job.uid ? { uid: job.uid } : {}) },
    });
    // Its sheet links are new on each answer, as the download route's are.
    reply.header("cache-control", "no-store");
    reply.type("text/vtt; charset=utf-8");
    return linked.vtt;
  });

  app.get<{ Params: { id: string; n: string; lang: string } }>(
    "/jobs/:id/outputs/:n/subtitles/:lang",
    async (req, reply) => {
      const p = requireScope(req, "jobs:read");
      const ns = tenantNamespace(p);
      const n = outputIndexParam(req.params.n);
      const language = subtitleLanguageParam(req.params.lang);
      cache.assertSynced();
      const { job } = await findJob(deps, ns, req.params.id);
      const plan = planSubtitles(job, n, language);
      const vtt = await withJobBucket(plan, ns, readSecret, (client) => readSubtitles(client, plan));
      await audit(req, p, {
        action: "job.subtitles",
        target: `${ns}/${job.id}`,
        result: "ok",
        detail: { output: n, language, bytes: Buffer.byteLength(vtt), ...(job.uid ? { uid: job.uid } : {}) },
      });
      reply.header("cache-control", "no-store");
      reply.header("x-content-type-options", "nosniff");
      reply.type("text/vtt; charset=utf-8");
      return vtt;
    },
  );
}
