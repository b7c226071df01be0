// Politeness toward source hosts: at most N connections at once and M request starts per second
// per host across a whole job (spec.politeness). `reel run` keeps the count in this process
// (memorySlots), shared by all its episodes; a cluster keeps it in Redis (redisSlots), keyed by job
// and host under the namespace's grant, so every pod of the job counts against one limit.
//
// What a lease covers: a yt-dlp run takes one connection; a direct or HLS download takes as many as
// are free, up to what it wanted, and runs with that many parallel connections. The request rate
// gates each start (a yt-dlp run, a download); the ranged requests the Rust downloader makes inside
// one download are not counted one by one.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Politeness } from "@reel/crds";
import type { Redis } from "ioredis";

/** The job's limits per source host. */
export interface PolitenessLimits {
  connectionsPerHost: number;
  requestsPerSecond: number;
}

/** The schema's defaults (crds schema.ts Politeness: why 4 and 10 is said there). */
export const DEFAULT_POLITENESS: PolitenessLimits = Politeness.parse({});

/** Where the job's connections and request starts are counted (in memory, or in Redis for a cluster). */
export interface SlotStore {
  /** Takes one connection slot of `host` for `id` when fewer than `limit` are held; false when full. */
  take(host: string, id: string, limit: number): Promise<boolean>;
  /** Gives the slots back. */
  give(host: string, ids: string[]): Promise<void>;
  /** Keeps held slots alive (a store that expires leases of dead holders). */
  renew(host: string, ids: string[]): Promise<void>;
  /** Records one request start when fewer than `perSecond` were made in the last second; false when not. */
  start(host: string, id: string, perSecond: number): Promise<boolean>;
  /** How often a holder renews its slots (ms); never when absent. */
  renewEveryMs?: number;
}

export interface Lease {
  /** Connections this lease holds (≥ 1): run the download with this many. */
  connections: number;
  release(): Promise<void>;
}

export interface HostLimiter {
  /** Waits for a request start and at least one connection slot of `host`; takes up to `want`. */
  acquire(host: string, want: number, signal?: AbortSignal): Promise<Lease>;
}

/**
 * A waiting acquire asks again after 25 ms, doubling to at most 400 ms, jittered: fifty pods
 * waiting on one host then ask Redis a few hundred times a second, not thousands.
 */
const POLL_MS = 25;
const POLL_MAX_MS = 400;

export function hostLimiter(store: SlotStore, limits: PolitenessLimits): HostLimiter {
  const wait = (tries: number, signal?: AbortSignal) => {
    const ms = Math.min(POLL_MAX_MS, POLL_MS * 2 ** Math.min(tries, 8));
    return sleep(ms / 2 + Math.random() * ms, undefined, { signal });
  };
  return {
    async acquire(host, want, signal) {
      const id = randomBytes(8).toString("hex");
      let tries = 0;
      while (!(await store.start(host, id, limits.requestsPerSecond))) await wait(tries++, signal);
      const ids: string[] = [];
      tries = 0;
      while (!(await store.take(host, `${id}.0`, limits.connectionsPerHost))) await wait(tries++, signal);
      ids.push(`${id}.0`);
      // More connections only while some are free: never wait for the second one.
      const most = Math.max(1, Math.min(want, limits.connectionsPerHost));
      while (ids.length < most && (await store.take(host, `${id}.${ids.length}`, limits.connectionsPerHost)))
        ids.push(`${id}.${ids.length}`);
      const timer = store.renewEveryMs
        ? setInterval(() => void store.renew(host, ids).catch(() => {}), store.renewEveryMs).unref()
        : undefined;
      let released = false;
      return {
        connections: ids.length,
        async release() {
          if (released) return;
          released = true;
          clearInterval(timer);
          await store.give(host, ids);
        },
      };
    },
  };
}

/** The run's own count (`reel run`): every episode of the run shares it. */
export function memorySlots(now: () => number = Date.now): SlotStore {
  const held = new Map<string, Set<string>>();
  const starts = new Map<string, number[]>();
  const of = (host: string) => held.get(host) ?? held.set(host, new Set()).get(host) ?? new Set<string>();
  return {
    async take(host, id, limit) {
      const s = of(host);
      if (s.size >= limit) return false;
      s.add(id);
      return true;
    },
    async give(host, ids) {
      for (const id of ids) of(host).delete(id);
    },
    async renew() {},
    async start(host, _id, perSecond) {
      const t = now();
      const recent = (starts.get(host) ?? []).filter((x) => x > t - 1000);
      starts.set(host, recent);
      if (recent.length >= perSecond) return false;
      recent.push(t);
      return true;
    },
  };
}

/** How long a slot outlives its holder's last renewal: a killed pod's slots come back after this. */
export const LEASE_TTL_MS = 30_000;

export interface RedisSlotOptions {
  now?: () => number;
  /** LEASE_TTL_MS when unset; holders renew every third of it. */
  leaseTtlMs?: number;
}

/**
 * The job's count in Redis: a sorted set of slot ids scored by their expiry per host, and one of
 * the last second's starts. Each step is one MULTI (drop the expired, add, count): a holder counts
 * for every later step, so at most `limit` ever hold a slot; one over the limit takes itself out.
 * Commands: ZREMRANGEBYSCORE, ZADD, ZCARD, ZREM, PEXPIRE (operator/src/redis/acl.ts grants them).
 */
export function redisSlots(redis: Redis, prefix: string, o: RedisSlotOptions = {}): SlotStore {
  const now = o.now ?? Date.now;
  const ttl = o.leaseTtlMs ?? LEASE_TTL_MS;
  const conn = (host: string) => `${prefix}${host}:conn`;
  const rate = (host: string) => `${prefix}${host}:rate`;
  async function enter(key: string, id: string, score: number, floor: number, limit: number, ttlMs: number) {
    const r = await redis
      .multi()
      .zremrangebyscore(key, "-inf", floor)
      .zadd(key, score, id)
      .zcard(key)
      .pexpire(key, ttlMs)
      .exec();
    const card = Number(r?.[2]?.[1] ?? Number.POSITIVE_INFINITY);
    if (card <= limit) return true;
    await redis.zrem(key, id);
    return false;
  }
  return {
    take: (host, id, limit) => {
      const t = now();
      return enter(conn(host), id, t + ttl, t, limit, ttl);
    },
    async give(host, ids) {
      if (ids.length) await redis.zrem(conn(host), ...ids);
    },
    async renew(host, ids) {
      if (!ids.length) return;
      const until = now() + ttl;
      const m = redis.multi();
      for (const id of ids) m.zadd(conn(host), "XX", until, id);
      await m.pexpire(conn(host), ttl).exec();
    },
    start: (host, id, perSecond) => {
      const t = now();
      return enter(rate(host), `${t}.${id}`, t, t - 1000, perSecond, 2_000);
    },
    renewEveryMs: Math.max(100, Math.floor(ttl / 3)),
  };
}

/**
 * A store whose failures let the fetch go on (Redis is an extra, as for progress): an outage or a
 * refused command is reported to `onError` and counts as a free slot.
 */
export function failOpen(store: SlotStore, onError: (err: Error) => void): SlotStore {
  const open =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>, fallback: R) =>
    (...a: A) =>
      f(...a).catch((err: Error) => {
        onError(err);
        return fallback;
      });
  return {
    ...(store.renewEveryMs ? { renewEveryMs: store.renewEveryMs } : {}),
    take: open(store.take, true),
    give: open(store.give, undefined),
    renew: open(store.renew, undefined),
    start: open(store.start, true),
  };
}
