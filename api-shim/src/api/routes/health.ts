// GET /api/health: readiness with the three dependencies checked (503 names the failing one);
// GET /api/health/live: the process answers (liveness: no dependency may restart the pod).
import { ReelError } from "@reel/crds";
import type { FastifyInstance } from "fastify";
import type { ShimDeps } from "../../deps.ts";

const TIMEOUT_MS = 2000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    }),
  ]);
}

export function healthRoutes(app: FastifyInstance, deps: ShimDeps) {
  const checks: Record<string, () => Promise<unknown>> = {
    postgres: () => deps.db.ping(TIMEOUT_MS),
    redis: () => within(deps.redis.ping(), "redis"),
    kubernetes: async () => {
      if (!deps.cache.isSynced) throw new Error("the VideoJob watch has not synced yet");
      await within(deps.kube.request("GET", "/version"), "kube-apiserver");
    },
  };
  app.get("/api/health", async (_req, reply) => {
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((n) => (checks[n] as () => Promise<unknown>)()));
    const out: Record<string, string> = {};
    const failing: string[] = [];
    results.forEach((r, i) => {
      const n = names[i] as string;
      out[n] = r.status === "fulfilled" ? "ok" : `failing: ${(r.reason as Error)?.message ?? r.reason}`;
      if (r.status === "rejected") failing.push(n);
    });
    if (!failing.length) return { status: "ok", checks: out };
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
