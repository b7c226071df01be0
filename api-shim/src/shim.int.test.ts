// The shim on real services: PostgreSQL 15, redis-server and the L2 control plane (etcd +
// kube-apiserver from e2e/cluster). No operator runs here: the tests write VideoJob status the way
// the operator would (kubectl patch --subresource=status) and check what clients see.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { progressChannel, progressMessage } from "@reel/crds";
import { type generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import { type PostgresServer, startPostgres } from "../../e2e/src/services/postgres.ts";
import { type RedisServer, startRedis } from "../../e2e/src/services/redis.ts";
import type { S3Server } from "../../e2e/src/services/s3.ts";
import { until } from "../../e2e/src/until.ts";
import { addUser } from "./admin.ts";
import { parseConfig } from "./config.ts";
import { connectPostgres } from "./db/database.ts";
import { migrate, readMigrations } from "./db/migrate.ts";
import { type RunningShim, startShim } from "./main.ts";
import { type ShimServices, seedUsers, shimUrl, startShimServices, writeJwks } from "./testing/services.ts";
import type { JobEvent } from "./live/events.ts";
import { attachment } from "./outputs/sign.ts";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";

const built = k8sBinariesBuilt();
const crd = join(import.meta.dirname, "..", "..", "crds", "generated", "videojob.crd.yaml");
const ISS = "https://id.example.com";
const AUD = "reel-api";

const spec = (name: string, extra: Record<string, unknown> = {}) => ({
  episodes: [
    { url: `https://cdn.example.com/${name}/0.mp4`, title: "Pilot" },
    { url: `https://cdn.example.com/${name}/1.mp4`, title: "Two" },
  ],
  gpu: { policy: "off" },
  output: { s3: { bucket: "videos", prefix: `${name}/`, credentialsSecret: "s3-creds" } },
  tags: ["drama"],
  ...extra,
});

/** An SSE client over fetch: collects `event: status` payloads. */
function sse(url: string, headers: Record<string, string>) {
  const ctl = new AbortController();
  const events: JobEvent[] = [];
  let status = 0;
  const done = (async () => {
    const res = await fetch(url, { headers, signal: ctl.signal });
    status = res.status;
    if (!res.ok || !res.body) return;
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += dec.decode(chunk as Uint8Array, { stream: true });
      let i = buf.indexOf("\n\n");
      while (i >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6))
          .join("\n");
        if (data) events.push(JSON.parse(data) as JobEvent);
        i = buf.indexOf("\n\n");
      }
    }
  })().catch(() => {});
  return {
    events,
    status: () => status,
    close: async () => {
      ctl.abort();
      await done;
    },
  };
}

