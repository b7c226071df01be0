// GET /api/v1/jobs/:id/events (SSE) and /jobs/:id/ws (WebSocket): a job's live stream, for as long
// as the credential that opened it may read the job's tenant (live/access.ts). When that ends, SSE
// sends a last `event: closed` with the REEL_* error and ends; a WebSocket closes with 4401
// (credential revoked or expired), 4403 (access lost) or 4503 (reconnect), the message as reason.
import { ReelError } from "@reel/crds";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { jobIdParam } from "../api/params.ts";
import { requireScope, tenantNamespace } from "../auth/request.ts";
import type { ShimDeps } from "../deps.ts";
import { CLOSE_CODES, type StreamEnd } from "./access.ts";
import type { JobEvent } from "./events.ts";
import { lastEventId, openStream } from "./stream.ts";

/** The final SSE event of a stream whose access ended. */
export const closedEvent = (why: StreamEnd): string =>
  `event: closed\ndata: ${JSON.stringify({ error: { code: why.code, message: why.message, hint: new ReelError(why.code, "").hint } })}\n\n`;

/** A WebSocket close reason is at most 123 bytes. */
const closeReason = (message: string) =>
  Buffer.from(message)
    .subarray(0, 123)
    .toString("utf8")
    .replace(/\uFFFD$/, "");

export function liveRoutes(app: FastifyInstance, deps: ShimDeps) {
  const { cache, events, metrics, streams } = deps;
  /** The job's namespace after the tenancy check; streams are served for live jobs only. */
  const target = (req: FastifyRequest<{ Params: { id: string } }>) => {
    const ns = tenantNamespace(requireScope(req, "jobs:read"));
    cache.assertSynced();
    jobIdParam(req.params.id);
    if (!cache.get(ns, req.params.id)) throw new ReelError("REEL_JOB_NOT_FOUND", `job ${req.params.id} not found`);
    return ns;
  };
  app.get<{ Params: { id: string }; Querystring: { lastEventId?: string } }>("/jobs/:id/events", async (req, reply) => {
    const ns = target(req);
    const name = req.params.id;
    const res = reply.raw;
    // Registered (and the per-credential cap checked) before anything is sent.
    const unregister = streams.add(requireScope(req, "jobs:read"), ns, (why) => {
      res.end(closedEvent(why));
    });
    reply.hijack();
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-store, no-transform",
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
    res.once("close", () => {
      clearInterval(heartbeat);
      off();
      unregister();
      metrics.sseClients.dec();
    });
  });
  // A WebSocket stream is registered before the upgrade (preHandler) and gets its socket after it;
  // access that ends in between closes the socket as soon as it is there. An upgrade that never
  // completes gives its place back after UPGRADE_MS.
  const pending = new WeakMap<FastifyRequest, WsStream>();
  app.get<{ Params: { id: string }; Querystring: { lastEventId?: string } }>(
    "/jobs/:id/ws",
    {
      websocket: true,
      // The one route that takes ?access_token= (server.ts): browsers cannot set its headers.
      config: { queryToken: true },
      // The tenancy check and the stream cap before the upgrade: a refused stream is a plain HTTP answer.
      preHandler: async (req) => {
        const ns = target(req);
        const w: WsStream = { unregister: () => {} };
        w.unregister = streams.add(requireScope(req, "jobs:read"), ns, (why) => {
          w.ended = why;
          w.socket?.close(CLOSE_CODES[why.code], closeReason(why.message));
        });
        setTimeout(() => w.socket || w.unregister(), UPGRADE_MS).unref();
        pending.set(req, w);
      },
    },
    (socket, req) => {
      const ns = tenantNamespace(requireScope(req, "jobs:read"));
      const w = pending.get(req) ?? { unregister: () => {} };
      w.socket = socket;
      if (w.ended) {
        socket.close(CLOSE_CODES[w.ended.code], closeReason(w.ended.message));
        return;
      }
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
        w.unregister();
        metrics.wsClients.dec();
      });
    },
  );
}

const UPGRADE_MS = 10_000;

interface WsStream {
  unregister(): void;
  socket?: { close(code: number, reason: string): void };
  ended?: StreamEnd;
}
