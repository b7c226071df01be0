// Politeness across pods on a real redis-server: two "pods" (each its own connection as the
// namespace's worker user, made with the operator's own ACL rules, and its own limiter) download
// from one loopback host with the real Rust downloader; the host counts the requests it answers at
// once, which never exceeds connectionsPerHost. A pod that dies holding slots gives them back when
// its leases expire.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { politenessPrefix } from "@reel/crds";
import { download } from "@reel/native";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedis } from "../../../e2e/src/services/redis.ts";
import { workerAclRules } from "../../../operator/src/redis/acl.ts";
import { workerRedis } from "../worker/progress.ts";
import { type CountingSite, serveCounting } from "./counting-site.ts";
import { hostLimiter, redisSlots } from "./politeness.ts";

let server: RedisServer;
let admin: Redis;
let site: CountingSite;
let dir: string;
const clients: Redis[] = [];
const PASSWORD = "p".repeat(40);

const pod = () => {
  const r = workerRedis(server.bareUrl, { username: "reel-w-media", password: PASSWORD });
  r.on("error", () => {});
  clients.push(r);
  return r;
};

beforeAll(async () => {
  server = await startRedis({ password: "admin-password-for-the-test" });
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  clients.push(admin);
  const { user, rules } = workerAclRules("media", PASSWORD);
  await admin.call("ACL", "SETUSER", user, ...rules);
  site = await serveCounting(randomBytes(2 * 1024 * 1024));
  dir = await mkdtemp(join(tmpdir(), "reel-politeness-int-"));
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await site?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("politeness in Redis, as the namespace's worker user", () => {
  it("two pods of one job, three downloads each wanting 8 connections, never hold more than 3 at the host", async () => {
    const limits = { connectionsPerHost: 3, requestsPerSecond: 100 };
    const prefix = politenessPrefix("media", "season-1");
    const host = new URL(site.origin).host;
    const pods = [pod(), pod()].map((r) => hostLimiter(redisSlots(r, prefix), limits));
    const granted: number[] = [];
    // The same six downloads, first each at its 8 connections with no limiter (the baseline).
    const run = async (limiters: (typeof pods)[number][] | undefined, tag: string) => {
      site.most = 0;
      await Promise.all(
        [0, 1].flatMap((p) =>
          [0, 1, 2].map(async (i) => {
            const lease = await limiters?.[p]?.acquire(host, 8);
            if (lease) granted.push(lease.connections);
            try {
              const r = await download({
                url: `${site.origin}/${tag}${p}-${i}.mp4`,
                dest: join(dir, `${tag}${p}-${i}.mp4`),
                connections: lease?.connections ?? 8,
                net: { allow: ["127.0.0.2/32"] },
              });
              expect(r.bytes).toBe(2 * 1024 * 1024);
            } finally {
              await lease?.release();
            }
          }),
        ),
      );
      return site.most;
    };
    const unlimited = await run(undefined, "free");
    const polite = await run(pods, "ep");
    process.stdout.write(`most at once: ${polite} with the limit 3 in Redis, ${unlimited} without a limiter\n`);
    expect(unlimited).toBeGreaterThan(3);
    expect(site.most).toBeLessThanOrEqual(3);
    expect(site.most).toBeGreaterThanOrEqual(2); // the downloads did overlap: the limit was what held them
    expect(granted.every((n) => n >= 1 && n <= 3)).toBe(true);
    // Everything was given back: the next job start finds the host free.
    expect(await admin.zcard(`${prefix}${host}:conn`)).toBe(0);
  }, 60_000);

  it("a pod that dies holding every slot gives them back when its leases expire", async () => {
    const limits = { connectionsPerHost: 2, requestsPerSecond: 100 };
    const prefix = politenessPrefix("media", "season-2");
    const dying = pod();
    const dead = hostLimiter(redisSlots(dying, prefix, { leaseTtlMs: 600 }), limits);
    const held = await dead.acquire("cdn.example:443", 8);
    expect(held.connections).toBe(2);
    dying.disconnect(); // killed: no release, no renewal
    const t0 = Date.now();
    const next = await hostLimiter(redisSlots(pod(), prefix, { leaseTtlMs: 600 }), limits).acquire(
      "cdn.example:443",
      1,
    );
    expect(next.connections).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    await next.release();
  }, 20_000);

  it("keeps its counts inside the namespace: team-b's job keys are refused (NOPERM)", async () => {
    const prefix = politenessPrefix("team-b", "season-1");
    const slots = redisSlots(pod(), prefix);
    // Redis refuses each queued command (NOPERM) and then the whole transaction.
    await expect(slots.take("cdn.example", "x", 4)).rejects.toThrow(/EXECABORT|NOPERM/);
    expect(await admin.exists(`${prefix}cdn.example:conn`)).toBe(0);
  });
});
