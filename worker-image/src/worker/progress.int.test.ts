// redisProgress against a real redis-server: throttling, the latest update winning, the key's TTL,
// and an outage that costs nothing but the updates.
import { type RedisServer, freePort, startRedis } from "@reel/e2e/services";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProgressMessage } from "@reel/crds";
import { redisProgress } from "./progress.ts";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("redisProgress", () => {
  it("sends at most one update per 500 ms, the latest one last, and keeps it under a key with a TTL", async () => {
    const sub = new Redis(server.url);
    const pub = new Redis(server.url);
    const got: ProgressMessage[] = [];
    const arrivals: number[] = [];
    await sub.subscribe("reel:progress:media/job");
    sub.on("message", (_c, m: string) => {
      got.push(JSON.parse(m));
      arrivals.push(performance.now());
    });
    const sink = redisProgress(pub, "media/job", { ttlSecs: 60 });
    const t0 = performance.now();
    for (let i = 0; i <= 100; i++) {
      sink.report({ index: 4, stage: "encode", fraction: i / 100 });
      await sleep(12);
    }
    await sink.close();
    const secs = (performance.now() - t0) / 1000;
    await sleep(100);
    try {
      expect(got.length).toBeGreaterThanOrEqual(2);
      expect(got.length).toBeLessThanOrEqual(Math.ceil(secs * 2) + 1);
      // ≤ 2/s: consecutive updates are half a second apart (less a little delivery jitter).
      for (let i = 1; i < arrivals.length; i++) {
        expect((arrivals[i] as number) - (arrivals[i - 1] as number)).toBeGreaterThan(400);
      }
      expect(got[0]?.fraction).toBe(0);
      expect(got.at(-1)).toMatchObject({ v: 1, index: 4, stage: "encode", fraction: 1, phase: "Transcoding" });
      expect(JSON.parse((await pub.get("reel:progress:media/job:4")) ?? "{}").fraction).toBe(1);
      const ttl = await pub.ttl("reel:progress:media/job:4");
      expect(ttl).toBeGreaterThan(50);
      expect(ttl).toBeLessThanOrEqual(60);
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  it("with Redis down, reports never throw and close returns within its timeout", async () => {
    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      maxRetriesPerRequest: 1,
      retryStrategy: () => 200,
    });
    const errors: Error[] = [];
    dead.on("error", () => {});
    const sink = redisProgress(dead, "media/job", { onError: (e) => errors.push(e) });
    for (let i = 0; i < 20; i++) sink.report({ index: 0, stage: "fetch", fraction: i / 20 });
    const t0 = performance.now();
    await sink.close(1500);
    expect(performance.now() - t0).toBeLessThan(2500);
    dead.disconnect();
  });
});
