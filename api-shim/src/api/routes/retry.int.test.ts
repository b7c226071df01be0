// POST /api/v1/jobs/:id/retry on real services: PostgreSQL (roles, keys, the audit log), redis-server
// and the L2 control plane (VideoJobs created and read back with kubectl). The finished job's status
// is written the way the operator would (status subresource).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { k8sBinariesBuilt } from "../../../../e2e/cluster/cluster.ts";
import type { PostgresServer } from "../../../../e2e/src/services/postgres.ts";
import { until } from "../../../../e2e/src/until.ts";
import { connectPostgres } from "../../db/database.ts";
import type { RunningShim } from "../../main.ts";
import { keysOf, type ShimServices, seedUsers, startShimServices, writeJwks } from "../../testing/services.ts";

describe.skipIf(!k8sBinariesBuilt())("retrying a finished job (PostgreSQL, Redis, L2)", () => {
  let svc: ShimServices;
  let pg: PostgresServer;
  let shim: RunningShim;
  const keys: Record<string, string> = {};
  const kubectl = (args: string[], input?: string) => svc.kubectl(args, input);
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
    await svc.setStatus("media", name, status as Record<string, unknown>);
    await until(`${name}'s status in the shim`, async () => {
      const r = await api(`/api/v1/jobs/${name}`, "olga", "GET");
      return r.body?.status?.phase === (status as { phase: string }).phase ? true : undefined;
    });
  };
  const ep = (index: number, phase: string) => ({ index, phase, progress: 100, attempts: 1 });

  beforeAll(async () => {
    svc = await startShimServices({ prefix: "reel-retry-", namespaces: ["media", "studio"] });
    pg = svc.pg;
    const jwks = await writeJwks(svc.dir);
    // olga is user 1, vera user 2: the audit log names actors by user id and key.
    const users = await seedUsers(pg.url, {
      olga: { role: "operator", tenant: "media" },
      vera: { role: "viewer", tenant: "media" },
      bob: { role: "operator", tenant: "studio" },
    });
    Object.assign(keys, keysOf(users));
    const config = svc.config({
      REEL_JWT_ISSUER: "https://id.example.com",
      REEL_JWT_AUDIENCE: "reel-api",
      REEL_JWT_JWKS_FILE: jwks.path,
      REEL_RATE_LIMIT_IP: "100000",
    });
    shim = await svc.startShim(config);
  }, 180_000);

  afterAll(async () => {
    await svc?.close();
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
