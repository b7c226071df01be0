// An audit row for a request: who (the principal), from where (the client address) and which
// trace come from the request; the route says what and with which result.
import type { FastifyRequest } from "fastify";
import { actorName, type Principal } from "../auth/principal.ts";
import { type AuditEntry, writeAudit } from "../db/audit.ts";
import type { ShimDeps } from "../deps.ts";

export type RequestAudit = Pick<AuditEntry, "action" | "target" | "result" | "detail">;

export function requestAuditor(deps: ShimDeps) {
  return async (req: FastifyRequest, p: Principal, e: RequestAudit): Promise<void> => {
    await writeAudit(deps.db.db, {
      ...e,
      actorId: p.userId,
      actor: actorName(p),
      tenant: p.tenant,
      ip: req.ip,
      traceId: req.trace.traceId,
    });
    deps.metrics.auditWrites.inc({ action: e.action, result: e.result });
  };
}