describe.skipIf(!built)("the REST shim on PostgreSQL, Redis and a real kube-apiserver (L2)", () => {
  let svc: ShimServices;
  let dir: string;
  let cluster: Cluster;
  let pg: PostgresServer;
  let redis: RedisServer;
  let s3: S3Server;
  let base: string;
  let jwks: string;
  let signer: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  let publicJwk: Record<string, unknown>;
  const keys: Record<string, string> = {};
  let olgaId = 0;
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
  const config = (over: Record<string, string> = {}) =>
    svc.config({
      REEL_JWT_ISSUER: ISS,
      REEL_JWT_AUDIENCE: AUD,
      REEL_JWT_JWKS_FILE: jwks,
      REEL_BODY_LIMIT_BYTES: "16384",
      REEL_SSE_HEARTBEAT_MS: "1000",
      REEL_RATE_LIMIT_IP: "100000",
      REEL_CORS_ORIGINS: "https://app.example.com",
      ...over,
    });
  const api = async (
    method: string,
    path: string,
    o: { key?: string; token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ) => {
    const cred = o.token ?? (o.key ? keys[o.key] : undefined);
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(cred ? { authorization: `Bearer ${cred}` } : {}),
        ...(o.body !== undefined || o.raw !== undefined ? { "content-type": "application/json" } : {}),
        ...o.headers,
      },
      ...(o.raw !== undefined ? { body: o.raw } : o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test answers are checked by shape
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, body, headers: res.headers };
  };
  const setStatus = (ns: string, name: string, status: Record<string, unknown>) => svc.setStatus(ns, name, status);
  const jwt = (claims: Record<string, unknown>, exp: number | false = Math.floor(Date.now() / 1000) + 300) => {
    let t = new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuedAt();
    if (exp !== false) t = t.setExpirationTime(exp);
    return t.sign(signer);
  };

  beforeAll(async () => {
    svc = await startShimServices({ prefix: "reel-shim-", s3: true, namespaces: ["media", "studio"] });
    ({ dir, cluster, pg, redis, s3 } = svc);
    const keyPair = await writeJwks(dir, { use: "sig" });
    ({ signer, publicJwk, path: jwks } = keyPair);
    const users = await seedUsers(pg.url, {
      alice: { role: "admin", tenant: "media" },
      olga: { role: "operator", tenant: "media" },
      vera: { role: "viewer", tenant: "media" },
      bob: { role: "operator", tenant: "studio" },
      // A JWT user already mapped by an admin to tenant media.
      jane: { role: "operator", tenant: "media", issuer: ISS, subject: "jane" },
    });
    for (const who of ["alice", "olga", "vera", "bob"] as const) keys[who] = users[who].key;
    olgaId = users.olga.userId;
    // The real webhook sender; loopback IPv4 is opened past its egress guard for the receiver below.
    base = shimUrl(await svc.startShim(config({ REEL_EGRESS_ALLOW: "127.0.0.1/32" }), {}));
  }, 180_000);

  afterAll(async () => {
    await svc?.close();
  });

  it("creates, lists, gets, reads the status of and cancels a job, with the trace id on the VideoJob", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const created = await api("POST", "/api/v1/jobs", {
      key: "olga",
      body: { name: "season-1", spec: spec("season-1") },
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ id: "season-1", namespace: "media", tags: ["drama"], traceId });
    expect(created.headers.get("traceparent")).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const vj = JSON.parse(await kubectl(["-n", "media", "get", "videojob", "season-1", "-o", "json"]));
    expect(vj.metadata.annotations["reel.dev/trace-id"]).toBe(traceId);
    expect(vj.metadata.annotations["reel.dev/created-by"]).toMatch(/^user:\d+ key:\w{8}$/);
    expect(vj.spec.cancel).toBe(false);

    const list = await api("GET", "/api/v1/jobs", { key: "vera" });
    expect(list.status).toBe(200);
    expect(list.body.items.map((j: { id: string }) => j.id)).toContain("season-1");
    // Summaries by default (what a row shows, no spec); whole Jobs on request, 20 a page at most.
    const row = list.body.items.find((j: { id: string }) => j.id === "season-1");
    expect(row).toMatchObject({ id: "season-1", phase: "Pending", episodes: 2 });
    expect(row.spec).toBeUndefined();
    const full = await api("GET", "/api/v1/jobs?view=full", { key: "vera" });
    expect(full.body.items.find((j: { id: string }) => j.id === "season-1").spec.episodes).toHaveLength(2);
    const tooMany = await api("GET", "/api/v1/jobs?view=full&limit=21", { key: "vera" });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe("REEL_INVALID_ARGUMENT");
    expect((await api("GET", "/api/v1/jobs?tag=comedy", { key: "vera" })).body.items).toEqual([]);

    await setStatus("media", "season-1", { phase: "Downloading", progress: 10, episodesSummary: "0/2" });
    const st = await until("the cache to see the status", async () => {
      const r = await api("GET", "/api/v1/jobs/season-1/status", { key: "vera" });
      return r.body.phase === "Downloading" ? r : undefined;
    });
    expect(st.body).toMatchObject({ phase: "Downloading", progress: 10 });
    const got = await api("GET", "/api/v1/jobs/season-1", { key: "vera" });
    expect(got.body).toMatchObject({ id: "season-1", status: { phase: "Downloading" } });
    expect((await api("GET", "/api/v1/jobs?phase=Downloading", { key: "vera" })).body.items).toHaveLength(1);

    expect((await api("POST", "/api/v1/jobs/season-1/cancel", { key: "vera" })).status).toBe(403);
    const cancelled = await api("POST", "/api/v1/jobs/season-1/cancel", { key: "olga" });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.spec.cancel).toBe(true);
    expect(JSON.parse(await kubectl(["-n", "media", "get", "videojob", "season-1", "-o", "json"])).spec.cancel).toBe(
      true,
    );

    const generated = await api("POST", "/api/v1/jobs", { key: "olga", body: { spec: spec("anon") } });
    expect(generated.status).toBe(201);
    expect(generated.body.id).toMatch(/^job-[a-z0-9]{5}$/);
    expect(
      (await api("POST", "/api/v1/jobs", { key: "olga", body: { name: "season-1", spec: spec("x") } })).body.error.code,
    ).toBe("REEL_JOB_EXISTS");
  });

  it("answers another tenant's job with 404 on get, status, cancel, events and the WebSocket, and leaves it out of lists", async () => {
    expect(
      (await api("POST", "/api/v1/jobs", { key: "olga", body: { name: "private", spec: spec("private") } })).status,
    ).toBe(201);
    for (const [method, path] of [
      ["GET", "/api/v1/jobs/private"],
      ["GET", "/api/v1/jobs/private/status"],
      ["POST", "/api/v1/jobs/private/cancel"],
      ["GET", "/api/v1/jobs/private/events"],
    ] as const) {
      const r = await api(method, path, { key: "bob" });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe("REEL_JOB_NOT_FOUND");
    }
    const ws = new WebSocket(`${base.replace("http", "ws")}/api/v1/jobs/private/ws`, {
      headers: { authorization: `Bearer ${keys.bob}` },
    });
    const refused = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
      ws.on("error", () => {});
    });
    expect(refused).toBe(404);
    expect((await api("GET", "/api/v1/jobs", { key: "bob" })).body.items).toEqual([]);
    // The job is untouched: cancel by another tenant did nothing.
    expect(JSON.parse(await kubectl(["-n", "media", "get", "videojob", "private", "-o", "json"])).spec.cancel).toBe(
      false,
    );
  });

  it("refuses JWTs with alg none, HS256 keyed with the public key, expired, without exp, or for another audience; accepts a valid one", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISS, aud: AUD, sub: "jane" };
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const hsBody = `${b64({ alg: "HS256", kid: "k1" })}.${b64({ ...claims, iat: now, exp: now + 300 })}`;
    const cases: Record<string, string> = {
      "alg none": new UnsecuredJWT(claims).setIssuedAt().setExpirationTime("5m").encode(),
      "HS256 with the public key": `${hsBody}.${createHmac("sha256", JSON.stringify(publicJwk)).update(hsBody).digest("base64url")}`,
      expired: await jwt(claims, now - 120),
      "missing exp": await jwt(claims, false),
      "wrong audience": await jwt({ ...claims, aud: "someone-else" }),
      "wrong issuer": await jwt({ ...claims, iss: "https://evil.example.com" }),
    };
    for (const [what, token] of Object.entries(cases)) {
      const r = await api("GET", "/api/v1/me", { token });
      expect(r.status, what).toBe(401);
      expect(r.body.error.code, what).toBe("REEL_AUTH_INVALID");
    }
    const ok = await api("GET", "/api/v1/me", { token: await jwt(claims) });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ name: "jane", role: "operator", tenant: "media", namespace: "media" });
    expect((await api("GET", "/api/v1/jobs/private", { token: await jwt(claims) })).status).toBe(200);
    // First sight of a new subject: a viewer without a tenant until an admin maps them.
    const fresh = await api("GET", "/api/v1/me", { token: await jwt({ ...claims, sub: "newcomer" }) });
    expect(fresh.body).toMatchObject({ role: "viewer", tenant: null });
    expect((await api("GET", "/api/v1/jobs", { token: await jwt({ ...claims, sub: "newcomer" }) })).status).toBe(403);
    expect((await api("GET", "/api/v1/me")).body.error.code).toBe("REEL_AUTH_REQUIRED");
  });

  it("creates, lists and revokes API keys; a revoked key answers 401", async () => {
    const made = await api("POST", "/api/v1/keys", { key: "olga", body: { name: "ci", scopes: ["jobs:read"] } });
    // A jobs-only key cannot manage keys.
    expect(made.status).toBe(403);
    const viaJwt = await api("POST", "/api/v1/keys", {
      token: await jwt({ iss: ISS, aud: AUD, sub: "jane" }),
      body: { name: "ci", scopes: ["jobs:read"] },
    });
    expect(viaJwt.status).toBe(201);
    expect(viaJwt.body.key).toMatch(/^reel_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}$/);
    expect(viaJwt.body.prefix).toBe(`reel_${viaJwt.body.id}`);
    const key = viaJwt.body.key as string;
    expect((await api("GET", "/api/v1/jobs", { token: key })).status).toBe(200);
    expect((await api("POST", "/api/v1/jobs", { token: key, body: { spec: spec("x") } })).status).toBe(403);
    // last_used_at is written after the answer, off the request's path.
    const { listed, row } = await until("last use recorded", async () => {
      const listed = await api("GET", "/api/v1/keys", { key: "alice" });
      const row = listed.body.items.find((k: { id: string }) => k.id === viaJwt.body.id);
      return row?.lastUsedAt ? { listed, row } : undefined;
    });
    expect(row).toMatchObject({ name: "ci", scopes: ["jobs:read"], revokedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(key);
    // Another user's key is not found for a non-admin.
    expect((await api("DELETE", `/api/v1/keys/${viaJwt.body.id}`, { token: keys.bob })).status).toBe(403);
    expect((await api("DELETE", `/api/v1/keys/${viaJwt.body.id}`, { key: "alice" })).status).toBe(204);
    const after = await api("GET", "/api/v1/jobs", { token: key });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("REEL_AUTH_INVALID");
  });

  it("forgets a key revoked or a user demoted in PostgreSQL at once (NOTIFY reel_auth), not after the 5 s cache", async () => {
    const sql = connectPostgres(pg.url, 1);
    try {
      // As another replica would, or an admin by hand: straight in the database.
      const rita = await addUser(sql, { name: "rita", role: "operator", tenant: "media" });
      expect((await api("GET", "/api/v1/jobs", { token: rita.key })).status).toBe(200);
      const t0 = Date.now();
      await sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${rita.keyId}`;
      await until(
        "the revoke to reach the shim",
        async () => (await api("GET", "/api/v1/me", { token: rita.key })).status === 401,
        5000,
        20,
      );
      const revokedAfterMs = Date.now() - t0;
      expect(revokedAfterMs).toBeLessThan(1000);

      const sam = await addUser(sql, { name: "sam", role: "operator", tenant: "media" });
      expect((await api("GET", "/api/v1/me", { token: sam.key })).body.role).toBe("operator");
      const t1 = Date.now();
      await sql`UPDATE users SET role = 'viewer' WHERE id = ${sam.userId}`;
      await until(
        "the demotion to reach the shim",
        async () => (await api("GET", "/api/v1/me", { token: sam.key })).body.role === "viewer",
        5000,
        20,
      );
      expect(Date.now() - t1).toBeLessThan(1000);
      // Recording a key's use does not notify (the trigger watches only what changes a principal).
      await sql`UPDATE api_keys SET last_used_at = now() WHERE id = ${sam.keyId}`;
    } finally {
      await sql.end();
    }
  });

  it("refuses a create body over the size limit with 413 and status, namespace or owner fields with 400", async () => {
    const big = await api("POST", "/api/v1/jobs", {
      key: "olga",
      raw: JSON.stringify({ spec: spec("big"), pad: "x".repeat(20_000) }),
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("REEL_BODY_TOO_LARGE");
    for (const body of [
      { name: "s1", spec: spec("s1"), status: { phase: "Completed" } },
      { name: "s2", spec: spec("s2"), metadata: { namespace: "studio" } },
      { name: "s3", spec: spec("s3"), namespace: "studio" },
      { name: "s4", spec: { ...spec("s4"), status: { phase: "Completed" } } },
      { name: "s5", spec: { ...spec("s5"), cancel: true } },
      { name: "s6", spec: spec("s6"), ownerReferences: [{ uid: "x" }] },
      { name: "s7", spec: { ...spec("s7"), merge: { alowPartial: true } } },
    ]) {
      const r = await api("POST", "/api/v1/jobs", { key: "olga", body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("REEL_JOB_INVALID");
      expect(r.body.error.details.length).toBeGreaterThan(0);
    }
    const missing = await api("POST", "/api/v1/jobs", { key: "olga", body: { spec: { episodes: [] } } });
    expect(missing.body.error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(["spec.episodes", "spec.output"]),
    );
    expect((await api("POST", "/api/v1/jobs", { key: "olga", raw: "{not json" })).status).toBe(400);
    const misspelt = await api("POST", "/api/v1/jobs", {
      key: "olga",
      body: { name: "s8", spec: { ...spec("s8"), merge: { alowPartial: true } } },
    });
    expect(misspelt.body.error.details).toEqual([
      { path: "spec.merge.alowPartial", message: "unknown field; did you mean allowPartial?" },
    ]);
    expect(await kubectl(["get", "videojobs", "-A", "-o", "name"])).not.toMatch(/\/s[1-8]\b/);
  });

  it("streams a phase change made on the CR over SSE and resumes from Last-Event-ID", async () => {
    await api("POST", "/api/v1/jobs", { key: "olga", body: { name: "live-1", spec: spec("live-1") } });
    const url = `${base}/api/v1/jobs/live-1/events`;
    const auth = { authorization: `Bearer ${keys.vera}` };
    const a = sse(url, auth);
    await until("the snapshot", async () => a.events.length >= 1);
    expect(a.events[0]).toMatchObject({ type: "status", job: "live-1" });
    await setStatus("media", "live-1", { phase: "Downloading", progress: 5 });
    const phase = await until("the phase event", async () => a.events.find((e) => e.type === "phase"));
    expect(phase).toMatchObject({ phase: "Downloading", progress: 5, status: { phase: "Downloading" } });
    await a.close();
    // Two more changes while nobody listens; a client resuming from the phase event gets both.
    await setStatus("media", "live-1", { phase: "Processing", progress: 40 });
    await until(
      "Processing in the cache",
      async () => (await api("GET", "/api/v1/jobs/live-1/status", { key: "vera" })).body.phase === "Processing",
    );
    await setStatus("media", "live-1", { phase: "Processing", progress: 60 });
    await until(
      "progress 60 in the cache",
      async () => (await api("GET", "/api/v1/jobs/live-1/status", { key: "vera" })).body.progress === 60,
    );
    const b = sse(url, { ...auth, "last-event-id": phase.id });
    const missed = await until("the missed events", async () => (b.events.length >= 2 ? b.events : undefined));
    expect(missed.map((e) => [e.type, e.phase, e.progress])).toEqual([
      ["phase", "Processing", 40],
      ["status", "Processing", 60],
    ]);
    expect(missed.map((e) => e.id)).toEqual([expect.stringMatching(/^\d+-\d+$/), expect.stringMatching(/^\d+-\d+$/)]);
    // ?lastEventId= works too (EventSource cannot set headers on the first request).
    const c = sse(`${url}?lastEventId=${missed[0]?.id}`, auth);
    await until("the one missed event", async () => c.events.length >= 1);
    expect(c.events.map((e) => e.progress)).toEqual([60]);
    await Promise.all([b.close(), c.close()]);
  });

  it("sends the same events over the WebSocket, signed in with ?access_token=", async () => {
    await api("POST", "/api/v1/jobs", { key: "olga", body: { name: "live-ws", spec: spec("live-ws") } });
    const got: JobEvent[] = [];
    const ws = new WebSocket(`${base.replace("http", "ws")}/api/v1/jobs/live-ws/ws?access_token=${keys.vera}`);
    ws.on("message", (m) => got.push(JSON.parse(String(m)) as JobEvent));
    await new Promise((r, j) => {
      ws.once("open", r);
      ws.once("error", j);
    });
    await until("the snapshot", async () => got.length >= 1);
    await setStatus("media", "live-ws", { phase: "Merging", progress: 90 });
    const e = await until("the phase event", async () => got.find((x) => x.type === "phase"));
    expect(e).toMatchObject({ job: "live-ws", phase: "Merging", progress: 90 });
    ws.close();
    // The token in the URL never reaches the logs' URL field (checked in log.test.ts), and a bad one is refused.
    const bad = new WebSocket(`${base.replace("http", "ws")}/api/v1/jobs/live-ws/ws?access_token=reel_nope`);
    const code = await new Promise<number>((resolve) => {
      bad.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      bad.on("open", () => resolve(101));
      bad.on("error", () => {});
    });
    expect(code).toBe(401);
  });

  it("keeps streaming worker progress from Redis pub/sub after Redis restarts mid-stream", async () => {
    await api("POST", "/api/v1/jobs", { key: "olga", body: { name: "live-redis", spec: spec("live-redis") } });
    const a = sse(`${base}/api/v1/jobs/live-redis/events`, { authorization: `Bearer ${keys.vera}` });
    const got: JobEvent[] = [];
    const ws = new WebSocket(`${base.replace("http", "ws")}/api/v1/jobs/live-redis/ws`, {
      headers: { authorization: `Bearer ${keys.vera}` },
    });
    ws.on("message", (m) => got.push(JSON.parse(String(m)) as JobEvent));
    await new Promise((r) => ws.once("open", r));
    const pub = new Redis(redis.url, { maxRetriesPerRequest: null });
    pub.on("error", () => {});
    // What an episode pod publishes (the contract's writer): the streams carry its percent of the pod's work.
    const publish = (fraction: number) =>
      pub.publish(
        progressChannel("media/live-redis"),
        JSON.stringify(progressMessage({ index: 1, stage: "encode", fraction })),
      );
    const progressOf = (events: JobEvent[]) =>
      events.filter((e) => e.type === "progress").map((e) => e.episode?.progress);
    await until("progress before the restart", async () => {
      await publish(0.1);
      return progressOf(a.events).includes(37.8) && progressOf(got).includes(37.8);
    });
    await redis.restart();
    await until(
      "progress after the restart",
      async () => {
        await publish(0.5).catch(() => {});
        return progressOf(a.events).includes(61) && progressOf(got).includes(61);
      },
      30_000,
      500,
    );
    expect(a.events.find((e) => e.episode?.progress === 61)).toMatchObject({
      type: "progress",
      job: "live-redis",
      episode: { index: 1, stage: "encode", progress: 61, phase: "Transcoding" },
    });
    // The merge pod's messages reach the streams as merge progress.
    await until("merge progress", async () => {
      await pub.publish(
        progressChannel("media/live-redis"),
        JSON.stringify(progressMessage({ index: "merge", stage: "merge", fraction: 0.5 })),
      );
      return a.events.some((e) => e.merge) && got.some((e) => e.merge);
    });
    expect(a.events.find((e) => e.merge)).toMatchObject({
      type: "progress",
      merge: { stage: "merge", progress: 55, phase: "Merging" },
    });
    // Event ids (<rv>-<seq> cursors) never go back, also across the restart.
    const cursors = a.events.map((e) => e.id.split("-").map(Number) as [number, number]);
    for (let i = 1; i < cursors.length; i++) {
      const [prev, cur] = [cursors[i - 1] as [number, number], cursors[i] as [number, number]];
      expect(cur[0] >= prev[0] && cur[1] >= prev[1], `${a.events[i]?.id} after ${a.events[i - 1]?.id}`).toBe(true);
    }
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    ws.close();
    pub.disconnect();
    await a.close();
  });

  it("resumes on another shim replica from an id given by the first: the later events, no gap, no repeat", async () => {
    const replicas = await Promise.all([0, 1].map(() => startShim(config(), { webhooks: false })));
    const [a, b] = replicas as [RunningShim, RunningShim];
    const pub = new Redis(redis.url, { maxRetriesPerRequest: null });
    pub.on("error", () => {});
    try {
      for (const r of replicas)
        await until("a replica to be healthy", async () => (await fetch(`http://127.0.0.1:${r.port}/api/health`)).ok);
      await api("POST", "/api/v1/jobs", { key: "olga", body: { name: "hop-1", spec: spec("hop-1") } });
      const auth = { authorization: `Bearer ${keys.vera}` };
      const url = (r: RunningShim) => `http://127.0.0.1:${r.port}/api/v1/jobs/hop-1/events`;
      await until("both replicas to serve hop-1", async () => {
        const got = await Promise.all(
          replicas.map((r) => fetch(`http://127.0.0.1:${r.port}/api/v1/jobs/hop-1`, { headers: auth })),
        );
        return got.every((g) => g.ok);
      });
      // An observer on B from the start: it shows when B has received everything.
      const observer = sse(url(b), auth);
      const first = sse(url(a), auth);
      await until("both snapshots", async () => observer.events.length >= 1 && first.events.length >= 1);
      // fetch at 0.1 and 0.2 of the stage: 3% and 6% of the pod's work.
      const publish = (fraction: number) =>
        pub.publish(
          progressChannel("media/hop-1"),
          JSON.stringify(progressMessage({ index: 0, stage: "fetch", fraction })),
        );
      await setStatus("media", "hop-1", { phase: "Downloading", progress: 5 });
      await until("Downloading on A", async () => first.events.some((e) => e.phase === "Downloading"));
      await publish(0.1);
      await until("progress 3% on A", async () => first.events.some((e) => e.episode?.progress === 3));
      await first.close();
      const lastSeen = first.events.at(-1) as JobEvent;
      // While the client is away: a phase change and a progress message.
      await setStatus("media", "hop-1", { phase: "Processing", progress: 40 });
      await publish(0.2);
      await until(
        "B to have everything",
        async () =>
          observer.events.some((e) => e.phase === "Processing") &&
          observer.events.some((e) => e.episode?.progress === 6),
      );
      // Both replicas gave the same ids to the same events.
      const idOf = (events: JobEvent[], pred: (e: JobEvent) => boolean) => events.find(pred)?.id;
      const p1 = (e: JobEvent) => e.episode?.progress === 3;
      const downloading = (e: JobEvent) => e.type === "phase" && e.phase === "Downloading";
      expect(idOf(observer.events, p1)?.split("-")[1]).toBe(idOf(first.events, p1)?.split("-")[1]);
      expect(idOf(observer.events, downloading)?.split("-")[0]).toBe(idOf(first.events, downloading)?.split("-")[0]);

      const resumed = sse(url(b), { ...auth, "last-event-id": lastSeen.id });
      await until("the two missed events on B", async () => resumed.events.length >= 2);
      await new Promise((r) => setTimeout(r, 300)); // nothing else may follow
      expect(resumed.events.map((e) => [e.type, e.phase ?? e.episode?.progress]).sort()).toEqual([
        ["phase", "Processing"],
        ["progress", 6],
      ]);
      // A later live change reaches the resumed client once.
      await setStatus("media", "hop-1", { phase: "Merging", progress: 90 });
      await until("Merging on B", async () => resumed.events.some((e) => e.phase === "Merging"));
      expect(resumed.events.filter((e) => e.type === "phase").map((e) => e.phase)).toEqual(["Processing", "Merging"]);

      // Ids B cannot place (before its log began; a numeric id from an older shim): the full status first.
      for (const id of ["1-0", "3"]) {
        const c = sse(url(b), { ...auth, "last-event-id": id });
        await until("the snapshot", async () => c.events.length >= 1);
        expect(c.events[0]).toMatchObject({ type: "status", phase: "Merging", status: { phase: "Merging" } });
        await c.close();
      }
      await Promise.all([observer.close(), resumed.close()]);
    } finally {
      pub.disconnect();
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });

  it("answers browsers only from the configured CORS origins", async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/api/v1/jobs`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
      });
    const ok = await preflight("https://app.example.com");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(ok.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const other = await preflight("https://evil.example.com");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const get = await api("GET", "/api/v1/me", { key: "vera", headers: { origin: "https://app.example.com" } });
    expect(get.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
  });

  it("refuses a webhook to an internal address at create with 400 REEL_EGRESS_DENIED, and audits the refusal", async () => {
    for (const url of ["http://[::1]:9/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data"]) {
      const r = await api("POST", "/api/v1/jobs", {
        key: "olga",
        body: { name: "hooked", spec: spec("hooked", { notification: { webhook: { url } } }) },
      });
      expect(r.status, url).toBe(400);
      expect(r.body.error.code, url).toBe("REEL_EGRESS_DENIED");
    }
    expect(await kubectl(["-n", "media", "get", "videojobs", "-o", "name"])).not.toContain("hooked");
    const sql = connectPostgres(pg.url, 1);
    try {
      const rows =
        await sql`SELECT 1 FROM audit_log WHERE action = 'job.create' AND result = 'denied' AND target = 'media/hooked'`;
      expect(rows.length).toBe(3);
    } finally {
      await sql.end();
    }
  });

  it("hands phase changes seen on the CR to the webhook sender, which delivers them", async () => {
    const got: { type: string; data: Record<string, unknown> }[] = [];
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        got.push(JSON.parse(body));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const port = (receiver.address() as { port: number }).port;
    try {
      const url = `http://127.0.0.1:${port}/hook`;
      const r = await api("POST", "/api/v1/jobs", {
        key: "olga",
        body: { name: "hooked-ok", spec: spec("hooked-ok", { notification: { webhook: { url } } }) },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      await setStatus("media", "hooked-ok", { phase: "Downloading", progress: 3 });
      const first = await until("the webhook delivery", async () => got.find((g) => g.data.phase === "Downloading"));
      expect(first).toMatchObject({
        type: "videojob.phase",
        data: { job: "hooked-ok", namespace: "media", phase: "Downloading", previousPhase: null, progress: 3 },
      });
      await setStatus("media", "hooked-ok", { phase: "Processing", progress: 50 });
      const second = await until("the second delivery", async () => got.find((g) => g.data.phase === "Processing"));
      expect(second.data).toMatchObject({ previousPhase: "Downloading" });
    } finally {
      receiver.close();
    }
  });

  it("answers 429 with Retry-After past the per-key and the per-address rate limits", async () => {
    // Counters are shared by every shim on this Redis: start from none.
    const r = new Redis(redis.url);
    const stale = await r.keys("reel:ratelimit:*");
    if (stale.length) await r.del(...stale);
    r.disconnect();
    const limited = await startShim(
      config({ REEL_RATE_LIMIT_KEY: "5", REEL_RATE_LIMIT_IP: "12", REEL_RATE_LIMIT_WINDOW_MS: "60000" }),
      {
        webhooks: false,
      },
    );
    try {
      await until(
        "the second shim to be healthy",
        async () => (await fetch(`http://127.0.0.1:${limited.port}/api/health`)).ok,
      );
      const url = `http://127.0.0.1:${limited.port}/api/v1/me`;
      const statuses: number[] = [];
      const get = () => fetch(url, { headers: { authorization: `Bearer ${keys.alice}` } });
      for (let i = 0; i < 7; i++) statuses.push((await get()).status);
      const last = await get();
      statuses.push(last.status);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5)).toEqual([429, 429, 429]);
      expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(((await last.json()) as { error: { code: string } }).error.code).toBe("REEL_RATE_LIMITED");
      // Another key has its own budget.
      expect((await fetch(url, { headers: { authorization: `Bearer ${keys.bob}` } })).status).toBe(200);
      // And per address, before any credential is looked at: 9 calls so far, the limit is 12.
      const anon: number[] = [];
      for (let i = 0; i < 4; i++) anon.push((await fetch(url)).status);
      expect(anon).toEqual([401, 401, 401, 429]);
    } finally {
      await limited.stop();
    }
  });

  it("holds a per-key limit across two shims sharing one Redis, refusing early by under 4% per other replica", async () => {
    const sql = connectPostgres(pg.url, 1);
    const { key } = await addUser(sql, { name: "tara", role: "viewer", tenant: "media" });
    await sql.end();
    // 640 a window: leases of up to 20 tokens (max/32), so a replica may hold 25 unspent.
    const limit = 640;
    const replicas = await Promise.all(
      [0, 1].map(() =>
        startShim(config({ REEL_RATE_LIMIT_KEY: String(limit), REEL_RATE_LIMIT_WINDOW_MS: "60000" }), {
          webhooks: false,
        }),
      ),
    );
    try {
      for (const r of replicas)
        await until("a replica to be healthy", async () => (await fetch(`http://127.0.0.1:${r.port}/api/health`)).ok);
      const statuses: number[] = [];
      let retryAfter = 0;
      // Waves of 40 concurrent GETs, alternating between the replicas, until 1,000 are sent.
      for (let wave = 0; wave < 25; wave++) {
        const got = await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const r = replicas[i % 2] as RunningShim;
            const res = await fetch(`http://127.0.0.1:${r.port}/api/v1/me`, {
              headers: { authorization: `Bearer ${key}` },
            });
            if (res.status === 429) retryAfter = Number(res.headers.get("retry-after"));
            await res.arrayBuffer();
            return res.status;
          }),
        );
        statuses.push(...got);
      }
      const ok = statuses.filter((s) => s === 200).length;
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(ok).toBeLessThanOrEqual(limit);
      expect(ok).toBeGreaterThanOrEqual(limit - 25);
      expect(retryAfter).toBeGreaterThan(0);
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });

  it("writes audit rows for job and key actions, which cannot be updated or deleted", async () => {
    const sql = connectPostgres(pg.url, 1);
    try {
      const rows = await sql<
        { action: string; result: string; actor: string; target: string; ip: string; trace_id: string }[]
      >`
        SELECT action, result, actor, target, ip, trace_id FROM audit_log ORDER BY id`;
      const seen = rows.map((r) => `${r.action} ${r.result} ${r.target}`);
      expect(seen).toContain("job.create ok media/season-1");
      expect(seen).toContain("job.cancel ok media/season-1");
      expect(seen).toContain("job.cancel denied media/season-1");
      expect(seen.some((s) => /^key\.create ok key:\w{8}$/.test(s))).toBe(true);
      expect(seen.some((s) => /^key\.revoke ok key:\w{8}$/.test(s))).toBe(true);
      const create = rows.find((r) => r.target === "media/season-1" && r.action === "job.create");
      expect(create).toMatchObject({ ip: "127.0.0.1", trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" });
      expect(create?.actor).toBe(`user:${olgaId} key:${(keys.olga as string).split("_")[1]}`);
      await expect(sql`UPDATE audit_log SET result = 'ok' WHERE result = 'denied'`).rejects.toThrow(/append-only/);
      await expect(sql`DELETE FROM audit_log`).rejects.toThrow(/append-only/);
      await expect(sql`TRUNCATE audit_log`).rejects.toThrow(/append-only/);
      expect((await sql`SELECT count(*)::int AS n FROM audit_log`)[0]?.n).toBe(rows.length);
    } finally {
      await sql.end();
    }
  });

  it("keeps finished jobs in the listing after their VideoJobs are deleted", async () => {
    await api("POST", "/api/v1/jobs", { key: "olga", body: { name: "done-1", spec: spec("done-1") } });
    await setStatus("media", "done-1", { phase: "Completed", progress: 100, completedAt: new Date().toISOString() });
    await until(
      "done-1 completed in the cache",
      async () => (await api("GET", "/api/v1/jobs/done-1/status", { key: "vera" })).body.phase === "Completed",
    );
    await kubectl(["-n", "media", "delete", "videojob", "done-1", "--wait=true"]);
    const fromHistory = await until("done-1 served from history", async () => {
      const r = await api("GET", "/api/v1/jobs/done-1", { key: "vera" });
      return r.status === 200 &&
        !JSON.parse(await kubectl(["-n", "media", "get", "videojobs", "-o", "json"])).items.some(
          (i: { metadata: { name: string } }) => i.metadata.name === "done-1",
        )
        ? r
        : undefined;
    });
    expect(fromHistory.body).toMatchObject({ id: "done-1", status: { phase: "Completed" }, tags: ["drama"] });
    const listed = await api("GET", "/api/v1/jobs?phase=Completed", { key: "vera" });
    expect(listed.body.items.map((j: { id: string }) => j.id)).toEqual(["done-1"]);
    expect((await api("POST", "/api/v1/jobs/done-1/cancel", { key: "olga" })).body.error.code).toBe(
      "REEL_JOB_FINISHED",
    );
    // Pages: limit 2 walks every job once, newest first.
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api("GET", `/api/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { key: "vera" });
      all.push(...page.body.items.map((j: { id: string }) => j.id));
      cursor = page.body.next;
    } while (cursor);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain("done-1");
    expect(all).toContain("season-1");
  });

  it("keeps a job deleted and created again under the same name as two jobs, the older addressed by uid", async () => {
    const first = await api("POST", "/api/v1/jobs", { key: "olga", body: { name: "again-1", spec: spec("again-1") } });
    const oldUid = first.body.uid as string;
    expect(oldUid).toMatch(/^[0-9a-f-]{36}$/);
    await setStatus("media", "again-1", { phase: "Completed", progress: 100, completedAt: new Date().toISOString() });
    await until(
      "again-1 completed in the cache",
      async () => (await api("GET", "/api/v1/jobs/again-1/status", { key: "vera" })).body.phase === "Completed",
    );
    await kubectl(["-n", "media", "delete", "videojob", "again-1", "--wait=true"]);
    await until("again-1 gone from the cache", async () => {
      const r = await api("GET", "/api/v1/jobs/again-1", { key: "vera" });
      return r.status === 200 && r.body.deletedAt !== undefined;
    });
    const second = await api("POST", "/api/v1/jobs", {
      key: "olga",
      body: { name: "again-1", spec: spec("again-1", { tags: ["second"] }) },
    });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    const newUid = second.body.uid as string;
    expect(newUid).not.toBe(oldUid);
    await setStatus("media", "again-1", { phase: "Downloading", progress: 10 });

    // The listing has both runs; the older comes from history, finished and deleted.
    const listed = await until("both runs listed", async () => {
      const r = await api("GET", "/api/v1/jobs?limit=200", { key: "vera" });
      const runs = r.body.items.filter((j: { id: string }) => j.id === "again-1");
      return runs.length === 2 && runs.some((j: { phase?: string }) => j.phase === "Downloading") ? runs : undefined;
    });
    const byUid = Object.fromEntries(listed.map((j: { uid: string }) => [j.uid, j]));
    expect(byUid[newUid]).toMatchObject({ phase: "Downloading", tags: ["second"] });
    expect(byUid[newUid].deletedAt).toBeUndefined();
    expect(byUid[oldUid]).toMatchObject({ phase: "Completed", tags: ["drama"] });
    expect(byUid[oldUid].deletedAt).toEqual(expect.any(String));
    // Pages of one item walk both runs once each (the uid breaks ties of name and second).
    const walked: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api("GET", `/api/v1/jobs?limit=1${cursor ? `&cursor=${cursor}` : ""}`, { key: "vera" });
      walked.push(...page.body.items.map((j: { id: string; uid: string }) => `${j.id}/${j.uid}`));
      cursor = page.body.next;
    } while (cursor);
    expect(new Set(walked).size).toBe(walked.length);
    expect(walked).toEqual(expect.arrayContaining([`again-1/${oldUid}`, `again-1/${newUid}`]));

    // The name is the live run; a uid is that run, live or from history.
    expect((await api("GET", "/api/v1/jobs/again-1", { key: "vera" })).body).toMatchObject({ uid: newUid });
    expect((await api("GET", `/api/v1/jobs/${newUid}`, { key: "vera" })).body).toMatchObject({ uid: newUid });
    const old = await api("GET", `/api/v1/jobs/${oldUid}`, { key: "vera" });
    expect(old.body).toMatchObject({ id: "again-1", uid: oldUid, status: { phase: "Completed" } });
    expect((await api("GET", `/api/v1/jobs/${oldUid}/status`, { key: "vera" })).body.phase).toBe("Completed");
    expect((await api("POST", `/api/v1/jobs/${oldUid}/cancel`, { key: "olga" })).body.error.code).toBe(
      "REEL_JOB_FINISHED",
    );
    expect((await api("GET", `/api/v1/jobs/${oldUid}`, { key: "bob" })).status).toBe(404);

    // The second run finishing and being deleted leaves the first's row as it was.
    await setStatus("media", "again-1", { phase: "Failed", completedAt: new Date().toISOString() });
    await kubectl(["-n", "media", "delete", "videojob", "again-1", "--wait=true"]);
    const sql = connectPostgres(pg.url, 1);
    try {
      const rows = await until("two history rows", async () => {
        const r = await sql<{ uid: string; phase: string; deleted: boolean }[]>`
          SELECT uid, phase, deleted_at IS NOT NULL AS deleted FROM job_history WHERE name = 'again-1'`;
        return r.length === 2 && r.every((x) => x.deleted) ? r : undefined;
      });
      expect(Object.fromEntries(rows.map((r) => [r.uid, r.phase]))).toEqual({
        [oldUid]: "Completed",
        [newUid]: "Failed",
      });
    } finally {
      await sql.end();
    }
    // With no live run, the name is the newest run.
    expect((await api("GET", "/api/v1/jobs/again-1", { key: "vera" })).body).toMatchObject({ uid: newUid });
  });

  it("migrates job_history rows keyed by namespace/name to rows keyed by uid (0004)", async () => {
    const admin = connectPostgres(pg.url, 1);
    const mdir = await mkdtemp(join(tmpdir(), "reel-mig-"));
    try {
      await admin`DROP DATABASE IF EXISTS reel_mig`;
      await admin`CREATE DATABASE reel_mig`;
      const url = new URL(pg.url);
      url.pathname = "/reel_mig";
      const sql = connectPostgres(url.toString(), 1);
      try {
        const all = await readMigrations();
        for (const m of all.filter((x) => x.version < "0004")) await writeFile(join(mdir, m.name), m.sql);
        await migrate(sql, mdir);
        await sql`INSERT INTO job_history (namespace, name, uid, created_at, finished_at, phase, spec)
          VALUES ('media', 'a', '6f1c2a51-0d5e-4a4e-9b57-6a4f1e1d2c3b', now(), now(), 'Completed', '{}'),
                 ('media', 'b', NULL, now(), NULL, 'Failed', '{}')`;
        // 0004 and every later migration apply on top of 0001–0003 (later ones must not touch these rows).
        expect(await migrate(sql)).toEqual(all.filter((x) => x.version >= "0004").map((x) => x.name));
        const rows = await sql<{ name: string; uid: string; phase: string }[]>`
          SELECT name, uid, phase FROM job_history ORDER BY name`;
        expect(rows).toEqual([
          { name: "a", uid: "6f1c2a51-0d5e-4a4e-9b57-6a4f1e1d2c3b", phase: "Completed" },
          { name: "b", uid: expect.stringMatching(/^legacy-[0-9a-f]{32}$/), phase: "Failed" },
        ]);
        // A second run of name a is now a row of its own.
        await sql`INSERT INTO job_history (namespace, name, uid, created_at, phase, spec)
          VALUES ('media', 'a', '0a7d9e0e-1111-4c4c-8d8d-222233334444', now(), 'Running', '{}')`;
        expect((await sql`SELECT count(*)::int AS n FROM job_history WHERE name = 'a'`)[0]?.n).toBe(2);
      } finally {
        await sql.end();
      }
      await admin`DROP DATABASE reel_mig`;
    } finally {
      await admin.end();
      await rm(mdir, { recursive: true, force: true });
    }
  });

  it("answers a fresh link to a stored file whose status URL expired, that downloads its bytes from S3, live and from history", async () => {
    const client = new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const key = "dl-1/Episode 1.mp4";
    const bytes = Buffer.from(`not really a video ${"x".repeat(1000)}`);
    await client.send(new CreateBucketCommand({ Bucket: "videos" }));
    await client.send(new PutObjectCommand({ Bucket: "videos", Key: key, Body: bytes, ContentType: "video/mp4" }));
    // The URL the worker wrote a day ago: signed then, for an hour.
    const stale = await getSignedUrl(client, new GetObjectCommand({ Bucket: "videos", Key: key }), {
      expiresIn: 3600,
      signingDate: new Date(Date.now() - 86_400_000),
    });
    client.destroy();
    expect((await fetch(stale)).status).toBe(403);
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "dl-creds", namespace: "media" },
      stringData: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    };
    await kubectl(["apply", "-f", "-"], JSON.stringify(secret));
    const created = await api("POST", "/api/v1/jobs", {
      key: "olga",
      body: {
        name: "dl-1",
        spec: spec("dl-1", {
          merge: { enabled: false },
          output: {
            s3: {
              bucket: "videos",
              prefix: "dl-1/",
              endpoint: s3.endpoint,
              credentialsSecret: "dl-creds",
              urlExpiry: "2h",
            },
          },
        }),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await setStatus("media", "dl-1", {
      phase: "Completed",
      progress: 100,
      completedAt: new Date().toISOString(),
      outputs: [
        {
          location: `s3://videos/${key}`,
          url: stale,
          urlExpiresAt: new Date(Date.now() - 82_800_000).toISOString(),
          sizeBytes: bytes.length,
          episode: 0,
        },
        { location: "s3://videos/dl-1/Two.mp4", episode: 1, expiredAt: new Date().toISOString() },
        { location: "pvc://media-out/dl-1/Two.mp4", episode: 1 },
      ],
    });
    await until(
      "dl-1 completed in the cache",
      async () => (await api("GET", "/api/v1/jobs/dl-1/status", { key: "vera" })).body.phase === "Completed",
    );

    const download = async (id: string, n: number, who = "vera", headers: Record<string, string> = {}) =>
      fetch(`${base}/api/v1/jobs/${id}/outputs/${n}/download`, {
        headers: { authorization: `Bearer ${keys[who]}`, ...headers },
        redirect: "manual",
      });
    const fresh = async (id: string) => {
      const r = await download(id, 0);
      expect(r.status, await r.clone().text()).toBe(302);
      expect(r.headers.get("cache-control")).toBe("no-store");
      const location = r.headers.get("location") ?? "";
      expect(location.startsWith(`${s3.endpoint}/videos/dl-1/Episode%201.mp4?`)).toBe(true);
      expect(new URL(location).searchParams.get("X-Amz-Expires")).toBe("7200");
      const got = await fetch(location);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
      expect(got.headers.get("content-disposition")).toBe(attachment(key));
    };
    await fresh("dl-1");
    // The dashboard asks for the link as JSON.
    const asJson = await api("GET", "/api/v1/jobs/dl-1/outputs/0/download", {
      key: "vera",
      headers: { accept: "application/json" },
    });
    expect(asJson.status).toBe(200);
    expect(asJson.body.url).toContain("X-Amz-Signature=");
    expect(Date.parse(asJson.body.expiresAt) - Date.now()).toBeGreaterThan(7100_000);
    // A client that follows redirects (fetch drops the Authorization header on the way to S3) gets the bytes.
    const followed = await fetch(`${base}/api/v1/jobs/dl-1/outputs/0/download`, {
      headers: { authorization: `Bearer ${keys.vera}` },
    });
    expect(Buffer.from(await followed.arrayBuffer()).equals(bytes)).toBe(true);

    const refused = async (id: string, n: number, who: string) => {
      const r = await download(id, n, who);
      return [r.status, ((await r.json()) as { error: { code: string } }).error.code];
    };
    expect(await refused("dl-1", 3, "vera")).toEqual([404, "REEL_NOT_FOUND"]);
    expect(await refused("dl-1", 1, "vera")).toEqual([410, "REEL_OUTPUT_EXPIRED"]);
    expect(await refused("dl-1", 2, "vera")).toEqual([409, "REEL_OUTPUT_ON_VOLUME"]);
    expect(await refused("dl-1", 0, "bob")).toEqual([404, "REEL_JOB_NOT_FOUND"]);
    expect((await download("dl-1", 0, "nobody")).status).toBe(401);

    // With the installation's public base URL, the link is <base>/<key>.
    const publicShim = await startShim(config({ REEL_OUTPUT_PUBLIC_BASE_URL: `${s3.endpoint}/videos` }), {
      webhooks: false,
    });
    try {
      const at = `http://127.0.0.1:${publicShim.port}/api/v1/jobs/dl-1/outputs/0/download`;
      const r = await until("the second shim to serve dl-1", async () => {
        const res = await fetch(at, { headers: { authorization: `Bearer ${keys.vera}` }, redirect: "manual" });
        return res.status === 302 ? res : undefined;
      });
      expect(r.headers.get("location")).toBe(`${s3.endpoint}/videos/dl-1/Episode%201.mp4`);
    } finally {
      await publicShim.stop();
    }

    // The VideoJob deleted: the job is served from history, and so is its link, by name and by uid.
    await kubectl(["-n", "media", "delete", "videojob", "dl-1", "--wait=true"]);
    await until("dl-1 served from history", async () => {
      const r = await api("GET", "/api/v1/jobs/dl-1", { key: "vera" });
      return r.status === 200 && r.body.deletedAt !== undefined;
    });
    await fresh("dl-1");
    await fresh(created.body.uid);
    expect(await refused(created.body.uid, 0, "bob")).toEqual([404, "REEL_JOB_NOT_FOUND"]);

    const sql = connectPostgres(pg.url, 1);
    try {
      const rows = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_log
        WHERE action = 'job.download' AND result = 'ok' AND target = 'media/dl-1'`;
      // Links given out: three redirects, the JSON answer, the followed one and the public one.
      expect(rows[0]?.n).toBe(6);
    } finally {
      await sql.end();
    }
  });

  it("answers an output's seek-thumbnail index with fresh sheet links, dropping cues that name any other key", async () => {
    const client = new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    // A real sheet: two 160x90 tiles side by side, made with ffmpeg.
    const sheetFile = join(dir, "th-sheet.jpg");
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc=s=320x90", "-frames:v", "1", "-y", sheetFile]);
    const sheet = await readFile(sheetFile);
    const put = (Key: string, Body: Buffer | string) =>
      client.send(new PutObjectCommand({ Bucket: "thumbs", Key, Body }));
    await client.send(new CreateBucketCommand({ Bucket: "thumbs" }));
    await put("th-1/Season 1.mp4", "the output itself");
    await put("th-1/Season 1-thumbs-001.jpg", sheet);
    await put("th-1/other-thumbs-001.jpg", "another job's sheet");
    await put(
      "th-1/Season 1-thumbs.vtt",
      [
        "WEBVTT",
        "00:00:00.000 --> 00:00:02.000\nSeason 1-thumbs-001.jpg#xywh=0,0,160,90",
        "00:00:02.000 --> 00:00:04.000\nSeason 1-thumbs-001.jpg#xywh=160,0,160,90",
        // Forged cues: keys the status does not name, beside the index or above it.
        "00:00:04.000 --> 00:00:06.000\nSeason 1.mp4#xywh=0,0,160,90",
        "00:00:06.000 --> 00:00:08.000\nother-thumbs-001.jpg#xywh=0,0,160,90",
        "00:00:08.000 --> 00:00:10.000\n../dl-1/Episode 1.mp4#xywh=0,0,160,90",
        "00:00:10.000 --> 00:00:12.000\nSeason 1-thumbs-002.jpg#xywh=0,0,160,90",
        "",
      ].join("\n\n"),
    );
    await put("th-1/big-thumbs.vtt", `WEBVTT\n\n${"x".repeat(1024 * 1024)}`);
    client.destroy();
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "th-creds", namespace: "media" } };
    const data = { stringData: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
    await kubectl(["apply", "-f", "-"], JSON.stringify({ ...secret, ...data }));
    const s3out = { bucket: "thumbs", prefix: "th-1/", endpoint: s3.endpoint, credentialsSecret: "th-creds" };
    const created = await api("POST", "/api/v1/jobs", {
      key: "olga",
      body: { name: "th-1", spec: spec("th-1", { merge: { enabled: false }, output: { s3: s3out } }) },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await setStatus("media", "th-1", {
      phase: "Completed",
      progress: 100,
      completedAt: new Date().toISOString(),
      outputs: [
        {
          location: "s3://thumbs/th-1/Season 1.mp4",
          thumbnails: { vtt: "s3://thumbs/th-1/Season 1-thumbs.vtt", sheets: 1 },
        },
        { location: "s3://thumbs/th-1/Two.mp4", episode: 1 },
        { location: "s3://thumbs/th-1/big.mp4", thumbnails: { vtt: "s3://thumbs/th-1/big-thumbs.vtt", sheets: 1 } },
      ],
    });
    await until(
      "th-1 completed in the cache",
      async () => (await api("GET", "/api/v1/jobs/th-1/status", { key: "vera" })).body.phase === "Completed",
    );

    const vtt = (n: number, who = "vera", at = base) =>
      fetch(`${at}/api/v1/jobs/th-1/outputs/${n}/thumbnails.vtt`, {
        headers: { authorization: `Bearer ${keys[who]}` },
      });
    const r = await vtt(0);
    const text = await r.text();
    expect(r.status, text).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/vtt; charset=utf-8");
    expect(r.headers.get("cache-control")).toBe("no-store");
    const cues = text.split("\n\n").slice(1);
    expect(text.startsWith("WEBVTT\n\n")).toBe(true);
    expect(cues.map((c) => c.split("\n")[0])).toEqual([
      "00:00:00.000 --> 00:00:02.000",
      "00:00:02.000 --> 00:00:04.000",
    ]);
    const links = cues.map((c) => c.split("\n")[1] ?? "");
    expect(links.map((l) => l.slice(l.indexOf("#")))).toEqual(["#xywh=0,0,160,90", "#xywh=160,0,160,90"]);
    for (const link of links) {
      const url = link.slice(0, link.indexOf("#"));
      expect(url.startsWith(`${s3.endpoint}/thumbs/th-1/Season%201-thumbs-001.jpg?`)).toBe(true);
      expect(new URL(url).searchParams.get("X-Amz-Signature")).toBeTruthy();
      const got = await fetch(url);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(sheet)).toBe(true);
    }
    expect(text).not.toContain("mp4");
    expect(text).not.toContain("other-thumbs");

    const refused = async (n: number, who: string) => {
      const res = await vtt(n, who);
      return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    };
    expect(await refused(1, "vera")).toEqual([404, "REEL_NOT_FOUND"]);
    expect(await refused(2, "vera")).toEqual([502, "REEL_MEDIA_LIMITS"]);
    expect(await refused(0, "bob")).toEqual([404, "REEL_JOB_NOT_FOUND"]);
    expect((await vtt(0, "nobody")).status).toBe(401);

    // With the installation's public base URL, the sheets are <base>/<key>; the index is still read with the job's keys.
    const publicShim = await startShim(config({ REEL_OUTPUT_PUBLIC_BASE_URL: `${s3.endpoint}/thumbs` }), {
      webhooks: false,
    });
    try {
      const at = `http://127.0.0.1:${publicShim.port}`;
      const pub = await until("the second shim to serve th-1", async () => {
        const res = await vtt(0, "vera", at);
        return res.status === 200 ? res.text() : undefined;
      });
      expect(pub).toContain(`\n${s3.endpoint}/thumbs/th-1/Season%201-thumbs-001.jpg#xywh=160,0,160,90`);
    } finally {
      await publicShim.stop();
    }
    const sql = connectPostgres(pg.url, 1);
    try {
      const rows = await sql<{ detail: { cues: number; dropped: number } }[]>`SELECT detail FROM audit_log
        WHERE action = 'job.thumbnails' AND result = 'ok' AND target = 'media/th-1' ORDER BY id LIMIT 1`;
      expect(rows[0]?.detail).toMatchObject({ output: 0, cues: 2, dropped: 4 });
    } finally {
      await sql.end();
    }
  });

  it("serves health, Prometheus metrics, the OpenAPI document and the dashboard", async () => {
    const h = await api("GET", "/api/health");
    expect(h.body).toEqual({ status: "ok", checks: { postgres: "ok", redis: "ok", kubernetes: "ok" } });
    const m = await (await fetch(`${base}/api/metrics`)).text();
    expect(m).toMatch(/reel_shim_http_requests_total\{route="\/api\/health",method="GET",status="200"\} \d+/);
    expect(m).toContain("reel_shim_http_request_duration_seconds_bucket");
    expect(m).toContain("reel_shim_sse_clients");
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect((await api("GET", "/api/v1/nothing-here", { key: "vera" })).body.error.code).toBe("REEL_NOT_FOUND");
    const doc = (await api("GET", "/api/openapi.json")).body;
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/jobs",
        "/api/v1/jobs/{id}/events",
        "/api/v1/jobs/{id}/outputs/{n}/download",
        "/api/v1/jobs/{id}/outputs/{n}/thumbnails.vtt",
        "/api/v1/keys",
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Job", "JobEvent", "OutputLink"]));
    expect(doc.components.schemas.CreateJobInput.additionalProperties).toBe(false);
    expect(doc.components.schemas.CreateJobInput.properties.spec.properties.cancel).toBeUndefined();
  });
});

