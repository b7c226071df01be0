// /api/v1/keys: API keys for yourself (admins: for anyone). A key is shown once, at creation.
// With an API key as the credential, managing keys needs the keys:admin scope, so a leaked
// jobs-only key cannot mint more keys.
import { ReelError } from "@reel/crds";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { generateKey } from "../../auth/keys.ts";
import { type Principal, roleScopes } from "../../auth/principal.ts";
import { principal } from "../../auth/request.ts";
import { getKey, insertKey, listKeys, revokeKey } from "../../db/keys.ts";
import { getUser } from "../../db/users.ts";
import type { ShimDeps } from "../../deps.ts";
import { requestAuditor } from "../audit.ts";
import { invalid } from "../errors.ts";
import { keyIdParam } from "../params.ts";
import { CreateKeyInput } from "../schemas.ts";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function keyRoutes(app: FastifyInstance, deps: ShimDeps) {
  const audit = requestAuditor(deps);
  const keyManager = (req: FastifyRequest): Principal => {
    const p = principal(req);
    if (p.via === "key" && !p.scopes.includes("keys:admin")) {
      throw new ReelError("REEL_FORBIDDEN", "managing keys with an API key needs the keys:admin scope");
    }
    return p;
  };

  app.post("/keys", async (req, reply) => {
    const p = keyManager(req);
    const parsed = CreateKeyInput.safeParse(req.body ?? {});
    if (!parsed.success) throw invalid(parsed.error, "key");
    const { name, scopes, userId } = parsed.data;
    let ownerId = p.userId;
    let ownerRole = p.role;
    if (userId !== undefined && userId !== p.userId) {
      if (p.role !== "admin") {
        await audit(req, p, { action: "key.create", target: `user:${userId}`, result: "denied" });
        throw new ReelError("REEL_FORBIDDEN", "only admins create keys for other users");
      }
      const owner = await getUser(deps.db.db, userId);
      if (!owner) throw new ReelError("REEL_NOT_FOUND", `user ${userId} not found`);
      ownerId = owner.id;
      ownerRole = owner.role;
    }
    const allowed = roleScopes(ownerRole);
    const wanted = scopes ?? allowed;
    const beyond = wanted.filter((s) => !allowed.includes(s));
    if (beyond.length) {
      await audit(req, p, {
        action: "key.create",
        target: `user:${ownerId}`,
        result: "denied",
        detail: { scopes: wanted },
      });
      throw new ReelError("REEL_FORBIDDEN", `the ${ownerRole} role cannot hold ${beyond.join(", ")}`);
    }
    const k = generateKey();
    const row = await insertKey(deps.db.db, { id: k.id, userId: ownerId, name, hash: k.hash, scopes: wanted });
    await audit(req, p, {
      action: "key.create",
      target: `key:${k.id}`,
      result: "ok",
      detail: { owner: ownerId, scopes: wanted },
    });
    return reply
      .code(201)
      .send({ id: k.id, key: k.key, prefix: k.prefix, scopes: row.scopes, createdAt: iso(row.createdAt) });
  });

  app.get("/keys", async (req) => {
    const p = keyManager(req);
    const rows = await listKeys(deps.db.db, p.role === "admin" ? undefined : p.userId);
    return {
      items: rows.map((r) => ({
        id: r.id,
        prefix: `reel_${r.id}`,
        name: r.name,
        userId: r.userId,
        scopes: r.scopes,
        createdAt: iso(r.createdAt),
        lastUsedAt: iso(r.lastUsedAt),
        revokedAt: iso(r.revokedAt),
      })),
    };
  });

  app.delete<{ Params: { id: string } }>("/keys/:id", async (req, reply) => {
    const p = keyManager(req);
    const k = await getKey(deps.db.db, keyIdParam(req.params.id));
    // Someone else's key is not found, as another tenant's job is.
    if (!k || (k.userId !== p.userId && p.role !== "admin")) {
      throw new ReelError("REEL_NOT_FOUND", `key ${req.params.id} not found`);
    }
    await revokeKey(deps.db.db, k.id);
    deps.auth.forgetKey(k.id);
    await audit(req, p, { action: "key.revoke", target: `key:${k.id}`, result: "ok", detail: { owner: k.userId } });
    return reply.code(204).send();
  });
}
