// GET /api/v1/me: who the credential belongs to.
import type { FastifyInstance } from "fastify";
import { principal } from "../../auth/request.ts";

export function meRoutes(app: FastifyInstance) {
  app.get("/me", async (req) => {
    const p = principal(req);
    return { id: p.userId, name: p.name, role: p.role, tenant: p.tenant, namespace: p.namespace };
  });
}
