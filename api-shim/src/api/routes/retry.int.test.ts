// POST /api/v1/jobs/:id/retry on real services: PostgreSQL (roles, keys, the audit log), redis-server
// and the L2 control plane (VideoJobs created and read back with kubectl). The finished job's status
// is written the way the operator would (status subresource).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "../../../../e2e/cluster/cluster.ts";
import { type PostgresServer, startPostgres } from "../../../../e2e/src/services/postgres.ts";
import { type RedisServer, startRedis } from "../../../../e2e/src/services/redis.ts";
import { until } from "../../../../e2e/src/until.ts";
import { addUser } from "../../admin.ts";
import { parseConfig } from "../../config.ts";
import { connectPostgres } from "../../db/database.ts";
import { migrate } from "../../db/migrate.ts";
import { type RunningShim, startShim } from "../../main.ts";

const crd = join(import.meta.dirname, "..", "..", "..", "..", "crds", "generated", "videojob.crd.yaml");

describe.skipIf(!k8sBinariesBuilt())("retrying a finished job (PostgreSQL, Redis, L2)", () => {
  let dir: string;
  let cluster: Cluster;
  let pg: PostgresServer;
  let redis: RedisServer;
  let shim: RunningShim;
  const keys: Record<string, string> = {};
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
  // biome-ignore lint/suspicious/noExplicitAny: test answers are checked by shape
  const api = async (path: string, key: string, method = "POST"): Promise<{ status: number; body: any }> => {
    const res = await fetch(`http://127.0.0.1:${shim.port}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${keys[key]}`,
        ...(method === "POST" ? { "content-type": "application/json" } : {}),
      },
      ...(method === "POST" ? { body: "{}" } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const auditRows = async () => {
    const sql = connectPostgres(pg.url, 1);
    try {
      return await sql<{ actor: string; target: string; result: string; detail: Record<string, unknown> }[]>`
        SELECT actor, target, result, detail FROM audit_log WHERE action = 'job.retry' ORDER BY id`;
    } finally {
      await sql.end();
    }
  };
  const spec = {
    episodes: [0, 1, 2, 3].map((i) => ({ url: `https://cdn.example.com/ep${i}.mp4`, title: `Ep ${i + 1}` })),
    quality: "1080p",
    codec: "hevc",
    output: { s3: { bucket: "videos", prefix: "season/", credentialsSecret: "s3-creds" } },
  };
  const finish = async (name: string, status: object) => {
    await kubectl([
      "-n",
      "media",
      "patch",
      "videojob",
      name,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status }),
    ]);
    await until(`${name}'s status in the shim`, async () => {
      const r = await api(`/api/v1/jobs/${name}`, "olga", "GET");
      return r.body?.status?.phase === (status as { phase: string }).phase ? true : undefined;
    });
  };
  const ep = (index: number, phase: string) => ({ index, phase, progress: 100, attempts: 1 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-retry-"));
    [cluster, pg, redis] = await Promise.all([
      clusterUp({ level: 2, dir: join(dir, "cluster") }),
      startPostgres(),
      startRedis(),
    ]);
    process.env.KUBECONFIG = cluster.kubeconfig;
    await kubectl(["apply", "--server-side", "-f", crd]);
    await kubectl(["create", "namespace", "media"]);
    await kubectl(["create", "namespace", "studio"]);
    await until("the CRD to be served", async () => (await kubectl(["get", "videojobs", "-A"])) !== undefined);
    const kp = await generateKeyPair("ES256", { extractable: true });
    const jwks = join(dir, "jwks.json");
    await writeFile(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(kp.publicKey)), kid: "k1", alg: "ES256" }] }));
    const sql = connectPostgres(pg.url, 1);
    await migrate(sql);
    // olga is user 1, vera user 2: the audit log names actors by user id and key.
    keys.olga = (await addUser(sql, { name: "olga", role: "operator", tenant: "media" })).key;
    keys.vera = (await addUser(sql, { name: "vera", role: "viewer", tenant: "media" })).key;
    keys.bob = (await addUser(sql, { name: "bob", role: "operator", tenant: "studio" })).key;
    await sql.end();
    const config = parseConfig({
      REEL_SHIM_PORT: "0",
      REEL_SHIM_HOST: "127.0.0.1",
      DATABASE_URL: pg.url,
      REEL_REDIS_URL: redis.url,
      REEL_JWT_ISSUER: "https://id.example.com",
      REEL_JWT_AUDIENCE: "reel-api",
      REEL_JWT_JWKS_FILE: jwks,
      REEL_RATE_LIMIT_IP: "100000",
      LOG_LEVEL: "warn",
    });
    shim = await startShim(config, { webhooks: false });
    await until("the shim to be healthy", async () => (await fetch(`http://127.0.0.1:${shim.port}/api/health`)).ok);
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled([shim?.stop()]);
    await Promise.allSettled([cluster?.down(), pg?.stop(), redis?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("creates <name>-r1 then -r2 with the same spec from a failed job, audited; other tenants get 404, viewers 403", async () => {
    const res = await fetch(`http://127.0.0.1:${shim.port}/api/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys.olga}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "season", spec }),
    });
    expect(res.status).toBe(201);
    expect((await api("/api/v1/jobs/season/retry", "olga")).body.error.code).toBe("REEL_JOB_NOT_RETRYABLE");
    await finish("season", {
      phase: "Failed",
      episodes: [ep(0, "Completed"), ep(1, "Failed"), ep(2, "Completed"), ep(3, "Failed")],
    });

    const other = await api("/api/v1/jobs/season/retry", "bob");
    expect([other.status, other.body.error.code]).toEqual([404, "REEL_JOB_NOT_FOUND"]);
    expect((await api("/api/v1/jobs/season/retry", "vera")).status).toBe(403);

    const first = await api("/api/v1/jobs/season/retry", "olga");
    expect([first.status, first.body.id]).toEqual([201, "season-r1"]);
    const second = await api("/api/v1/jobs/season/retry", "olga");
    expect([second.status, second.body.id]).toEqual([201, "season-r2"]);
    const read = async (name: string) =>
      JSON.parse(await kubectl(["-n", "media", "get", "videojob", name, "-o", "json"])) as {
        spec: Record<string, unknown>;
      };
    const [was, now] = [await read("season"), await read("season-r1")];
    expect(now.spec).toEqual(was.spec);
    expect(now.spec).toMatchObject({ quality: "1080p", codec: "hevc", cancel: false });

    expect(await auditRows()).toEqual([
      expect.objectContaining({
        actor: expect.stringMatching(/^user:2 key:/),
        target: "media/season",
        result: "denied",
      }),
      expect.objectContaining({
        actor: expect.stringMatching(/^user:1 key:/),
        target: "media/season-r1",
        result: "ok",
        detail: { from: "season" },
      }),
      expect.objectContaining({
        actor: expect.stringMatching(/^user:1 key:/),
        target: "media/season-r2",
        result: "ok",
        detail: { from: "season" },
      }),
    ]);
  }, 60_000);

  it("refuses a retry of a running job, a cancelled one and a completed one with nothing failed", async () => {
    const running = await api("/api/v1/jobs/season-r1/retry", "olga");
    expect([running.status, running.body.error.code]).toEqual([409, "REEL_JOB_NOT_RETRYABLE"]);
    await finish("season-r2", { phase: "Completed", episodes: [0, 1, 2, 3].map((i) => ep(i, "Completed")) });
    const whole = await api("/api/v1/jobs/season-r2/retry", "olga");
    expect([whole.status, whole.body.error.message]).toEqual([
      409,
      "job season-r2: every episode completed; there is nothing to retry",
    ]);
    await finish("season-r1", {
      phase: "Completed",
      episodes: [ep(0, "Completed"), ep(1, "Failed"), ep(2, "Completed"), ep(3, "Completed")],
    });
    const partial = await api("/api/v1/jobs/season-r1/retry", "olga");
    expect([partial.status, partial.body.id]).toEqual([201, "season-r3"]);
  }, 60_000);
});
