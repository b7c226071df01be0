// The leased limiter on a real redis-server: two limiters with their own connections stand for two
// shim replicas sharing one Redis.
import { useRedisServer } from "../testing/redis.ts";
import { describe, expect, it } from "vitest";
import { type Decision, LeasedLimiter } from "./lease.ts";
import { redisLeaseStore } from "./redis.ts";

const allowed = (ds: Decision[]) => ds.filter((d) => d === undefined).length;

describe("leased rate limits on redis-server", () => {
  // As the shim makes its client (it pipelines too).
  const redis = useRedisServer({ enableAutoPipelining: true });
  const client = redis.client;

  it("admit at most max per window across two replicas, refusing early by less than 4% of max", async () => {
    const max = 20_000;
    const replicas = (await Promise.all([client(), client()])).map(
      (c) => new LeasedLimiter({ store: redisLeaseStore(c), max, windowMs: 60_000 }),
    );
    const ds: Decision[] = [];
    while (allowed(ds) < max && ds.length < 2 * max) {
      ds.push(...(await Promise.all(Array.from({ length: 200 }, (_, i) => replicas[i % 2]?.take("key:two")))));
    }
    const first = ds.findIndex((d) => d !== undefined);
    expect(allowed(ds)).toBeLessThanOrEqual(max);
    expect(first).toBeGreaterThan(max * 0.96);
    expect(ds[first]).toBeGreaterThan(50);
    expect(Number(await (await client()).get("reel:ratelimit:key:two"))).toBeGreaterThanOrEqual(max);
    for (const r of replicas) r.stop();
  });

  it("count exactly with a small limit, and open a new window when the key expires", async () => {
    const [a, b] = (await Promise.all([client(), client()])).map(
      (c) => new LeasedLimiter({ store: redisLeaseStore(c), max: 6, windowMs: 400 }),
    ) as [LeasedLimiter, LeasedLimiter];
    const ds: Decision[] = [];
    for (let i = 0; i < 10; i++) ds.push(await (i % 2 ? a : b).take("key:small"));
    expect(ds.map((d) => d === undefined)).toEqual([true, true, true, true, true, true, false, false, false, false]);
    await new Promise((r) => setTimeout(r, 450));
    expect(await a.take("key:small")).toBeUndefined();
    a.stop();
    b.stop();
  });

  it("let requests through while Redis is down, and limit again once it is back", async () => {
    const c = await client();
    const l = new LeasedLimiter({ store: redisLeaseStore(c), max: 2, windowMs: 60_000 });
    await redis.server().restart();
    // ioredis reconnects in the background; until it has, commands fail fast and requests pass (a
    // command already written is sent once more after the reconnect and may count in the new Redis).
    expect(await l.take("key:outage")).toBeUndefined();
    for (let i = 0; i < 100 && c.status !== "ready"; i++) await new Promise((r) => setTimeout(r, 50));
    const after = [await l.take("key:outage"), await l.take("key:outage"), await l.take("key:outage")];
    expect(after[0]).toBeUndefined();
    expect(after[2]).toBe(60);
    l.stop();
  });
});
