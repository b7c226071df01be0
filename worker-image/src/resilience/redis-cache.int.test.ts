// Against a real redis-server process.
import { type RedisServer, startRedis } from "@reel/e2e/services";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisCache } from "./redis-cache.ts";

let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1, connectTimeout: 1000, enableOfflineQueue: false });
  await new Promise((r) => redis.once("ready", r));
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("RedisCache", () => {
  it("stores by a hash of the URL with a TTL", async () => {
    const cache = new RedisCache(redis);
    await cache.set("probe", "https://cdn.example.com/a.mp4?sig=SECRET", { duration: 3 }, 60);
    expect(await cache.get("probe", "https://cdn.example.com/a.mp4?sig=SECRET")).toEqual({ duration: 3 });
    const keys = await redis.keys("reel:meta:*");
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain("SECRET");
    const ttl = await redis.ttl(keys[0] as string);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it("treats Redis being down as a miss, and works again once it is back", async () => {
    const cache = new RedisCache(redis);
    await server.restart();
    // Right after the restart the client may still be reconnecting: a miss, not an error.
    await expect(cache.get("probe", "k")).resolves.toBeUndefined();
    await new Promise((r) => (redis.status === "ready" ? r(null) : redis.once("ready", r)));
    await cache.set("probe", "k", 1, 60);
    expect(await cache.get("probe", "k")).toBe(1);
  });
});
