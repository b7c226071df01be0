// The shim on real services: PostgreSQL 15, redis-server and the L2 control plane (etcd +
// kube-apiserver from e2e/cluster). No operator runs here: the tests write VideoJob status the way
// the operator would (kubectl patch --subresource=status) and check what clients see.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import { type PostgresServer, startPostgres } from "../../e2e/src/services/postgres.ts";
import { type RedisServer, startRedis } from "../../e2e/src/services/redis.ts";
import { until } from "../../e2e/src/until.ts";
import { addUser } from "./admin.ts";
import { parseConfig } from "./config.ts";
import { connectPostgres } from "./db/database.ts";
import { migrate } from "./db/migrate.ts";
import { type RunningShim, startShim } from "./main.ts";
import type { JobEvent } from "./live/events.ts";
import { createHmac } from "node:crypto";

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
  let dir: string;
  let cluster: Cluster;
  let pg: PostgresServer;
  let redis: RedisServer;
  let shim: RunningShim;
  let base: string;
  let jwks: string;
  let signer: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  let publicJwk: Record<string, unknown>;
  const keys: Record<string, string> = {};
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
  const config = (over: Record<string, string> = {}) =>
    parseConfig({
      REEL_SHIM_PORT: "0",
      REEL_SHIM_HOST: "127.0.0.1",
      DATABASE_URL: pg.url,
      REEL_REDIS_URL: redis.url,
      REEL_JWT_ISSUER: ISS,
      REEL_JWT_AUDIENCE: AUD,
      REEL_JWT_JWKS_FILE: jwks,
      REEL_BODY_LIMIT_BYTES: "16384",
      REEL_SSE_HEARTBEAT_MS: "1000",
      LOG_LEVEL: "warn",
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
  const setStatus = (ns: string, name: string, status: Record<string, unknown>) =>
    kubectl([
      "-n",
      ns,
      "patch",
      "videojob",
      name,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status }),
    ]);
  const jwt = (claims: Record<string, unknown>, exp: number | false = Math.floor(Date.now() / 1000) + 300) => {
    let t = new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuedAt();
    if (exp !== false) t = t.setExpirationTime(exp);
    return t.sign(signer);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-shim-"));
    [cluster, pg, redis] = await Promise.all([
      clusterUp({ level: 2, dir: join(dir, "cluster") }),
      startPostgres(),
      startRedis(),
    ]);
    process.env.KUBECONFIG = cluster.kubeconfig; // kubernetes-fluent-client's watch reads it
    await kubectl(["apply", "--server-side", "-f", crd]);
    await kubectl(["create", "namespace", "media"]);
    await kubectl(["create", "namespace", "studio"]);
    await until("the CRD to be served", async () => (await kubectl(["get", "videojobs", "-A"])) !== undefined);
    const kp = await generateKeyPair("ES256", { extractable: true });
    signer = kp.privateKey;
    publicJwk = { ...(await exportJWK(kp.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    jwks = join(dir, "jwks.json");
    await writeFile(jwks, JSON.stringify({ keys: [publicJwk] }));
    const sql = connectPostgres(pg.url, 1);
    await migrate(sql);
    keys.alice = (await addUser(sql, { name: "alice", role: "admin", tenant: "media" })).key;
    keys.olga = (await addUser(sql, { name: "olga", role: "operator", tenant: "media" })).key;
    keys.vera = (await addUser(sql, { name: "vera", role: "viewer", tenant: "media" })).key;
    keys.bob = (await addUser(sql, { name: "bob", role: "operator", tenant: "studio" })).key;
    // A JWT user already mapped by an admin to tenant media.
    await addUser(sql, { name: "jane", role: "operator", tenant: "media", issuer: ISS, subject: "jane" });
    await sql.end();
    shim = await startShim(config(), { webhooks: false });
    base = `http://127.0.0.1:${shim.port}`;
    await until("the shim to be healthy", async () => (await fetch(`${base}/api/health`)).ok);
  }, 180_000);

  afterAll(async () => {
    await shim?.stop();
    await Promise.allSettled([cluster?.down(), pg?.stop(), redis?.stop()]);
    await rm(dir, { recursive: true, force: true });
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
    expect(vj.metadata.annotations["reel.dev/created-by"]).toMatch(/^olga \(key \w{8}\)$/);
    expect(vj.spec.cancel).toBe(false);

    const list = await api("GET", "/api/v1/jobs", { key: "vera" });
    expect(list.status).toBe(200);
    expect(list.body.items.map((j: { id: string }) => j.id)).toContain("season-1");
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
});
