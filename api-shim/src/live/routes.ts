// GET /api/v1/jobs/:id/events (SSE) and /api/v1/jobs/:id/ws (WebSocket): the job's event stream,
// resumable by last event id. Another tenant's job is 404 here as everywhere.
import { ReelError } from "@reel/crds";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { requireScope, tenantNamespace } from "../auth/request.ts";
import type { ShimDeps } from "../deps.ts";
import type { JobEvent } from "./events.ts";
import { lastEventId, openStream } from "./stream.ts";

export function liveRoutes(app: FastifyInstance, deps: ShimDeps) {
  const { cache, events, metrics } = deps;

  /** The job's namespace after the tenancy check; streams are served for live jobs only. */
  const target = (req: FastifyRequest<{ Params: { id: string } }>) => {
    const ns = tenantNamespace(requireScope(req, "jobs:read"));
    cache.assertSynced();
    if (!cache.get(ns, req.params.id)) throw new ReelError("REEL_JOB_NOT_FOUND", `job ${req.params.id} not found`);
    return ns;
  };

  app.get<{ Params: { id: string }; Querystring: { lastEventId?: string } }>("/jobs/:id/events", async (req, reply) => {
    const ns = target(req);
    const name = req.params.id;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write(`retry: 2000\n\n`);
    const write = (e: JobEvent) => res.write(`id: ${e.id}\nevent: status\ndata: ${JSON.stringify(e)}\n\n`);
    metrics.sseClients.inc();
    const off = openStream(
      {
        cache,
        events,
        namespace: ns,
        name,
        lastEventId: lastEventId(req.headers["last-event-id"], req.query.lastEventId),
      },
      write,
    );
    // Comments keep proxies from closing an idle stream and let the client notice a dead one.
    const heartbeat = setInterval(() => res.write(`: heartbeat\n\n`), deps.config.REEL_SSE_HEARTBEAT_MS);
    req.raw.once("close", () => {
      clearInterval(heartbeat);
      off();
      metrics.sseClients.dec();
    });
  });

  app.get<{ Params: { id: string }; Querystring: { lastEventId?: string } }>(
    "/jobs/:id/ws",
    {
      websocket: true,
      // The tenancy check before the upgrade: a refused stream is a plain HTTP 404.
      preHandler: async (req) => {
        target(req);
      },
    },
    (socket, req) => {
      const ns = tenantNamespace(requireScope(req, "jobs:read"));
      metrics.wsClients.inc();
      const off = openStream(
        {
          cache,
          events,
          namespace: ns,
          name: req.params.id,
          lastEventId: lastEventId(undefined, req.query.lastEventId),
        },
        (e) => socket.send(JSON.stringify(e)),
      );
      const ping = setInterval(() => socket.ping(), deps.config.REEL_SSE_HEARTBEAT_MS);
      socket.on("close", () => {
        clearInterval(ping);
        off();
        metrics.wsClients.dec();
      });
    },
  );
}
