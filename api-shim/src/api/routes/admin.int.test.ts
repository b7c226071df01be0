// /api/v1/admin on real services: PostgreSQL 15 (its NOTIFY triggers), redis-server, the L2 control
// plane (a VideoJob to list), and two shim replicas sharing them, as behind a load balancer.
import { type generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, k8sBinariesBuilt } from "../../../../e2e/cluster/cluster.ts";
import type { PostgresServer } from "../../../../e2e/src/services/postgres.ts";
import { until } from "../../../../e2e/src/until.ts";
import { connectPostgres } from "../../db/database.ts";
import { generateKey } from "../../auth/keys.ts";
import { insertKey } from "../../db/keys.ts";
import type { RunningShim } from "../../main.ts";
import { type ShimServices, seedUsers, startShimServices, writeJwks } from "../../testing/services.ts";
import { AdminUser, Tenant, TenantList, UserList } from "../schemas.ts";

const built = k8sBinariesBuilt();
const ISS = "https://id.example.com";
const AUD = "reel-api";

describe.skipIf(!built)("the admin API for users and tenants (PostgreSQL, Redis, L2, two replicas)", () => {
  let svc: ShimServices;
  let cluster: Cluster;
  let pg: PostgresServer;
  let a: RunningShim;
  let b: RunningShim;
  let signer: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  const keys: Record<string, string> = {};
  const ids: Record<string, number> = {};

  // biome-ignore lint/suspicious/noExplicitAny: test answers are checked by shape
  type Answer = { status: number; body: any };
  const api = async (
    shim: RunningShim,
    method: string,
    path: string,
    o: { cred?: string; body?: unknown } = {},
  ): Promise<Answer> => {
    const res = await fetch(`http://127.0.0.1:${shim.port}${path}`, {
      method,
      headers: {
        ...(o.cred ? { authorization: `Bearer ${o.cred}` } : {}),
        ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const jwt = (sub: string) =>
    new SignJWT({ iss: ISS, aud: AUD, sub, name: sub })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(signer);
  const auditRows = async (action: string) => {
    const sql = connectPostgres(pg.url, 1);
    try {
      return await sql<
        { actor: string; target: string; ip: string; result: string; detail: Record<string, unknown> }[]
      >`
        SELECT actor, target, ip, result, detail FROM audit_log WHERE action = ${action} ORDER BY id`;
    } finally {
      await sql.end();
    }
  };

  beforeAll(async () => {
    svc = await startShimServices({ prefix: "reel-admin-", namespaces: ["media", "studio-ns"] });
    ({ cluster, pg } = svc);
    const jwks = await writeJwks(svc.dir);
    signer = jwks.signer;
    const users = await seedUsers(
      pg.url,
      { alice: { role: "admin", tenant: "media" }, olga: { role: "operator", tenant: "media" } },
      async (sql, added) => {
        // An admin's key without keys:admin: jobs only.
        const k = generateKey();
        await insertKey(sql, {
          id: k.id,
          userId: added.alice.userId,
          name: "jobs-only",
          hash: k.hash,
          scopes: ["jobs:read"],
        });
        keys.aliceJobsOnly = k.key;
      },
    );
    for (const who of ["alice", "olga"] as const) {
      keys[who] = users[who].key;
      ids[who] = users[who].userId;
    }
    const config = svc.config({
      REEL_JWT_ISSUER: ISS,
      REEL_JWT_AUDIENCE: AUD,
      REEL_JWT_JWKS_FILE: jwks.path,
      REEL_RATE_LIMIT_IP: "100000",
    });
    [a, b] = await Promise.all([svc.startShim(config), svc.startShim(config)]);
  }, 180_000);

  afterAll(async () => {
    await svc?.close();
  });

  it("answers 401 without a credential and 403 to non-admins and to an admin's key without keys:admin, auditing refused changes", async () => {
    for (const [method, path] of [
      ["GET", "/api/v1/admin/tenants"],
      ["POST", "/api/v1/admin/tenants"],
      ["GET", "/api/v1/admin/users"],
      ["PATCH", `/api/v1/admin/users/${ids.olga}`],
    ] as const) {
      const body = method === "GET" ? undefined : { name: "x", role: "admin" };
      const anon = await api(a, method, path, { body });
      expect(anon.status, `${method} ${path}`).toBe(401);
      expect(anon.body.error.code).toBe("REEL_AUTH_REQUIRED");
      for (const cred of [keys.olga, keys.aliceJobsOnly]) {
        const r = await api(a, method, path, { cred, body });
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.body.error.code).toBe("REEL_FORBIDDEN");
      }
    }
    // olga trying to make herself admin is on record, with who, from where and the outcome.
    const rows = await auditRows("user.update");
    expect(rows).toContainEqual(
      expect.objectContaining({
        actor: `user:${ids.olga} key:${(keys.olga as string).split("_")[1]}`,
        target: `user:${ids.olga}`,
        ip: "127.0.0.1",
        result: "denied",
      }),
    );
    expect((await api(a, "GET", "/api/v1/me", { cred: keys.olga })).body.role).toBe("operator");
  });

  it("creates a tenant mapped to a namespace, lists it, and answers 409 when the name or the namespace is taken", async () => {
    const created = await api(a, "POST", "/api/v1/admin/tenants", {
      cred: keys.alice,
      body: { name: "studio", namespace: "studio-ns" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(Tenant.parse(created.body)).toMatchObject({ name: "studio", namespace: "studio-ns", users: 0 });

    const list = await api(b, "GET", "/api/v1/admin/tenants", { cred: keys.alice });
    expect(list.status).toBe(200);
    expect(TenantList.parse(list.body).items.map((t) => [t.name, t.namespace, t.users])).toEqual([
      ["media", "media", 2],
      ["studio", "studio-ns", 0],
    ]);

    for (const body of [{ name: "studio" }, { name: "other", namespace: "media" }]) {
      const dup = await api(a, "POST", "/api/v1/admin/tenants", { cred: keys.alice, body });
      expect(dup.status, JSON.stringify(body)).toBe(409);
      expect(dup.body.error.code).toBe("REEL_TENANT_EXISTS");
      expect(dup.body.error.message).toMatch(/already exists; pick another name/);
    }
    const bad = await api(a, "POST", "/api/v1/admin/tenants", {
      cred: keys.alice,
      body: { name: "Not A Label", owner: "x" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["(body)", "name"]);

    const rows = await auditRows("tenant.create");
    expect(rows.map((r) => [r.target, r.result])).toEqual([
      ["tenant:x", "denied"], // olga, in the test above
      ["tenant:x", "denied"], // alice's jobs-only key
      ["tenant:studio", "ok"],
      ["tenant:studio", "failed"],
      ["tenant:other", "failed"],
    ]);
    expect(rows[2]).toMatchObject({
      actor: expect.stringMatching(new RegExp(`^user:${ids.alice} `)),
      ip: "127.0.0.1",
      detail: { namespace: "studio-ns" },
    });
  });

  it("maps a JWT user to a tenant by PATCH: their next request lists its jobs, on this replica at once and on the other through NOTIFY", async () => {
    await cluster.kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "trailer", namespace: "studio-ns" },
        spec: {
          episodes: [{ url: "https://cdn.example.com/trailer.mp4", title: "Trailer" }],
          gpu: { policy: "off" },
          output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
        },
      }),
    );
    const token = await jwt("jane");
    // First sign-in: a viewer without a tenant, cached by both replicas.
    for (const s of [a, b]) {
      expect((await api(s, "GET", "/api/v1/me", { cred: token })).body).toMatchObject({ role: "viewer", tenant: null });
      const jobs = await api(s, "GET", "/api/v1/jobs", { cred: token });
      expect(jobs.status).toBe(403);
      expect(jobs.body.error.message).toMatch(/no tenant yet/);
    }
    const users = UserList.parse((await api(a, "GET", "/api/v1/admin/users", { cred: keys.alice })).body).items;
    const jane = users.find((u) => u.subject === "jane");
    expect(jane).toMatchObject({ name: "jane", role: "viewer", tenant: null, issuer: ISS, subject: "jane" });
    // Users made for API keys only show no issuer; a used key is when they were last seen.
    expect(users.find((u) => u.name === "alice")).not.toHaveProperty("issuer");
    expect(users.find((u) => u.name === "alice")?.lastSeenAt).toMatch(/^\d{4}-/);

    const patched = await api(a, "PATCH", `/api/v1/admin/users/${jane?.id}`, {
      cred: keys.alice,
      body: { role: "operator", tenant: "studio" },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(AdminUser.parse(patched.body)).toMatchObject({ role: "operator", tenant: "studio", namespace: "studio-ns" });

    // The replica that made the change: the very next request.
    expect((await api(a, "GET", "/api/v1/me", { cred: token })).body).toMatchObject({
      role: "operator",
      tenant: "studio",
      namespace: "studio-ns",
    });
    const listed = await until("the trailer in jane's listing", async () => {
      const r = await api(a, "GET", "/api/v1/jobs", { cred: token });
      return r.status === 200 && r.body.items.length > 0 && r.body;
    });
    expect(listed.items.map((j: { id: string; namespace: string }) => [j.id, j.namespace])).toEqual([
      ["trailer", "studio-ns"],
    ]);
    // The other replica had the old principal cached (5 s); NOTIFY reel_auth replaces it well before.
    const t0 = Date.now();
    await until(
      "the change to reach the other replica",
      async () => (await api(b, "GET", "/api/v1/jobs", { cred: token })).status === 200,
      5000,
      20,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await api(b, "GET", "/api/v1/me", { cred: token })).body).toMatchObject({ tenant: "studio" });

    const filtered = await api(b, "GET", "/api/v1/admin/users?tenant=studio&role=operator", { cred: keys.alice });
    expect(UserList.parse(filtered.body).items.map((u) => u.name)).toEqual(["jane"]);
    expect((await api(b, "GET", "/api/v1/admin/users?role=admin", { cred: keys.alice })).body.items).toHaveLength(1);
    expect((await api(b, "GET", "/api/v1/admin/users?role=root", { cred: keys.alice })).status).toBe(400);

    const row = (await auditRows("user.update")).at(-1);
    expect(row).toMatchObject({
      actor: `user:${ids.alice} key:${(keys.alice as string).split("_")[1]}`,
      target: `user:${jane?.id}`,
      ip: "127.0.0.1",
      result: "ok",
      detail: { before: { role: "viewer", tenant: null }, after: { role: "operator", tenant: "studio" } },
    });
  });

  it("answers 400 REEL_TENANT_UNKNOWN with the next step for an unknown tenant, 409 REEL_LAST_ADMIN for demoting the last admin, 404 for an unknown user", async () => {
    const unknown = await api(a, "PATCH", `/api/v1/admin/users/${ids.olga}`, {
      cred: keys.alice,
      body: { tenant: "nowhere" },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({
      code: "REEL_TENANT_UNKNOWN",
      message: expect.stringContaining("create it with POST /api/v1/admin/tenants"),
      hint: expect.any(String),
    });

    const last = await api(a, "PATCH", `/api/v1/admin/users/${ids.alice}`, {
      cred: keys.alice,
      body: { role: "viewer" },
    });
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe("REEL_LAST_ADMIN");
    expect(last.body.error.message).toMatch(/last admin.*make another user admin first/);
    expect((await api(a, "GET", "/api/v1/me", { cred: keys.alice })).body.role).toBe("admin");

    expect(
      (await api(a, "PATCH", "/api/v1/admin/users/999999", { cred: keys.alice, body: { role: "viewer" } })).status,
    ).toBe(404);
    expect((await api(a, "PATCH", `/api/v1/admin/users/${ids.olga}`, { cred: keys.alice, body: {} })).status).toBe(400);

    // With a second admin, the first may step down; then olga is the last one.
    expect(
      (await api(a, "PATCH", `/api/v1/admin/users/${ids.olga}`, { cred: keys.alice, body: { role: "admin" } })).status,
    ).toBe(200);
    const stepDown = await api(a, "PATCH", `/api/v1/admin/users/${ids.alice}`, {
      cred: keys.alice,
      body: { role: "operator", tenant: null },
    });
    expect(stepDown.status, JSON.stringify(stepDown.body)).toBe(200);
    expect(stepDown.body).toMatchObject({ role: "operator", tenant: null, namespace: null });
    // Alice is no admin any more: her next request is refused.
    expect((await api(a, "GET", "/api/v1/admin/users", { cred: keys.alice })).status).toBe(403);
    const olgaLast = await api(b, "PATCH", `/api/v1/admin/users/${ids.olga}`, {
      cred: keys.olga,
      body: { role: "viewer" },
    });
    expect(olgaLast.status).toBe(403); // her key was made for an operator: no keys:admin scope

    const results = (await auditRows("user.update")).slice(-5).map((r) => [r.target, r.result, r.detail.reason]);
    expect(results).toEqual([
      [`user:${ids.olga}`, "failed", "no-tenant"],
      [`user:${ids.alice}`, "denied", "last-admin"],
      [`user:${ids.olga}`, "ok", undefined],
      [`user:${ids.alice}`, "ok", undefined],
      [`user:${ids.olga}`, "denied", undefined],
    ]);
  });

  it("lists the admin routes with separate input and output schemas in the OpenAPI document", async () => {
    const doc = (await api(a, "GET", "/api/openapi.json")).body;
    expect(doc.paths["/api/v1/admin/tenants"].post.requestBody.content["application/json"].schema.$ref).toBe(
      "#/components/schemas/CreateTenantInput",
    );
    expect(doc.paths["/api/v1/admin/users/{id}"].patch.responses["200"].content["application/json"].schema.$ref).toBe(
      "#/components/schemas/AdminUser",
    );
    expect(doc.components.schemas.UpdateUserInput.additionalProperties).toBe(false);
    expect(Object.keys(doc.components.schemas.AdminUser.properties)).toContain("lastSeenAt");
  });
});
