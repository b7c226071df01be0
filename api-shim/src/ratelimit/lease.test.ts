import { describe, expect, it } from "vitest";
import { type Decision, LeasedLimiter, type LeaseStore } from "./lease.ts";

/** Redis's counter, in memory, on a clock the test moves; answers after a microtask like a round trip. */
function memoryStore(clock: { t: number }) {
  const keys = new Map<string, { count: number; expires: number }>();
  let calls = 0;
  let down = false;
  const store: LeaseStore = {
    async lease(key, n, windowMs) {
      calls++;
      await Promise.resolve();
      if (down) throw new Error("connection refused");
      let k = keys.get(key);
      if (!k || clock.t >= k.expires) {
        k = { count: 0, expires: clock.t + windowMs };
        keys.set(key, k);
      }
      k.count += n;
      return { count: k.count, ttlMs: k.expires - clock.t };
    },
  };
  return {
    store,
    calls: () => calls,
    setDown: (v: boolean) => {
      down = v;
    },
  };
}

const allowed = (ds: Decision[]) => ds.filter((d) => d === undefined).length;

describe("leased rate limits", () => {
  it("admit exactly max per window one Redis call per request when the limit is small", async () => {
    const clock = { t: 0 };
    const m = memoryStore(clock);
    const l = new LeasedLimiter({ store: m.store, max: 5, windowMs: 60_000, now: () => clock.t });
    const ds: Decision[] = [];
    for (let i = 0; i < 8; i++) ds.push(await l.take("k"));
    expect(ds.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(ds.slice(5)).toEqual([60, 60, 60]);
    // The fifth lease took the last token of the window: refusals after it are local.
    expect(m.calls()).toBe(5);
    clock.t = 59_500;
    expect(await l.take("k")).toBe(1);
    clock.t = 60_000;
    expect(await l.take("k")).toBeUndefined();
    l.stop();
  });

  it("never admit more than max across replicas sharing the counter, and refuse early by less than 4% per other replica", async () => {
    const clock = { t: 0 };
    const m = memoryStore(clock);
    const max = 10_000;
    const replicas = [0, 1, 2].map(
      () => new LeasedLimiter({ store: m.store, max, windowMs: 60_000, now: () => clock.t }),
    );
    const ds: Decision[] = [];
    // Bursts of concurrent requests spread over the replicas, the clock moving 1 ms per burst.
    for (let burst = 0; allowed(ds) < max && burst < 2000; burst++) {
      clock.t += 1;
      ds.push(...(await Promise.all(Array.from({ length: 30 }, (_, i) => replicas[i % 3]?.take("ip:1")))));
    }
    const firstRefusal = ds.indexOf(ds.find((d) => d !== undefined));
    expect(allowed(ds)).toBeLessThanOrEqual(max);
    expect(firstRefusal).toBeGreaterThanOrEqual(max - 2 * 0.04 * max);
    // Far fewer Redis calls than requests once the batch has grown.
    expect(m.calls()).toBeLessThan(ds.length / 20);
    for (const r of replicas) r.stop();
  });

  it("void a window's leftover tokens when the window ends", async () => {
    const clock = { t: 0 };
    const m = memoryStore(clock);
    const l = new LeasedLimiter({ store: m.store, max: 6400, windowMs: 1000, now: () => clock.t });
    // A fast key grows its lease to 200 (6400/32).
    for (let i = 0; i < 1000; i++) await l.take("k");
    clock.t = 1000;
    const ds: Decision[] = [];
    for (let i = 0; i < 6400; i++) ds.push(await l.take("k"));
    expect(allowed(ds)).toBeLessThanOrEqual(6400);
    expect(allowed(ds)).toBeGreaterThan(6400 - 0.04 * 6400);
    l.stop();
  });

  it("let requests through while Redis is unreachable, and count again when it is back", async () => {
    const clock = { t: 0 };
    const m = memoryStore(clock);
    const errors: string[] = [];
    const l = new LeasedLimiter({
      store: m.store,
      max: 2,
      windowMs: 60_000,
      now: () => clock.t,
      onError: (e) => errors.push(e.message),
    });
    m.setDown(true);
    expect(await Promise.all([l.take("k"), l.take("k"), l.take("k")])).toEqual([undefined, undefined, undefined]);
    expect(errors).toEqual(["connection refused"]);
    m.setDown(false);
    expect([await l.take("k"), await l.take("k"), await l.take("k")]).toEqual([undefined, undefined, 60]);
    l.stop();
  });

  it("keep separate budgets per key and forget keys whose window ended", async () => {
    const clock = { t: 0 };
    const m = memoryStore(clock);
    const l = new LeasedLimiter({ store: m.store, max: 1, windowMs: 1000, now: () => clock.t });
    expect([await l.take("a"), await l.take("a"), await l.take("b")]).toEqual([undefined, 1, undefined]);
    expect(l.size).toBe(2);
    clock.t = 1000;
    (l as unknown as { sweep(): void }).sweep();
    expect(l.size).toBe(0);
    l.stop();
  });
});
