import { describe, expect, it } from "vitest";
import { WorkQueue } from "./queue.ts";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe("WorkQueue", () => {
  it("never queues a waiting key twice", async () => {
    const seen: string[] = [];
    const q = new WorkQueue(
      async (k) => {
        seen.push(k);
        return undefined;
      },
      { workers: 1 },
    );
    q.add("a");
    q.add("a");
    q.add("b");
    expect(q.depth).toBe(2);
    q.start();
    await q.idle();
    await q.stop();
    expect(seen).toEqual(["a", "b"]);
  });

  it("never processes one key twice at once; an event during processing runs it once more after", async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs++;
        await tick(20);
        running--;
        return undefined;
      },
      { workers: 4 },
    );
    q.start();
    q.add("a");
    await tick(5);
    q.add("a");
    q.add("a");
    await q.idle();
    await q.stop();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it("retries a failing key with exponential backoff per key", async () => {
    const times: number[] = [];
    const errors: number[] = [];
    const q = new WorkQueue(
      async () => {
        times.push(performance.now());
        if (times.length < 4) throw new Error("apiserver said 500");
        return undefined;
      },
      { workers: 1, backoffBaseMs: 10 },
      (_k, _e, wait) => errors.push(wait),
    );
    q.start();
    q.add("a");
    await q.idle();
    await q.stop();
    expect(errors).toEqual([10, 20, 40]);
    expect(times).toHaveLength(4);
    expect(q.backoffMs(30)).toBe(5 * 60_000);
  });

  it("requeues a key after the delay its reconcile asks for", async () => {
    let runs = 0;
    const q = new WorkQueue(async () => (++runs === 1 ? { requeueAfterMs: 15 } : undefined), { workers: 1 });
    q.start();
    q.add("a");
    await q.idle();
    await q.stop();
    expect(runs).toBe(2);
  });

  it("bounds the overall rate of reconciles", async () => {
    const q = new WorkQueue(async () => undefined, { workers: 8, rate: { perSec: 100, burst: 1 } });
    const started = performance.now();
    q.start();
    for (let i = 0; i < 11; i++) q.add(`k${i}`);
    await q.idle();
    await q.stop();
    // 1 from the burst, then 10 at 100/s: at least ~100 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });
});
