// The hostile-input suite, the REST shim (issue #13): two shim replicas on one PostgreSQL, one Redis
// and the L2 control plane, tried as an attacker would — streams that outlive the access that
// opened them, an anonymous health flood, audit rows forged through a JWT's name, NUL bytes in ids
// and filters, ?access_token= on routes other than the WebSocket, and the weak spots after them.
import { request } from "node:http";
import { connect } from "node:net";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Config } from "../../api-shim/src/config.ts";
import { connectPostgres } from "../../api-shim/src/db/database.ts";
import { type RunningShim, startShim } from "../../api-shim/src/main.ts";
import {
  type ShimServices,
  seedUsers,
  shimUrl,
  startShimServices,
  writeJwks,
} from "../../api-shim/src/testing/services.ts";
import { k8sBinariesBuilt } from "../cluster/cluster.ts";
import type { PostgresServer } from "../src/services/postgres.ts";
import type { RedisServer } from "../src/services/redis.ts";
import { until } from "../src/until.ts";

const built = k8sBinariesBuilt();
const ISS = "https://id.example.com";
const AUD = "reel-api";

const spec = (name: string) => ({
  episodes: [{ url: `https://cdn.example.com/${name}/0.mp4` }],
  gpu: { policy: "off" },
  output: { s3: { bucket: "videos", prefix: `${name}/`, credentialsSecret: "s3-creds" } },
});

// biome-ignore lint/suspicious/noExplicitAny: answers are checked by shape
type Answer = { status: number; body: any; headers: Headers };

async function call(
  base: string,
  method: string,
  path: string,
  o: { cred?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(o.cred ? { authorization: `Bearer ${o.cred}` } : {}),
      ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
      ...o.headers,
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, headers: res.headers };
}

/** A raw HTTP/1.1 request (fetch may not send Upgrade or Connection): status and body. */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    // A real upgrade that the server accepts (it should not) answers 101 on the 'upgrade' event.
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: "" });
    });
    // An upgraded POST whose body the server never reads would hang: it counts as no answer.
    req.setTimeout(5000, () => {
      req.destroy();
      resolve({ status: 0, body: "no answer in 5 s" });
    });
    req.on("error", (e) => resolve({ status: -1, body: `${method} ${path}: ${e.message}` }));
    req.end(body);
  });
}

interface Block {
  event: string;
  data: string;
}

