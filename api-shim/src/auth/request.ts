// What the shim adds to every Fastify request, and the checks the routes make with it.
import { ReelError } from "@reel/crds";
import type { FastifyRequest } from "fastify";
import type { TraceContext } from "../trace.ts";
import { can, type Principal, type Scope } from "./principal.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
    trace: TraceContext;
  }
}

/** The principal of an authenticated /api/v1 route (the auth hook guarantees one). */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new ReelError("REEL_AUTH_REQUIRED", "no credential");
  return req.principal;
}

export function requireScope(req: FastifyRequest, scope: Scope): Principal {
  const p = principal(req);
  if (!can(p, scope)) {
    throw new ReelError(
      "REEL_FORBIDDEN",
      p.via === "key" && !p.scopes.includes(scope)
        ? `this key lacks the ${scope} scope`
        : `the ${p.role} role does not allow ${scope}`,
    );
  }
  return p;
}

/** The principal's tenant namespace: every job route reads and writes only there. */
export function tenantNamespace(p: Principal): string {
  if (!p.namespace)
    throw new ReelError("REEL_FORBIDDEN", `user ${p.name} has no tenant yet; ask an admin to add you to one`);
  return p.namespace;
}
