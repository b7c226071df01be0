// buildServer(deps): the Fastify app, everything wired but nothing listening (main.ts listens).
import cors from "@fastify/cors";
import websocket from "@fastify/websocket";
import { ReelError } from "@reel/crds";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import { toResponse } from "./api/errors.ts";
import { dashboardPlugin } from "./dashboard/plugin.ts";
import { healthRoutes } from "./api/routes/health.ts";
import { jobRoutes } from "./api/routes/jobs.ts";
import { keyRoutes } from "./api/routes/keys.ts";
import { meRoutes } from "./api/routes/me.ts";
import { metricsRoutes } from "./api/routes/metrics.ts";
import { openapiRoutes } from "./api/routes/openapi.ts";
import { bearer } from "./auth/authenticate.ts";
import "./auth/request.ts";
import type { ShimDeps } from "./deps.ts";
import { liveRoutes } from "./live/routes.ts";
import { type Decision, LeasedLimiter } from "./ratelimit/lease.ts";
import { redisLeaseStore } from "./ratelimit/redis.ts";
import { formatTraceparent, startSpan, type TraceContext } from "./trace.ts";

import { logPath } from "./log.ts";

export type { ShimDeps, WebhookHooks } from "./deps.ts";

export async function buildServer(deps: ShimDeps): Promise<FastifyInstance> {
  const { config, metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.log,
    // One log line per request (onResponse, below) instead of Fastify's two, and the request's
    // logger carries the trace id as its request id: no extra child logger per request.
    disableRequestLogging: true,
    requestIdLogLabel: "traceId",
    genReqId: (raw) => {
      const t = startSpan(raw.headers.traceparent as string | undefined);
      (raw as { reelTrace?: TraceContext }).reelTrace = t;
      return t.traceId;
    },
    bodyLimit: config.REEL_BODY_LIMIT_BYTES,
    trustProxy: config.REEL_TRUST_PROXY.length ? config.REEL_TRUST_PROXY : false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  app.decorateRequest("principal", undefined);
  app.decorateRequest("trace", undefined as unknown as TraceContext);
  app.addHook("onRequest", async (req, reply) => {
    req.trace =
      (req.raw as { reelTrace?: TraceContext }).reelTrace ?? startSpan(req.headers.traceparent as string | undefined);
    reply.header("traceparent", formatTraceparent(req.trace));
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    req.log.info(
      {
        method: req.method,
        url: logPath(req.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(req.principal ? { principal: req.principal.userId } : {}),
      },
      "request",
    );
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.duration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, req, reply) => {
    const r = toResponse(err);
    if (r.internal) req.log.error({ err }, "request failed");
    else if (r.status >= 500) req.log.warn({ err: (err as Error).message }, "unavailable");
    return reply.code(r.status).type("application/json").send(r.body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(toResponse(new ReelError("REEL_NOT_FOUND", `${req.method} ${req.url.split("?")[0]} is not served`)).body),
  );

  await app.register(cors, {
    origin: config.REEL_CORS_ORIGINS.length ? config.REEL_CORS_ORIGINS : false,
    methods: ["GET", "POST", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", "Last-Event-ID", "traceparent"],
    exposedHeaders: ["Retry-After", "traceparent"],
    maxAge: 600,
  });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  // Counters live in Redis so every replica shares them, taken in leases (ratelimit/lease.ts) so a
  // busy key costs no Redis round trip per request; when Redis is down requests go through rather
  // than the API going down with it.
  const store = redisLeaseStore(deps.redis);
  const onError = (err: Error) => deps.log.debug({ err: err.message }, "rate limit: redis unavailable");
  const window = config.REEL_RATE_LIMIT_WINDOW_MS;
  const byIp = new LeasedLimiter({ store, max: config.REEL_RATE_LIMIT_IP, windowMs: window, onError });
  const byCredential = new LeasedLimiter({ store, max: config.REEL_RATE_LIMIT_KEY, windowMs: window, onError });
  app.addHook("onClose", async () => {
    byIp.stop();
    byCredential.stop();
  });
  const limit = async (limiter: LeasedLimiter, key: string, reply: FastifyReply, who: string): Promise<void> => {
    const d = limiter.take(key);
    const after: Decision = d === undefined || typeof d === "number" ? d : await d;
    if (after === undefined) return;
    reply.header("retry-after", String(after));
    throw new ReelError(
      "REEL_RATE_LIMITED",
      `rate limit of ${limiter.max} requests per window exceeded for this ${who}`,
    );
  };

  // The dashboard at / (api-shim/public); encapsulated, so its CSP applies to its own files only.
  await app.register(dashboardPlugin);
  healthRoutes(app, deps);
  metricsRoutes(app, deps);
  openapiRoutes(app);

  await app.register(
    async (v1) => {
      v1.addHook("onRequest", async (req, reply) => {
        await limit(byIp, `ip:${req.ip}`, reply, "address");
        const query = req.query as { access_token?: string };
        // Browsers cannot set headers on a WebSocket: the token may come in the query there only.
        const isWs = req.headers.upgrade?.toLowerCase() === "websocket";
        const credential = bearer(req.headers.authorization, isWs ? query.access_token : undefined);
        if (!credential) throw new ReelError("REEL_AUTH_REQUIRED", "send Authorization: Bearer <API key or JWT>");
        req.principal = await deps.auth.authenticate(credential);
        const p = req.principal;
        await limit(byCredential, `cred:${p.keyId ?? `user-${p.userId}`}`, reply, "credential");
      });
      jobRoutes(v1, deps);
      keyRoutes(v1, deps);
      meRoutes(v1);
      liveRoutes(v1, deps);
    },
    { prefix: "/api/v1" },
  );
  return app;
}
