// Upload write locks and the sweep's turn on a real redis-server: two clients with their own
// connections stand for two shim replicas sharing one Redis.
import { describe, expect, it } from "vitest";
import { useRedisServer } from "../testing/redis.ts";
import { LOCKED, redisLocker, takeLease } from "./lock.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("upload leases on redis-server", () => {
  const redis = useRedisServer();
  const client = redis.client;

  it("gives a key to one replica at a time and to the other once released", async () => {
    const [a, b] = [await client(), await client()];
    const held = await takeLease(a, "t:one", 5_000);
    expect(held).toBeDefined();
    expect(await takeLease(b, "t:one", 5_000)).toBeUndefined();
    await held?.release();
    const next = await takeLease(b, "t:one", 5_000);
    expect(next).toBeDefined();
    await next?.release();
  });

  it("keeps a renewed lease past its length, and frees a dead holder's after one lease", async () => {
    const [a, b] = [await client(), await client()];
    const alive = await takeLease(a, "t:renewed", 600);
    await sleep(1_500);
    expect(await takeLease(b, "t:renewed", 600)).toBeUndefined();
    expect(alive?.lost.aborted).toBe(false);
    await alive?.release();
    // A replica that dies holds a lease it no longer renews: its connection goes with it.
    const dying = await client();
    await takeLease(dying, "t:dead", 600);
    dying.disconnect();
    expect(await takeLease(b, "t:dead", 600)).toBeUndefined();
    await sleep(800);
    const after = await takeLease(b, "t:dead", 600);
    expect(after).toBeDefined();
    await after?.release();
  });

  it("never releases another holder's lease, and tells a holder that lost its own", async () => {
    const [a, b] = [await client(), await client()];
    const first = await takeLease(a, "t:lost", 300, { renew: false });
    await sleep(500);
    const second = await takeLease(b, "t:lost", 5_000);
    expect(second).toBeDefined();
    await first?.release();
    expect(await takeLease(a, "t:lost", 5_000)).toBeUndefined();
    // A renewed lease whose key was taken away aborts its `lost` signal at the next renewal.
    const renewed = await takeLease(a, "t:stolen", 300);
    await a.set("t:stolen", "someone else");
    await sleep(250);
    expect(renewed?.lost.aborted).toBe(true);
    await second?.release();
  });

  it("refuses a second writer at once (423) and lets a waiting reader in when the writer ends", async () => {
    const [a, b] = [await client(), await client()];
    const writing = redisLocker(a, 5_000).newLock("up1");
    const cancel = new AbortController().signal;
    await writing.lock(cancel, () => {});
    const t0 = Date.now();
    await expect(
      redisLocker(b, 5_000)
        .newLock("up1")
        .lock(cancel, () => {}),
    ).rejects.toBe(LOCKED);
    expect(Date.now() - t0).toBeLessThan(500);
    const reader = redisLocker(b, 5_000, { waitMs: 3_000 }).newLock("up1");
    const waited = reader.lock(cancel, () => {});
    await sleep(300);
    await writing.unlock();
    await expect(waited).resolves.toBeUndefined();
    await reader.unlock();
  });

  it("asks its request to end when the lease is lost mid-write", async () => {
    const a = await client();
    const lock = redisLocker(a, 300).newLock("up2");
    let released = false;
    await lock.lock(new AbortController().signal, () => {
      released = true;
    });
    await a.del("reel:upload-lock:up2");
    await a.set("reel:upload-lock:up2", "another replica");
    await sleep(250);
    expect(released).toBe(true);
    await lock.unlock();
    expect(await a.get("reel:upload-lock:up2")).toBe("another replica");
  });
});
