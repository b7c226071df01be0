// The shim process: PostgreSQL (connected in the background, with retries), Redis, the VideoJob
// cache, the live event logs, the webhook sender when present, and the HTTP server.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startTracing } from "@reel/crds/tracing";
import { KubeApi, type KubeObject, loadKubeConfig } from "@reel/operator/kube";
import { Redis } from "ioredis";
import type { FastifyInstance } from "fastify";
import { createAuthenticator } from "./auth/authenticate.ts";
import { createJwtVerifier } from "./auth/jwt.ts";
import { type Config, parseConfig } from "./config.ts";
import { Database } from "./db/database.ts";
import { upsertHistory } from "./db/history.ts";
import { listenAuthChanges } from "./db/notify.ts";
import type { ShimDeps, WebhookHooks } from "./deps.ts";
import { JobCache } from "./jobs/cache.ts";
import { historyFromVideoJob } from "./jobs/videojob.ts";
import { databaseAccessCheck, LiveStreams } from "./live/access.ts";
import { JobEvents, rvOf } from "./live/events.ts";
import { progressEvent, subscribeProgress } from "./live/progress.ts";
import { progressSequence } from "./live/sequence.ts";
import { createLogger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { buildServer } from "./server.ts";

/** How long a deleted job's event log stays for clients still catching up. */
const DELETED_LOG_MS = 5 * 60_000;

export interface RunningShim {
  port: number;
  app: FastifyInstance;
  deps: ShimDeps;
  stop(): Promise<void>;
}

/**
 * The webhook sender (api-shim/src/webhooks/), loaded when it is there and loads: a sender that
 * cannot start (its native egress proxy missing, say) must not take the API down with it.
 */
async function loadWebhooks(deps: Omit<ShimDeps, "webhooks">): Promise<WebhookHooks | undefined> {
  const path = join(import.meta.dirname, "webhooks", "index.ts");
  if (!existsSync(path)) return undefined;
  try {
    const mod = (await import(path)) as {
      createWebhooks(d: Record<string, unknown>): WebhookHooks;
      postgresJsDb(sql: unknown): unknown;
    };
    return mod.createWebhooks({
      db: mod.postgresJsDb(deps.db.sql),
      readSecret: async (namespace: string, ref: { name: string; key: string }) => {
        const s = await deps.kube.find<KubeObject & { data?: Record<string, string> }>(
          "v1",
          "Secret",
          namespace,
          ref.name,
        );
        const v = s?.data?.[ref.key];
        return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
      },
      allow: deps.config.REEL_EGRESS_ALLOW,
      log: deps.log,
      registry: deps.metrics.registry,
      resolveWebhook: async (namespace: string, job: string) =>
        deps.cache.get(namespace, job)?.spec.notification?.webhook,
    });
  } catch (err) {
    deps.log.error({ err: (err as Error).message }, "webhook sender not loaded; webhooks will not be sent");
    return undefined;
  }
}

export async function startShim(config: Config, o: { webhooks?: WebhookHooks | false } = {}): Promise<RunningShim> {
  const log = createLogger(config.LOG_LEVEL);
  const metrics = createMetrics();
  const db = new Database(config.DATABASE_URL, log.child({ dep: "postgres" }));
  // Not awaited: the shim serves (health says 503) while PostgreSQL is still coming up.
  const dbReady = db.connect();
  // Commands fail fast while Redis is away (health says so; rate limits let requests through).
  const redis = new Redis(config.REEL_REDIS_URL, {
    // Commands of one tick (the rate-limit leases of many slow clients' keys) leave in one write
    // instead of one each.
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => Math.min(100 * 2 ** n, 2000),
  });
  redis.on("error", (err) => log.debug({ err: err.message }, "redis"));
  const kube = await KubeApi.create({ kubeConfig: loadKubeConfig(), qps: 50, burst: 100 });
  const cache = new JobCache({
    ...(config.REEL_SHIM_WATCH_NAMESPACE ? { namespace: config.REEL_SHIM_WATCH_NAMESPACE } : {}),
    onWatchEvent: (e, detail) => log.debug({ event: e, detail: String(detail ?? "") }, "videojob watch"),
  });
  const events = new JobEvents(config.REEL_EVENTS_PER_JOB);
  const jwt =
    config.REEL_JWT_ISSUER && config.REEL_JWT_AUDIENCE && (config.REEL_JWT_JWKS_URL || config.REEL_JWT_JWKS_FILE)
      ? createJwtVerifier({
          issuer: config.REEL_JWT_ISSUER,
          audience: config.REEL_JWT_AUDIENCE,
          maxLifetimeSeconds: config.REEL_JWT_MAX_LIFETIME_SECONDS,
          ...(config.REEL_JWT_JWKS_URL ? { jwksUrl: config.REEL_JWT_JWKS_URL } : {}),
          ...(config.REEL_JWT_JWKS_FILE ? { jwksFile: config.REEL_JWT_JWKS_FILE } : {}),
        })
      : undefined;
  const auth = createAuthenticator({ db, ...(jwt ? { jwt } : {}) });
  const streams = new LiveStreams({
    check: databaseAccessCheck(db),
    maxPerCredential: config.REEL_STREAMS_PER_CREDENTIAL,
    maxSeconds: config.REEL_STREAM_MAX_SECONDS,
    log: log.child({ part: "live" }),
  });
  // Credentials revoked or changed on any replica (or by hand in PostgreSQL) are forgotten here when
  // the notification arrives, and the live streams they opened are checked again; at every
  // (re)listen everything is, since notifications sent while the connection was down are lost.
  const authListen = dbReady
    .then(() =>
      listenAuthChanges(
        db.sql,
        (c) => {
          if ("key" in c) auth.forgetKey(c.key);
          else if ("user" in c) auth.forgetUser(c.user);
          else auth.forgetAll();
          streams.changed(c);
        },
        () => {
          auth.forgetAll();
          streams.changed({ all: true });
        },
      ),
    )
    .catch((err) => {
      log.warn({ err: (err as Error).message }, "LISTEN reel_auth failed; revocations reach this replica by the TTL");
      return undefined;
    });
  const tracing = await startTracing(config, "reel-shim");
  const base: Omit<ShimDeps, "webhooks"> = {
    config,
    log,
    db,
    redis,
    kube,
    cache,
    events,
    streams,
    auth,
    metrics,
    ...(tracing ? { tracing } : {}),
  };
  const webhooks = o.webhooks === false ? undefined : (o.webhooks ?? (await loadWebhooks(base)));
  const deps: ShimDeps = { ...base, ...(webhooks ? { webhooks } : {}) };

  const key = (ns: string, name: string) => `${ns}/${name}`;
  // Event ids are resourceVersions and Redis-numbered progress (live/events.ts): the same on every
  // replica. A change's log starts at the version before it when the log is new.
  const rvBefore = (job: KubeObject, before: KubeObject | undefined) =>
    before?.metadata.uid === job.metadata.uid ? rvOf(before?.metadata.resourceVersion) : 0;
  cache.on("phase", (change, job, before) => {
    events.keep(key(change.namespace, change.name));
    events.appendWatch(key(change.namespace, change.name), rvOf(job.metadata.resourceVersion), rvBefore(job, before), {
      type: "phase",
      phase: job.status?.phase ?? "Pending",
      ...(job.status?.progress !== undefined ? { progress: job.status.progress } : {}),
      ...(job.status ? { status: job.status } : {}),
    });
    try {
      webhooks?.onPhaseChange(change);
    } catch (err) {
      log.warn({ err: (err as Error).message, videojob: key(change.namespace, change.name) }, "webhook hook failed");
    }
  });
  cache.on("status", (job, before) => {
    events.appendWatch(
      key(job.metadata.namespace ?? "", job.metadata.name),
      rvOf(job.metadata.resourceVersion),
      rvBefore(job, before),
      {
        type: "status",
        ...(job.status?.phase ? { phase: job.status.phase } : {}),
        ...(job.status?.progress !== undefined ? { progress: job.status.progress } : {}),
        ...(job.status ? { status: job.status } : {}),
      },
    );
  });
  cache.on("deleted", (job) => {
    const k = key(job.metadata.namespace ?? "", job.metadata.name);
    const rv = rvOf(job.metadata.resourceVersion);
    events.appendWatch(k, rv, rv, { type: "deleted" });
    events.dropAfter(k, DELETED_LOG_MS);
  });
  cache.on("final", (job, { deleted }) => {
    const write = async () => {
      await dbReady;
      await upsertHistory(db.sql, historyFromVideoJob(job, deleted));
    };
    write().catch((err) =>
      log.warn(
        { err: (err as Error).message, videojob: key(job.metadata.namespace ?? "", job.metadata.name) },
        "history write failed",
      ),
    );
  });
  const sequence = progressSequence(redis);
  const progress = subscribeProgress(
    config.REEL_REDIS_URL,
    (k, msg, raw) => {
      const [ns = "", name = ""] = k.split("/");
      // Only jobs this shim serves: a stray channel cannot grow the logs.
      if (!cache.get(ns, name)) return;
      sequence.number(k, raw).then(
        (seq) => {
          const job = cache.get(ns, name);
          if (job) events.appendProgress(k, seq, rvOf(job.metadata.resourceVersion), progressEvent(msg));
        },
        // Without its shared number a message is not sent: the next one (at most 0.5 s later per
        // pod) carries that pod's progress again.
        (err) => log.debug({ err: (err as Error).message, videojob: k }, "progress not numbered"),
      );
    },
    (err) => log.debug({ err: err.message }, "redis progress"),
  );

  // Not awaited either: without the apiserver the shim still answers health (503) and keys; job
  // routes answer 503 until the first list has arrived.
  const cacheStarted = cache
    .start()
    .catch((err) => log.error({ err: (err as Error).message }, "VideoJob watch failed to start"));
  const app = await buildServer(deps);
  await app.listen({ port: config.REEL_SHIM_PORT, host: config.REEL_SHIM_HOST });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.REEL_SHIM_PORT;
  log.info({ port, ...(tracing ? { tracing: "otlp" } : {}) }, "shim started");
  return {
    port,
    app,
    deps,
    async stop() {
      await app.close();
      cache.stop();
      await Promise.race([cacheStarted, new Promise((r) => setTimeout(r, 100))]);
      await webhooks?.stop();
      await progress.close();
      await Promise.race([
        authListen.then((l) => l?.unlisten()).catch(() => {}),
        new Promise((r) => setTimeout(r, 500)),
      ]);
      redis.disconnect();
      await db.close();
      await kube.close();
      // Spans still queued leave now (a bounded wait: the exporter's own timeout).
      await tracing
        ?.shutdown()
        .catch((err) => log.warn({ err: (err as Error).message }, "trace export at stop failed"));
    },
  };
}

if (import.meta.main) {
  const config = parseConfig(process.env);
  const shim = await startShim(config);
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      void shim.stop().then(() => process.exit(process.exitCode ?? 0));
    });
  }
}
