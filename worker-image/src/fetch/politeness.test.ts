import { describe, expect, it } from "vitest";
import { DEFAULT_POLITENESS, failOpen, hostLimiter, memorySlots, type SlotStore } from "./politeness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("hostLimiter over memorySlots (reel run)", () => {
  it("defaults to 4 connections and 10 request starts a second per host", () => {
    expect(DEFAULT_POLITENESS).toEqual({ connectionsPerHost: 4, requestsPerSecond: 10 });
  });

  it("never lets more than connectionsPerHost connections of one host be held at once", async () => {
    const limiter = hostLimiter(memorySlots(), { connectionsPerHost: 3, requestsPerSecond: 1000 });
    let now = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const lease = await limiter.acquire("a.example", 1 + (i % 4));
        now += lease.connections;
        most = Math.max(most, now);
        await sleep(30);
        now -= lease.connections;
        await lease.release();
      }),
    );
    expect(most).toBe(3);
  });

  it("grants a download the free connections, at least one, at most what it wanted", async () => {
    const limiter = hostLimiter(memorySlots(), { connectionsPerHost: 4, requestsPerSecond: 1000 });
    const a = await limiter.acquire("a.example", 8);
    expect(a.connections).toBe(4);
    const other = await limiter.acquire("b.example", 2);
    expect(other.connections).toBe(2); // another host has its own count
    const waiting = limiter.acquire("a.example", 8);
    await sleep(80);
    let b: { connections: number } | undefined;
    void waiting.then((l) => {
      b = l;
    });
    await sleep(10);
    expect(b).toBeUndefined(); // waits while all four are held
    await a.release();
    expect((await waiting).connections).toBe(4);
  });

  it("starts at most requestsPerSecond per host in any second", async () => {
    const limiter = hostLimiter(memorySlots(), { connectionsPerHost: 64, requestsPerSecond: 20 });
    const starts: number[] = [];
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 45 }, async () => {
        const lease = await limiter.acquire("a.example", 1);
        starts.push(Date.now());
        await lease.release();
      }),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000); // 45 starts at 20/s need three windows
    for (const t of starts) expect(starts.filter((x) => x >= t && x < t + 1000).length).toBeLessThanOrEqual(20);
  });

  it("gives up waiting when the signal aborts", async () => {
    const limiter = hostLimiter(memorySlots(), { connectionsPerHost: 1, requestsPerSecond: 1000 });
    await limiter.acquire("a.example", 1);
    const ac = new AbortController();
    const waiting = limiter.acquire("a.example", 1, ac.signal);
    ac.abort();
    await expect(waiting).rejects.toThrow(/abort/i);
  });
});

describe("failOpen", () => {
  it("lets the fetch go on when the store fails, and reports the failure", async () => {
    const broken: SlotStore = {
      take: async () => Promise.reject(new Error("NOPERM")),
      give: async () => Promise.reject(new Error("NOPERM")),
      renew: async () => {},
      start: async () => Promise.reject(new Error("ECONNREFUSED")),
    };
    const errors: string[] = [];
    const limiter = hostLimiter(
      failOpen(broken, (e) => errors.push(e.message)),
      DEFAULT_POLITENESS,
    );
    const lease = await limiter.acquire("a.example", 2);
    expect(lease.connections).toBe(2);
    await lease.release();
    expect(errors).toContain("NOPERM");
    expect(errors).toContain("ECONNREFUSED");
  });
});