/** An SSE client over fetch: every block with its event name, and whether the server ended it. */
function sse(url: string, cred: string) {
  const ctl = new AbortController();
  const blocks: Block[] = [];
  const s = { blocks, status: 0, ended: false };
  const done = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${cred}` }, signal: ctl.signal });
    s.status = res.status;
    if (!res.ok || !res.body) return;
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += dec.decode(chunk as Uint8Array, { stream: true });
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const lines = buf.slice(0, i).split("\n");
        buf = buf.slice(i + 2);
        const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
        if (!data.length) continue;
        const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message";
        blocks.push({ event, data: data.join("\n") });
      }
    }
    s.ended = true;
  })().catch(() => {});
  const close = () => {
    ctl.abort();
    return done;
  };
  return { s, close };
}

/** A WebSocket with its messages and, once closed, the close code and reason. */
async function ws(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, { headers });
  const got: string[] = [];
  const closed: { code?: number; reason?: string } = {};
  socket.on("message", (m) => got.push(String(m)));
  socket.on("close", (code, reason) => {
    closed.code = code;
    closed.reason = String(reason);
  });
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return { socket, got, closed };
}

describe.skipIf(!built)("the REST shim, tried as an attacker (two replicas, PostgreSQL, Redis, L2)", () => {
  let svc: ShimServices;
  let pg: PostgresServer;
  let redis: RedisServer;
  let a: RunningShim;
  let b: RunningShim;
  let A: string;
  let B: string;
  let signer: CryptoKey;
  let config: Config;
  const keys: Record<string, string> = {};
  const ids: Record<string, number> = {};
  const kubectl = (args: string[]) => svc.kubectl(args);
  const setStatus = (name: string, status: Record<string, unknown>) => svc.setStatus("media", name, status);
  const jwt = (claims: Record<string, unknown>, o: { exp?: number; iat?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: ISS, aud: AUD, ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuedAt(o.iat ?? now)
      .setExpirationTime(o.exp ?? now + 300)
      .sign(signer);
  };
  const sqlQuery = async <T>(fn: (sql: ReturnType<typeof connectPostgres>) => Promise<T>): Promise<T> => {
    const sql = connectPostgres(pg.url, 1);
    try {
      return await fn(sql);
    } finally {
      await sql.end();
    }
  };
  /** A new key for user `userId` (made by alice, an admin), and its id. */
  const newKey = async (userId: number, scopes?: string[]) => {
    const r = await call(A, "POST", "/api/v1/keys", {
      cred: keys.alice,
      body: { name: "hostile", userId, ...(scopes ? { scopes } : {}) },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return { key: r.body.key as string, id: r.body.id as string };
  };
  const createJob = async (name: string) => {
    const r = await call(A, "POST", "/api/v1/jobs", { cred: keys.olga, body: { name, spec: spec(name) } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await until(`both replicas to serve ${name}`, async () => {
      const got = await Promise.all(
        [A, B].map((base) => call(base, "GET", `/api/v1/jobs/${name}`, { cred: keys.vera })),
      );
      return got.every((g) => g.status === 200);
    });
  };

  beforeAll(async () => {
    svc = await startShimServices({ prefix: "reel-hostile-shim-", namespaces: ["media"] });
    ({ pg, redis } = svc);
    await kubectl(["-n", "media", "create", "secret", "generic", "hook-weak", "--from-literal=secret=whsec_c2hvcnQ="]);
    const jwks = await writeJwks(svc.dir);
    signer = jwks.signer;
    const users = await seedUsers(pg.url, {
      alice: { role: "admin", tenant: "media" },
      olga: { role: "operator", tenant: "media" },
      vera: { role: "viewer", tenant: "media" },
      dora: { role: "viewer", tenant: "media" },
    });
    for (const [name, u] of Object.entries(users)) {
      keys[name] = u.key;
      ids[name] = u.userId;
    }
    config = svc.config({
      REEL_JWT_ISSUER: ISS,
      REEL_JWT_AUDIENCE: AUD,
      REEL_JWT_JWKS_FILE: jwks.path,
      REEL_SSE_HEARTBEAT_MS: "1000",
      REEL_RATE_LIMIT_IP: "100000",
      REEL_RATE_LIMIT_KEY: "100000",
      REEL_STREAMS_PER_CREDENTIAL: "4",
      REEL_REQUEST_TIMEOUT_MS: "2000",
      // Webhook receivers may be on 127.0.0.2 (nobody listens there: deliveries just fail).
      REEL_EGRESS_ALLOW: "127.0.0.2/32",
      LOG_LEVEL: "silent",
    });
    // A with the real webhook sender (its registration checks), B without.
    [a, b] = await Promise.all([svc.startShim(config, {}), svc.startShim(config)]);
    [A, B] = [shimUrl(a), shimUrl(b)];
  }, 180_000);

  afterAll(async () => {
    await svc?.close();
  });

  describe("defect 1: streams end when the access that opened them ends, on every replica", () => {
    it("ends an SSE and a WebSocket stream on replica B within 3 s of the key's revocation through replica A", async () => {
      await createJob("rev-key");
      const k = await newKey(ids.vera as number, ["jobs:read"]);
      const stream = sse(`${B}/api/v1/jobs/rev-key/events`, k.key);
      const socket = await ws(`${B.replace("http", "ws")}/api/v1/jobs/rev-key/ws`, {
        authorization: `Bearer ${k.key}`,
      });
      await until("both snapshots", async () => stream.s.blocks.length >= 1 && socket.got.length >= 1);
      const revoked = await call(A, "DELETE", `/api/v1/keys/${k.id}`, { cred: keys.alice });
      expect(revoked.status).toBe(204);
      const t0 = Date.now();
      await until("the SSE stream to end", async () => stream.s.ended, 3000, 20);
      await until("the WebSocket to close", async () => socket.closed.code !== undefined, 3000, 20);
      const last = stream.s.blocks.at(-1) as Block;
      expect(last.event).toBe("closed");
      expect(JSON.parse(last.data).error.code).toBe("REEL_AUTH_INVALID");
      expect(socket.closed.code).toBe(4401);
      expect(socket.closed.reason).toMatch(/revoked/);
      // Nothing after the revocation reaches anyone: a phase change now is not delivered.
      const blocks = stream.s.blocks.length;
      await setStatus("rev-key", { phase: "Downloading", progress: 5 });
      await new Promise((r) => setTimeout(r, 500));
      expect(stream.s.blocks.length).toBe(blocks);
      expect(Date.now() - t0).toBeLessThan(5000);
      await stream.close();
    });

    it("ends a user's streams on replica B when an admin takes them out of the tenant through replica A", async () => {
      await createJob("rev-user");
      const stream = sse(`${B}/api/v1/jobs/rev-user/events`, keys.dora as string);
      await until("the snapshot", async () => stream.s.blocks.length >= 1);
      const moved = await call(A, "PATCH", `/api/v1/admin/users/${ids.dora}`, {
        cred: keys.alice,
        body: { tenant: null },
      });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
      await until("the SSE stream to end", async () => stream.s.ended, 3000, 20);
      const last = stream.s.blocks.at(-1) as Block;
      expect(last.event).toBe("closed");
      expect(JSON.parse(last.data).error.code).toBe("REEL_FORBIDDEN");
      await stream.close();
      // A user whose role changes but keeps jobs:read keeps streaming: a change is re-checked, not a reason by itself.
      const vera = sse(`${B}/api/v1/jobs/rev-user/events`, keys.vera as string);
      await until("vera's snapshot", async () => vera.s.blocks.length >= 1);
      const promoted = await call(A, "PATCH", `/api/v1/admin/users/${ids.vera}`, {
        cred: keys.alice,
        body: { role: "operator" },
      });
      expect(promoted.status).toBe(200);
      await setStatus("rev-user", { phase: "Downloading", progress: 7 });
      await until("vera's phase event", async () => vera.s.blocks.some((x) => x.data.includes('"progress":7')));
      expect(vera.s.ended).toBe(false);
      await call(A, "PATCH", `/api/v1/admin/users/${ids.vera}`, { cred: keys.alice, body: { role: "viewer" } });
      await vera.close();
    });

    it("ends a JWT's stream when the token expires", async () => {
      await createJob("rev-jwt");
      const token = await jwt({ sub: "jane", name: "Jane" }, { exp: Math.floor(Date.now() / 1000) + 6 });
      const me = await call(B, "GET", "/api/v1/me", { cred: token });
      expect(me.status).toBe(200);
      await call(A, "PATCH", `/api/v1/admin/users/${me.body.id}`, { cred: keys.alice, body: { tenant: "media" } });
      await until(
        "B to see the new tenant",
        async () => (await call(B, "GET", "/api/v1/me", { cred: token })).body.namespace === "media",
      );
      const stream = sse(`${B}/api/v1/jobs/rev-jwt/events`, token);
      await until("the snapshot", async () => stream.s.blocks.length >= 1);
      await until("the stream to end at exp", async () => stream.s.ended, 10_000, 50);
      expect(JSON.parse((stream.s.blocks.at(-1) as Block).data).error.code).toBe("REEL_AUTH_INVALID");
      await stream.close();
    });
  });

  describe("defect 2: /api/health costs nothing an anonymous caller could abuse", () => {
    it("answers 200 probes from state it has: no apiserver call, at most one PostgreSQL and one Redis ping", async () => {
      const counted = { kube: 0, pg: 0, redis: 0 };
      const kube = a.deps.kube;
      const request = kube.request.bind(kube);
      const ping = a.deps.db.ping.bind(a.deps.db);
      const redisPing = a.deps.redis.ping.bind(a.deps.redis);
      kube.request = ((...args: Parameters<typeof request>) => {
        counted.kube++;
        return request(...args);
      }) as typeof kube.request;
      a.deps.db.ping = (ms?: number) => {
        counted.pg++;
        return ping(ms);
      };
      a.deps.redis.ping = (() => {
        counted.redis++;
        return redisPing();
      }) as typeof a.deps.redis.ping;
      try {
        // The job route alone, then under 40 concurrent probes the whole time (timings are printed).
        const create = async (name: string) => {
          const t = performance.now();
          const r = await call(A, "POST", "/api/v1/jobs", { cred: keys.olga, body: { name, spec: spec(name) } });
          expect(r.status).toBe(201);
          return performance.now() - t;
        };
        const quiet = await create("health-quiet");
        const before = { ...counted };
        let flooding = true;
        const flood = Array.from({ length: 40 }, async () => {
          let n = 0;
          while (flooding && n < 5) {
            const r = await fetch(`${A}/api/health`);
            expect(r.status).toBe(200);
            n++;
          }
        });
        const busy = await create("health-busy");
        flooding = false;
        await Promise.all(flood);
        console.log(
          `POST /api/v1/jobs: ${quiet.toFixed(1)} ms alone, ${busy.toFixed(1)} ms under 40 concurrent probes`,
        );
        // The one create made one apiserver call; the probes none.
        expect(counted.kube - before.kube).toBe(1);
        expect(counted.pg - before.pg).toBeLessThanOrEqual(1);
        expect(counted.redis - before.redis).toBeLessThanOrEqual(1);
      } finally {
        kube.request = request;
        a.deps.db.ping = ping;
        a.deps.redis.ping = redisPing;
      }
    });
  });

  describe("defect 3: audit actors no token can imitate", () => {
    it("records a JWT user named like alice's key as user id and credential, with the name cleaned and bounded", async () => {
      const olgaKeyId = (keys.olga as string).split("_")[1] as string;
      const forged = `olga (key ${olgaKeyId})\u001b[2J\r\nroot${"x".repeat(400)}`;
      const token = await jwt({ sub: "mallory", name: forged });
      const me = await call(A, "GET", "/api/v1/me", { cred: token });
      expect(me.status, JSON.stringify(me.body)).toBe(200);
      await call(A, "PATCH", `/api/v1/admin/users/${me.body.id}`, {
        cred: keys.alice,
        body: { role: "operator", tenant: "media" },
      });
      const byJwt = await call(A, "POST", "/api/v1/jobs", {
        cred: token,
        body: { name: "forged", spec: spec("forged") },
      });
      expect(byJwt.status, JSON.stringify(byJwt.body)).toBe(201);
      const byKey = await call(A, "POST", "/api/v1/jobs", {
        cred: keys.olga,
        body: { name: "genuine", spec: spec("genuine") },
      });
      expect(byKey.status).toBe(201);
      const rows = await sqlQuery(
        (sql) => sql<{ target: string; actor: string }[]>`
          SELECT target, actor FROM audit_log WHERE action = 'job.create' AND target IN ('media/forged', 'media/genuine')`,
      );
      const actor = (t: string) => rows.find((r) => r.target === t)?.actor as string;
      expect(actor("media/genuine")).toBe(`user:${ids.olga} key:${olgaKeyId}`);
      expect(actor("media/forged")).toBe(`user:${me.body.id} jwt`);
      const annotation = async (name: string) =>
        (await kubectl([
          "-n",
          "media",
          "get",
          "videojob",
          name,
          "-o",
          "jsonpath={.metadata.annotations.reel\\.dev/created-by}",
        ])) ?? "";
      expect((await annotation("forged")).trim()).toBe(`user:${me.body.id} jwt`);
      // The name kept for display: no control characters, at most 64 characters.
      expect(me.body.name).not.toMatch(/\p{Cc}/u);
      expect(me.body.name.length).toBeLessThanOrEqual(64);
    });

    it("refuses a JWT with an empty sub, an iat in the future, or a lifetime past the maximum token age", async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const [what, token] of [
        ["empty sub", await jwt({ sub: "" })],
        ["iat an hour ahead", await jwt({ sub: "time-traveller" }, { iat: now + 3600, exp: now + 7200 })],
        ["a ten-year lifetime", await jwt({ sub: "forever" }, { exp: now + 10 * 365 * 86400 })],
      ] as const) {
        const r = await call(A, "GET", "/api/v1/me", { cred: token });
        expect(r.status, what).toBe(401);
        expect(r.body.error.code, what).toBe("REEL_AUTH_INVALID");
      }
      const users = await sqlQuery(
        (sql) => sql`SELECT 1 FROM users WHERE subject IN ('', 'time-traveller', 'forever')`,
      );
      expect(users.length).toBe(0);
    });
  });

  describe("defect 4: NUL bytes and malformed ids are 400s before any lookup", () => {
    it.each([
      ["GET", "/api/v1/jobs/a%00b"],
      ["GET", "/api/v1/jobs/a%00b/status"],
      ["POST", "/api/v1/jobs/a%00b/cancel"],
      ["GET", "/api/v1/jobs/a%00b/outputs/0/download"],
      ["GET", "/api/v1/jobs/a%00b/events"],
      ["GET", `/api/v1/jobs/${"x".repeat(300)}`],
      ["GET", "/api/v1/jobs/Upper_Case"],
      ["DELETE", "/api/v1/keys/a%00bcdefg"],
      ["DELETE", "/api/v1/keys/short"],
      ["GET", "/api/v1/jobs?tag=a%00b"],
      ["GET", "/api/v1/jobs?phase=a%00b"],
      ["GET", "/api/v1/admin/users?tenant=a%00b"],
      ["PATCH", "/api/v1/admin/users/1%00"],
      ["POST", "/api/v1/keys"],
    ])("%s %s answers 400 REEL_INVALID_ARGUMENT without the database's words", async (method, path) => {
      const body =
        method === "POST" && path === "/api/v1/keys"
          ? { name: "a\u0000b" }
          : method === "PATCH"
            ? { role: "viewer" }
            : method === "POST"
              ? {}
              : undefined;
      const r = await call(A, method, path, { cred: keys.alice, ...(body ? { body } : {}) });
      // Fastify refuses a path parameter over its length limit itself: 414, in the same shape.
      expect(r.status, JSON.stringify(r.body)).toBe(path.length > 300 ? 414 : 400);
      expect(r.body.error.code).toBe("REEL_INVALID_ARGUMENT");
      expect(JSON.stringify(r.body)).not.toMatch(/UTF8|byte sequence|0x00|bug/i);
    });
  });

  describe("defect 5: ?access_token= on the WebSocket route only, with a real upgrade", () => {
    it("refuses a query token on key creation and the admin routes, upgrade header or not", async () => {
      const token = encodeURIComponent(keys.alice as string);
      const upgrade = {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      };
      // An Upgrade header alone (a plain request), and a real upgrade (Node's 'upgrade' event)
      // without a body, which the server would not read.
      for (const [headers, body] of [
        [{ upgrade: "websocket", "content-type": "application/json" }, JSON.stringify({ name: "via-query" })],
        [upgrade, undefined],
      ] as const) {
        const post = await raw(A, "POST", `/api/v1/keys?access_token=${token}`, headers, body);
        expect(post.status, post.body).toBe(401);
        const admin = await raw(A, "GET", `/api/v1/admin/users?access_token=${token}`, headers);
        expect(admin.status, admin.body).toBe(401);
      }
      // Not on the WebSocket route either without an upgrade ...
      const plain = await raw(A, "GET", `/api/v1/jobs/rev-key/ws?access_token=${token}`, { upgrade: "websocket" });
      expect(plain.status).toBe(401);
      // ... and with one it still works (browsers cannot set headers on a WebSocket).
      await createJob("ws-query");
      const s = await ws(
        `${A.replace("http", "ws")}/api/v1/jobs/ws-query/ws?access_token=${encodeURIComponent(keys.vera as string)}`,
      );
      await until("the snapshot", async () => s.got.length >= 1);
      s.socket.close();
      const keysMade = await sqlQuery((sql) => sql`SELECT 1 FROM api_keys WHERE name = 'via-query'`);
      expect(keysMade.length).toBe(0);
    });
  });

  describe("weak spots", () => {
    it("caps live streams per credential (SSE and WebSocket together) with 429, and frees a place when one closes", async () => {
      await createJob("cap");
      const k = await newKey(ids.vera as number, ["jobs:read"]);
      const open = [0, 1, 2].map(() => sse(`${B}/api/v1/jobs/cap/events`, k.key));
      const socket = await ws(`${B.replace("http", "ws")}/api/v1/jobs/cap/ws`, { authorization: `Bearer ${k.key}` });
      await until("four streams", async () => open.every((o) => o.s.blocks.length >= 1) && socket.got.length >= 1);
      const fifth = await call(B, "GET", "/api/v1/jobs/cap/events", { cred: k.key });
      expect(fifth.status).toBe(429);
      expect(fifth.body.error.code).toBe("REEL_RATE_LIMITED");
      // Another replica counts its own.
      const elsewhere = sse(`${A}/api/v1/jobs/cap/events`, k.key);
      await until("a stream on A", async () => elsewhere.s.blocks.length >= 1);
      await (open[0] as ReturnType<typeof sse>).close();
      const again = sse(`${B}/api/v1/jobs/cap/events`, k.key);
      await until("a place freed on B", async () => again.s.blocks.length >= 1);
      socket.socket.close();
      await Promise.all([...open.slice(1), elsewhere, again].map((o) => o.close()));
    });

    it("cuts off a request body sent a byte at a time with 408 in the REEL_* shape", async () => {
      const { port } = new URL(A);
      const started = Date.now();
      const answer = await new Promise<string>((resolve) => {
        const sock = connect(Number(port), "127.0.0.1");
        let got = "";
        sock.on("data", (d) => {
          got += d;
        });
        sock.on("close", () => resolve(got));
        sock.on("error", () => resolve(got));
        sock.write(
          `POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.olga}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
        );
        const drip = setInterval(() => sock.writable && sock.write(" "), 500);
        sock.on("close", () => clearInterval(drip));
        setTimeout(() => sock.destroy(), 15_000);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain('"code":"REEL_INVALID_ARGUMENT"');
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it("names no internal host or port in an anonymous 503, and logs the reason instead", async () => {
      const dead = `redis://127.0.0.1:${Number(new URL(redis.url).port) + 17}`;
      const c = await startShim({ ...config, REEL_REDIS_URL: dead }, { webhooks: false });
      try {
        const r = await until("a 503 naming redis", async () => {
          const x = await call(`http://127.0.0.1:${c.port}`, "GET", "/api/health");
          const { postgres, redis, kubernetes } = x.body.checks ?? {};
          const only = redis === "failing" && postgres === "ok" && kubernetes === "ok";
          return x.status === 503 && only ? x : undefined;
        });
        expect(r.body.error, JSON.stringify(r.body)).toMatchObject({
          code: "REEL_UNAVAILABLE",
          message: "redis is not reachable",
        });
        expect(JSON.stringify(r.body)).not.toMatch(/127\.0\.0\.1|:\d{2,5}\b|ECONNREFUSED/);
      } finally {
        await c.stop();
      }
    });

    it("answers a tenant mapped to a missing namespace with 409 REEL_TENANT_UNKNOWN in its own words", async () => {
      const made = await call(A, "POST", "/api/v1/admin/tenants", {
        cred: keys.alice,
        body: { name: "ghost", namespace: "ghost-ns" },
      });
      expect(made.status).toBe(201);
      const token = await jwt({ sub: "ghostwriter", name: "Ghost" });
      const me = await call(A, "GET", "/api/v1/me", { cred: token });
      await call(A, "PATCH", `/api/v1/admin/users/${me.body.id}`, {
        cred: keys.alice,
        body: { role: "operator", tenant: "ghost" },
      });
      const r = await call(A, "POST", "/api/v1/jobs", { cred: token, body: { name: "boo", spec: spec("boo") } });
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body.error.code).toBe("REEL_TENANT_UNKNOWN");
      expect(r.body.error.message).toContain("ghost-ns");
      expect(r.body.error.message).not.toMatch(/namespaces "ghost-ns" not found|https?:\/\//);
    });

    it("refuses tenants mapped to the cluster's own namespaces", async () => {
      for (const body of [
        { name: "sys", namespace: "kube-system" },
        { name: "default" },
        { name: "pub", namespace: "kube-public" },
        { name: "kube-anything" },
      ]) {
        const r = await call(A, "POST", "/api/v1/admin/tenants", { cred: keys.alice, body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.code).toBe("REEL_INVALID_ARGUMENT");
      }
    });

    it("refuses output.local and a volume path that leaves the volume", async () => {
      for (const output of [{ local: { path: "/etc" } }, { volume: { claimName: "media", path: "shows/../../etc" } }]) {
        const r = await call(A, "POST", "/api/v1/jobs", {
          cred: keys.olga,
          body: { name: "escape", spec: { ...spec("escape"), output } },
        });
        expect(r.status, JSON.stringify(output)).toBe(400);
        expect(r.body.error.code).toBe("REEL_JOB_INVALID");
      }
      expect(await kubectl(["-n", "media", "get", "videojobs", "-o", "name"])).not.toContain("escape");
    });

    it("checks webhooks without answering questions: no resolved address, one answer for any unusable secretRef, no URL credentials shown", async () => {
      const post = (name: string, webhook: Record<string, unknown>) =>
        call(A, "POST", "/api/v1/jobs", {
          cred: keys.olga,
          body: { name, spec: { ...spec(name), notification: { webhook } } },
        });
      const internal = await post("hook-dns", { url: "http://localhost:9/x" });
      expect(internal.status).toBe(400);
      expect(internal.body.error.code).toBe("REEL_EGRESS_DENIED");
      expect(internal.body.error.message).not.toMatch(/127\.0\.0\.1|::1|loopback/);
      const answers: string[] = [];
      for (const ref of [
        { name: "nothing-here", key: "secret" },
        { name: "hook-weak", key: "secret" },
        { name: "hook-weak", key: "other" },
      ]) {
        const r = await post("hook-ref", { url: "http://127.0.0.2:9/x", secretRef: ref });
        expect(r.status, JSON.stringify(r.body)).toBe(400);
        expect(r.body.error.code).toBe("REEL_WEBHOOK_INVALID");
        answers.push(r.body.error.message.replace(`${ref.name}/${ref.key}`, "REF"));
      }
      expect(new Set(answers).size, answers.join(" | ")).toBe(1);
      expect(answers[0]).not.toMatch(/\d+ bytes;|does not exist/);
      const made = await post("hook-creds", { url: "http://hookuser:hunter2pass@127.0.0.2:9/x?token=t0psecret" });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const read = await call(A, "GET", "/api/v1/jobs/hook-creds", { cred: keys.vera });
      const listed = await call(A, "GET", "/api/v1/jobs", { cred: keys.vera });
      for (const r of [made, read, listed])
        expect(JSON.stringify(r.body)).not.toMatch(/hunter2pass|t0psecret|hookuser/);
      expect(read.body.spec.notification.webhook.url).toBe("http://127.0.0.2:9/x?…");
    });

    it("refuses priority high (PriorityClass reel-high) to a tenant not allowed it", async () => {
      const r = await call(A, "POST", "/api/v1/jobs", {
        cred: keys.olga,
        body: { name: "vip", spec: { ...spec("vip"), priority: "high" } },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      expect(r.body.error.code).toBe("REEL_FORBIDDEN");
      expect(r.body.error.details).toEqual([{ path: "spec.priority", message: "high is not allowed for this tenant" }]);
      const normal = await call(A, "POST", "/api/v1/jobs", {
        cred: keys.olga,
        body: { name: "vip", spec: { ...spec("vip"), priority: "normal" } },
      });
      expect(normal.status).toBe(201);
    });

    it("lists summaries by default: a 500-episode job's row without its spec, a small fraction of the full page (20 jobs at most)", async () => {
      const episodes = Array.from({ length: 500 }, (_, i) => ({
        url: `https://cdn.example.com/long/${i}.mp4`,
        title: `Episode ${i}`,
      }));
      const made = await call(A, "POST", "/api/v1/jobs", {
        cred: keys.olga,
        body: { name: "long", spec: { ...spec("long"), episodes } },
      });
      expect(made.status, JSON.stringify(made.body).slice(0, 300)).toBe(201);
      const full = await fetch(`${A}/api/v1/jobs?tag=&view=full`, {
        headers: { authorization: `Bearer ${keys.vera}` },
      });
      const summary = await fetch(`${A}/api/v1/jobs?limit=200`, {
        headers: { authorization: `Bearer ${keys.vera}` },
      });
      // An empty tag is no filter, as it always was.
      expect([full.status, summary.status]).toEqual([200, 200]);
      const [fullText, summaryText] = [await full.text(), await summary.text()];
      const row = (JSON.parse(summaryText).items as Record<string, unknown>[]).find((j) => j.id === "long");
      expect(row).toMatchObject({ id: "long", phase: "Pending", episodes: 500 });
      expect(row).not.toHaveProperty("spec");
      expect(summaryText).not.toContain("cdn.example.com");
      console.log(`GET /api/v1/jobs: ${fullText.length} bytes in full, ${summaryText.length} as summaries`);
      expect(summaryText.length * 10).toBeLessThan(fullText.length);
      // Whole Jobs come 20 to a page at most: a reader cannot ask for 200 × 45 KB at once.
      const big = await call(A, "GET", "/api/v1/jobs?view=full&limit=200", { cred: keys.vera });
      expect(big.status).toBe(400);
    });

    it("marks API answers no-store and nosniff, the new key's answer and errors included", async () => {
      const made = await call(A, "POST", "/api/v1/keys", { cred: keys.alice, body: { name: "cached?" } });
      const refused = await call(A, "GET", "/api/v1/jobs");
      const listed = await call(A, "GET", "/api/v1/jobs", { cred: keys.vera });
      for (const r of [made, refused, listed]) {
        expect(r.headers.get("cache-control")).toBe("no-store");
        expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      }
    });

    it("answers Fastify's and Node's own refusals (bad JSON, bad query, 431) in the REEL_* shape without the manifest hint", async () => {
      const badJson = await fetch(`${A}/api/v1/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.alice}`, "content-type": "application/json" },
        body: "{not json",
      });
      const query = await call(A, "GET", "/api/v1/jobs?limit=abc", { cred: keys.vera });
      const big = await raw(A, "GET", "/api/v1/jobs", { "x-pad": "x".repeat(20_000) });
      for (const [status, text] of [
        [badJson.status, await badJson.text()],
        [query.status, JSON.stringify(query.body)],
        [big.status, big.body],
      ] as const) {
        expect([400, 431]).toContain(status);
        const body = JSON.parse(text);
        expect(body.error.code, text).toBe("REEL_INVALID_ARGUMENT");
        expect(body.error.hint).not.toMatch(/manifest/);
      }
      expect(big.status).toBe(431);
    });
  });
});
