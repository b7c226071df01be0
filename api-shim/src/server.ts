// buildServer(deps): the Fastify app, everything wired but nothing listening (main.ts listens).
import cors from "@fastify/cors";
import websocket from "@fastify/websocket";
import { ReelError } from "@reel/crds";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HookHandlerDoneFunction,
  LogController,
} from "fastify";
import { bodyDeadline } from "./api/body-deadline.ts";
import { toResponse } from "./api/errors.ts";
import { clientErrorHandler, frameworkErrors } from "./api/framework-errors.ts";
import { dashboardPlugin } from "./dashboard/plugin.ts";
import { adminRoutes } from "./api/routes/admin.ts";
import { healthRoutes } from "./api/routes/health.ts";
import { jobRoutes } from "./api/routes/jobs.ts";
import { keyRoutes } from "./api/routes/keys.ts";
import { meRoutes } from "./api/routes/me.ts";
import { metricsRoutes } from "./api/routes/metrics.ts";
import { openapiRoutes } from "./api/routes/openapi.ts";
import { outputRoutes } from "./api/routes/outputs.ts";
import { bearer } from "./auth/authenticate.ts";
import type { Principal } from "./auth/principal.ts";
import "./auth/request.ts";
import type { ShimDeps } from "./deps.ts";
import { liveRoutes } from "./live/routes.ts";
import { uploadRoutes } from "./uploads/routes.ts";
import { LazyChildLogger, type Logger, logPath } from "./log.ts";
import { LeasedLimiter } from "./ratelimit/lease.ts";
import { redisLeaseStore } from "./ratelimit/redis.ts";
import { SpanStatusCode } from "@reel/crds/tracing";
import { formatTraceparent, startSpan, startTracedSpan, type TraceContext } from "./trace.ts";

export type { ShimDeps, WebhookHooks } from "./deps.ts";

