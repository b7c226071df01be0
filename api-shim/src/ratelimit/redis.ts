// The lease's Redis side: one script, so the increment and the window's TTL are one atomic step
// (a window is opened by the first lease in it and ends when its key expires).
import type { Redis } from "ioredis";
import type { LeaseStore } from "./lease.ts";

const LEASE = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}`;

type WithLease = Redis & { reelLease(key: string, n: number, windowMs: number): Promise<[number, number]> };

export function redisLeaseStore(redis: Redis, prefix = "reel:ratelimit:"): LeaseStore {
  const r = redis as WithLease;
  // EVALSHA, with ioredis loading the script once when Redis does not know it (after a restart too).
  if (typeof r.reelLease !== "function") r.defineCommand("reelLease", { numberOfKeys: 1, lua: LEASE });
  return {
    async lease(key, n, windowMs) {
      const [count, ttlMs] = await r.reelLease(prefix + key, n, windowMs);
      return { count: Number(count), ttlMs: Number(ttlMs) };
    },
  };
}
