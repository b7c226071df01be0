// /api/v1/admin: tenants and the users in them, for admins. What `shim:admin add-user` does from a
// shell, over the API: a JWT user signs in once (created as a viewer without a tenant), then an
// admin gives them a role and a tenant here. Every change is audited, refusals included, and reaches
// every replica at once: the users trigger (migrations/0003) NOTIFYs reel_auth on commit, and this
// replica forgets the user before answering, so the user's next request here already has it.
import { ReelError } from "@reel/crds";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Principal } from "../../auth/principal.ts";
import { principal } from "../../auth/request.ts";
import { createTenant, listTenants, type TenantRow } from "../../db/tenants.ts";
import { type AdminUserRow, LOCAL_ISSUER, listUsers, updateUser } from "../../db/users.ts";
import type { ShimDeps } from "../../deps.ts";
import { type RequestAudit, requestAuditor } from "../audit.ts";
import { invalid, RequestError } from "../errors.ts";
import { userIdParam } from "../params.ts";
import { type AdminUser, CreateTenantInput, ListUsersQuery, type Tenant, UpdateUserInput } from "../schemas.ts";

export function tenantOut(t: TenantRow): Tenant {
  return { name: t.name, namespace: t.namespace, createdAt: t.createdAt.toISOString(), users: t.users };
}

export function userOut(u: AdminUserRow): AdminUser {
  return {
    id: u.id,
    name: u.name,
    role: u.role,
    tenant: u.tenant,
    namespace: u.namespace,
    // Users made for API keys only (shim:admin, issuer "reel") have no identity of their own to show.
    ...(u.issuer !== LOCAL_ISSUER ? { issuer: u.issuer, subject: u.subject } : {}),
    createdAt: u.createdAt.toISOString(),
    ...(u.lastSeenAt ? { lastSeenAt: u.lastSeenAt.toISOString() } : {}),
  };
}

const pick = (u: AdminUserRow) => ({ role: u.role, tenant: u.tenant });

export function adminRoutes(app: FastifyInstance, deps: ShimDeps) {
  const audit = requestAuditor(deps);
  const db = () => deps.db.db;
  /**
   * Admins only. With an API key the key must also hold keys:admin, as for /keys: a leaked
   * jobs-only key of an admin cannot promote anyone. A refused change is audited.
   */
  const requireAdmin = async (req: FastifyRequest, refused?: Omit<RequestAudit, "result">): Promise<Principal> => {
    const p = principal(req);
    const why =
      p.role !== "admin"
        ? `the ${p.role} role cannot manage users and tenants; ask an admin`
        : p.via === "key" && !p.scopes.includes("keys:admin")
          ? "managing users and tenants with an API key needs the keys:admin scope"
          : undefined;
    if (why) {
      if (refused) await audit(req, p, { ...refused, result: "denied" });
      throw new ReelError("REEL_FORBIDDEN", why);
    }
    return p;
  };

  app.get("/admin/tenants", async (req) => {
    await requireAdmin(req);
    return { items: (await listTenants(db())).map(tenantOut) };
  });

  app.post("/admin/tenants", async (req, reply) => {
    const body = (req.body ?? {}) as { name?: unknown };
    const p = await requireAdmin(req, { action: "tenant.create", target: `tenant:${String(body.name ?? "")}` });
    const parsed = CreateTenantInput.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid(parsed.error, "tenant");
    const { name, namespace = name } = parsed.data;
    const row = await createTenant(db(), { name, namespace });
    if (!row) {
      await audit(req, p, {
        action: "tenant.create",
        target: `tenant:${name}`,
        result: "failed",
        detail: { namespace, reason: "exists" },
      });
      throw new RequestError(
        "REEL_TENANT_EXISTS",
        `a tenant named ${name} or using namespace ${namespace} already exists; pick another name (and namespace), or map users to the existing one with PATCH /api/v1/admin/users/:id`,
        [{ path: "name", message: "already exists" }],
      );
    }
    await audit(req, p, { action: "tenant.create", target: `tenant:${name}`, result: "ok", detail: { namespace } });
    return reply.code(201).send(tenantOut(row));
  });

  app.get("/admin/users", async (req) => {
    await requireAdmin(req);
    const parsed = ListUsersQuery.safeParse(req.query ?? {});
    if (!parsed.success) throw invalid(parsed.error, "query");
    const { tenant, role } = parsed.data;
    const rows = await listUsers(db(), { ...(tenant ? { tenant } : {}), ...(role ? { role } : {}) });
    return { items: rows.map(userOut) };
  });

  app.patch<{ Params: { id: string } }>("/admin/users/:id", async (req) => {
    const target = `user:${/^\d{1,15}$/.test(req.params.id) ? req.params.id : "(invalid)"}`;
    const p = await requireAdmin(req, { action: "user.update", target, detail: { change: req.body ?? {} } });
    const id = userIdParam(req.params.id);
    const parsed = UpdateUserInput.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid(parsed.error, "user change");
    const change = parsed.data;
    const r = await updateUser(db(), id, {
      ...(change.role ? { role: change.role } : {}),
      ...(change.tenant !== undefined ? { tenant: change.tenant } : {}),
    });
    if (!r.ok) {
      if (r.reason === "no-user") {
        throw new ReelError("REEL_NOT_FOUND", `user ${id} not found; list users with GET /api/v1/admin/users`);
      }
      await audit(req, p, {
        action: "user.update",
        target,
        result: r.reason === "last-admin" ? "denied" : "failed",
        detail: { before: pick(r.before), change, reason: r.reason },
      });
      if (r.reason === "no-tenant") {
        const t = JSON.stringify(change.tenant);
        throw new RequestError(
          "REEL_TENANT_UNKNOWN",
          `tenant ${t} does not exist; create it with POST /api/v1/admin/tenants {"name":${t}} or pick one from GET /api/v1/admin/tenants`,
          [{ path: "tenant", message: "no such tenant" }],
        );
      }
      throw new RequestError(
        "REEL_LAST_ADMIN",
        `user ${id} (${r.before.name}) is the last admin and cannot become ${change.role}; make another user admin first with PATCH /api/v1/admin/users/:id {"role":"admin"}`,
        [{ path: "role", message: "would leave no admin" }],
      );
    }
    // Other replicas forget the user when the trigger's NOTIFY arrives; this one does not wait for it.
    deps.auth.forgetUser(id);
    await audit(req, p, {
      action: "user.update",
      target,
      result: "ok",
      detail: { before: pick(r.before), after: pick(r.after) },
    });
    return userOut(r.after);
  });
}
