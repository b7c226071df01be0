// GET /api/metrics: Prometheus text.
import type { FastifyInstance } from "fastify";
import type { ShimDeps } from "../../deps.ts";

export function metricsRoutes(app: FastifyInstance, deps: ShimDeps) {
  app.get("/api/metrics", async (_req, reply) => {
    deps.metrics.cachedJobs.set(deps.cache.size);
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