export async function buildServer(deps: ShimDeps): Promise<FastifyInstance> {
  const { config, metrics, tracing } = deps;
  const app = Fastify({
    loggerInstance: deps.log,
    // One log line per request (onResponse, below) instead of Fastify's two; req.log carries the
    // trace id as its request id, and is made only when a route logs through it.
    logController: new LogController({ requestIdLogLabel: "traceId", disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings, opts) => new LazyChildLogger(logger as Logger, bindings, opts) as never,
    genReqId: (raw) => {
      const header = raw.headers.traceparent as string | undefined;
      const t = tracing ? startTracedSpan(tracing, header, raw.method ?? "GET") : startSpan(header);
      (raw as { reelTrace?: TraceContext }).reelTrace = t;
      return t.traceId;
    },
    bodyLimit: config.REEL_BODY_LIMIT_BYTES,
    // Headers must arrive within this (Node's own check, every interval below); the body has its
    // own clock (bodyDeadline), since Node stops timing a request once its handler runs.
    requestTimeout: config.REEL_REQUEST_TIMEOUT_MS,
    http: { connectionsCheckingInterval: Math.min(30_000, Math.max(250, config.REEL_REQUEST_TIMEOUT_MS / 4)) },
    trustProxy: config.REEL_TRUST_PROXY.length ? config.REEL_TRUST_PROXY : false,
    return503OnClosing: true,
    frameworkErrors,
    clientErrorHandler,
  }) as unknown as FastifyInstance;

  app.decorateRequest("principal", undefined);
  app.decorateRequest("trace", undefined as unknown as TraceContext);
  // Hooks take a callback rather than being async: most requests get through them without waiting
  // on anything, and an async hook costs promises and microtask turns per request regardless.
  app.addHook("onRequest", (req, reply, done) => {
    req.trace =
      (req.raw as { reelTrace?: TraceContext }).reelTrace ?? startSpan(req.headers.traceparent as string | undefined);
    reply.header("traceparent", formatTraceparent(req.trace));
    // API answers hold secrets (a new key) and tenants' data: never cached, never sniffed.
    if (req.url.startsWith("/api/")) {
      reply.header("cache-control", "no-store");
      reply.header("x-content-type-options", "nosniff");
    }
    done();
  });
  app.addHook("onResponse", (req, reply, done) => {
    const p = req.principal;
    const seconds = reply.elapsedTime / 1000;
    const ms = Math.round(seconds * 10_000) / 10;
    const status = reply.statusCode;
    deps.log.info(
      p
        ? { traceId: req.id, method: req.method, url: logPath(req.url), status, ms, principal: p.userId }
        : { traceId: req.id, method: req.method, url: logPath(req.url), status, ms },
      "request",
    );
    const route = req.routeOptions.url ?? "unmatched";
    metrics.http.record(route, req.method, status, seconds);
    const span = req.trace?.span;
    if (span) {
      // Named by the route pattern, never the path: ids in paths would make every name unique.
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({
        "http.route": route,
        "url.path": logPath(req.url),
        "http.response.status_code": status,
        ...(p ? { "enduser.id": p.userId } : {}),
      });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
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

  // Without allowed origins there is nothing for CORS to answer (a browser refuses a cross-origin
  // call either way), so the plugin and its per-request hook are left out.
  if (config.REEL_CORS_ORIGINS.length) {
    await app.register(cors, {
      origin: config.REEL_CORS_ORIGINS,
      methods: ["GET", "POST", "PATCH", "DELETE"],
      allowedHeaders: ["Authorization", "Content-Type", "Last-Event-ID", "traceparent"],
      exposedHeaders: ["Retry-After", "traceparent"],
      maxAge: 600,
    });
  }
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
  const refused = (limiter: LeasedLimiter, after: number, reply: FastifyReply, who: string): ReelError => {
    reply.header("retry-after", String(after));
    return new ReelError(
      "REEL_RATE_LIMITED",
      `rate limit of ${limiter.max} requests per window exceeded for this ${who}`,
    );
  };
  // The credential's limiter key, kept with its (cached) principal.
  const credentialKeys = new WeakMap<Principal, string>();
  const credentialKey = (p: Principal): string => {
    let k = credentialKeys.get(p);
    if (k === undefined) {
      k = `cred:${p.keyId ?? `user-${p.userId}`}`;
      credentialKeys.set(p, k);
    }
    return k;
  };
  // The /api/v1 onRequest hook, in three steps that each go on synchronously when they need not
  // wait (a limiter holding tokens, a cached credential): per address before anything is looked
  // up, then the credential, then per credential.
  const limitAddress = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const d = byIp.take(`ip:${req.ip}`);
    if (d === undefined) authenticate(req, reply, done);
    else if (typeof d === "number") done(refused(byIp, d, reply, "address"));
    else
      d.then(
        (after) =>
          after === undefined ? authenticate(req, reply, done) : done(refused(byIp, after, reply, "address")),
        done,
      );
  };
  const authenticate = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    let credential: string | undefined;
    try {
      // Browsers cannot set headers on a WebSocket: the token may come in the query there only — a
      // route that says so (live/routes.ts), on a connection being upgraded (req.ws is set by
      // @fastify/websocket for Node's 'upgrade' event), never from an Upgrade header alone.
      const query = (req.query as { access_token?: unknown }).access_token;
      const queryToken = req.ws && (req.routeOptions.config as { queryToken?: boolean }).queryToken === true;
      credential = bearer(req.headers.authorization, queryToken && typeof query === "string" ? query : undefined);
      if (!credential && query !== undefined)
        throw new ReelError(
          "REEL_AUTH_INVALID",
          "?access_token= is accepted on the WebSocket route only; send Authorization: Bearer <credential>",
        );
      if (!credential) throw new ReelError("REEL_AUTH_REQUIRED", "send Authorization: Bearer <API key or JWT>");
    } catch (err) {
      done(err as Error);
      return;
    }
    const known = deps.auth.cached(credential, req.raw.socket);
    if (known) limitCredential(req, reply, done, known);
    else deps.auth.authenticate(credential).then((p) => limitCredential(req, reply, done, p), done);
  };
  const limitCredential = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, p: Principal) => {
    req.principal = p;
    const d = byCredential.take(credentialKey(p));
    if (d === undefined) done();
    else if (typeof d === "number") done(refused(byCredential, d, reply, "credential"));
    else
      d.then((after) => (after === undefined ? done() : done(refused(byCredential, after, reply, "credential"))), done);
  };

  // The dashboard at / (api-shim/public); encapsulated, so its CSP applies to its own files only.
  await app.register(dashboardPlugin);
  healthRoutes(app, deps);
  metricsRoutes(app, deps);
  openapiRoutes(app);

  await app.register(
    async (v1) => {
      v1.addHook("onRequest", limitAddress);
      // The body deadline on the routes that take a body only: a hook on every route would cost
      // the GETs (the status route is the hot one) a hook run for nothing.
      const deadline = bodyDeadline(config.REEL_REQUEST_TIMEOUT_MS);
      v1.addHook("onRoute", (route) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        if (!methods.some((m) => m === "POST" || m === "PATCH" || m === "PUT")) return;
        // Upload bodies stream to S3 for as long as they take (uploads/routes.ts has an idle timeout).
        if ((route.config as { streamsBody?: boolean } | undefined)?.streamsBody) return;
        const own = route.preParsing;
        route.preParsing = [deadline, ...(own ? (Array.isArray(own) ? own : [own]) : [])] as never;
      });
      jobRoutes(v1, deps);
      outputRoutes(v1, deps);
      keyRoutes(v1, deps);
      meRoutes(v1);
      adminRoutes(v1, deps);
      liveRoutes(v1, deps);
      // Uploads are served only where the installation names an upload bucket.
      if (config.REEL_UPLOAD_S3_BUCKET) await v1.register((scope) => uploadRoutes(scope, deps));
    },
    { prefix: "/api/v1" },
  );
  return app;
}
