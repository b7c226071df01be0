// GET /api/health: readiness from state the shim already has — the VideoJob watch's sync and its
// last error, and PostgreSQL and Redis pings made at most once per CHECK_TTL_MS whatever the number
// of probes (one in flight at a time, answered to every probe that came meanwhile). Probes are
// anonymous: a flood of them costs no apiserver call (the job routes' client budget stays theirs)
// and no query per probe. A 503 names the failing dependency only; why it fails (hosts, ports,
// driver messages) goes to the log.
// GET /api/health/live: the process answers (liveness: no dependency may restart the pod).
import { ReelError } from "@reel/crds";
import type { FastifyInstance } from "fastify";
import type { ShimDeps } from "../../deps.ts";

const TIMEOUT_MS = 2000;
/** How long a check's result stands for every probe. */
export const CHECK_TTL_MS = 2000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    }),
  ]);
}

/** A check whose result is reused for `ttlMs`: undefined when it passed, else why not. */
export function cachedCheck(run: () => Promise<unknown>, ttlMs = CHECK_TTL_MS): () => Promise<string | undefined> {
  let at = Number.NEGATIVE_INFINITY;
  let last: Promise<string | undefined> | undefined;
  return () => {
    if (last && Date.now() - at < ttlMs) return last;
    at = Date.now();
    last = run().then(
      () => undefined,
      (err: unknown) => (err as Error)?.message ?? String(err),
    );
    return last;
  };
}

export function healthRoutes(app: FastifyInstance, deps: ShimDeps) {
  const checks: Record<string, () => Promise<string | undefined> | string | undefined> = {
    postgres: cachedCheck(() => deps.db.ping(TIMEOUT_MS)),
    redis: cachedCheck(() => within(deps.redis.ping(), "redis")),
    // The watch is the shim's view of the apiserver: synced, and no error since its last success.
    kubernetes: () => (deps.cache.isSynced ? deps.cache.watchError : "the VideoJob watch has not synced yet"),
  };
  const names = Object.keys(checks);
  let logged = "";
  app.get("/api/health", async (_req, reply) => {
    const results = await Promise.all(names.map((n) => (checks[n] as () => Promise<string | undefined>)()));
    const failing = names.filter((_, i) => results[i] !== undefined);
    const out = Object.fromEntries(names.map((n, i) => [n, results[i] === undefined ? "ok" : "failing"]));
    if (!failing.length) return { status: "ok", checks: out };
    // Once per distinct failure, not per probe.
    const why = failing.map((n) => `${n}: ${results[names.indexOf(n)]}`).join("; ");
    if (why !== logged) deps.log.warn({ failing: why }, "not ready");
    logged = why;
    const e = new ReelError(
      "REEL_UNAVAILABLE",
      `${failing.join(", ")} ${failing.length > 1 ? "are" : "is"} not reachable`,
    );
    return reply
      .code(503)
      .send({ status: "unavailable", checks: out, error: { code: e.code, message: e.message, hint: e.hint } });
  });
  app.get("/api/health/live", async () => ({ status: "ok" }));
}