describe.skipIf(!built)("the shim when PostgreSQL is down at start", () => {
  it("starts anyway, answers 503 naming postgres on /api/health, and becomes healthy once PostgreSQL starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reel-shim-pgdown-"));
    const cluster = await clusterUp({ level: 2, dir: join(dir, "cluster") });
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    process.env.KUBECONFIG = cluster.kubeconfig;
    await cluster.kubectl(["apply", "--server-side", "-f", crd]);
    await pg.halt();
    let shim: RunningShim | undefined;
    try {
      shim = await startShim(
        parseConfig({
          REEL_SHIM_PORT: "0",
          REEL_SHIM_HOST: "127.0.0.1",
          DATABASE_URL: pg.url,
          REEL_REDIS_URL: redis.url,
          LOG_LEVEL: "silent",
        }),
        { webhooks: false },
      );
      const base = `http://127.0.0.1:${shim.port}`;
      type Health = { checks: Record<string, string>; error: { code: string; message: string } };
      // Redis and the watch come up in a moment; PostgreSQL stays down.
      const body = await until("only postgres failing", async () => {
        const r = await fetch(`${base}/api/health`);
        const b = (await r.json()) as Health;
        return r.status === 503 && b.checks.redis === "ok" && b.checks.kubernetes === "ok" ? b : undefined;
      });
      expect(body.checks.postgres).toMatch(/^failing/);
      expect(body.checks.redis).toBe("ok");
      expect(body.error).toMatchObject({ code: "REEL_UNAVAILABLE", message: "postgres is not reachable" });
      const call = await fetch(`${base}/api/v1/me`, {
        headers: { authorization: "Bearer reel_abcdefgh_0123456789abcdef0123456789abcdef" },
      });
      expect(call.status).toBe(503);
      await new Promise((r) => setTimeout(r, 1500)); // a few failed attempts, and still up
      await pg.start();
      await until("health 200", async () => (await fetch(`${base}/api/health`)).status === 200, 30_000, 250);
    } finally {
      await shim?.stop();
      await Promise.allSettled([cluster.down(), pg.stop(), redis.stop()]);
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
