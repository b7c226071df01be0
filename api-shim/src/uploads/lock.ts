// Leases in Redis, shared by every shim replica: an upload's write lock (tus PATCH and DELETE) and
// the sweep's turn. A lease is a key holding its holder's random token with a TTL; the holder
// renews it while it works and deletes it (only if the token is still its own) when done. A
// replica that dies stops renewing, so what it held frees itself after one lease.
import { randomBytes } from "node:crypto";
import type { Lock, Locker } from "@tus/server";
import type { Redis } from "ioredis";

const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export interface Lease {
  /** Aborted when a renewal finds the lease gone or taken (Redis lost it, or it expired). */
  lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * Takes `key` for `leaseMs`, renewed every third of it until released; undefined when another
 * holds it. `renew: false` takes it once for the whole lease (a turn that must not come again
 * before the lease is over, such as the sweep's).
 */
export async function takeLease(
  redis: Redis,
  key: string,
  leaseMs: number,
  o: { renew?: boolean } = {},
): Promise<Lease | undefined> {
  const token = randomBytes(16).toString("hex");
  if ((await redis.set(key, token, "PX", leaseMs, "NX")) !== "OK") return undefined;
  const lost = new AbortController();
  const timer =
    o.renew === false
      ? undefined
      : setInterval(() => {
          redis.eval(RENEW, 1, key, token, leaseMs).then(
            (ok) => ok === 1 || lost.abort(),
            () => lost.abort(),
          );
        }, leaseMs / 3);
  timer?.unref();
  return {
    lost: lost.signal,
    async release() {
      clearInterval(timer);
      await redis.eval(RELEASE, 1, key, token);
    },
  };
}

/** What tus sends for a refused lock: the status and the body (its error shape). */
export interface LockRefusal {
  status_code: number;
  body: string;
}

export const LOCKED: LockRefusal = {
  status_code: 423,
  body: "REEL_UPLOAD_LOCKED: another request is writing this upload (on this replica or another); wait for it to end, then HEAD for the offset and PATCH from there\n",
};
const REDIS_AWAY: LockRefusal = {
  status_code: 503,
  body: "REEL_UNAVAILABLE: the upload lock (Redis) cannot be reached; retry shortly\n",
};

/**
 * tus's Locker over Redis leases. A request that finds the upload locked is refused (423, which
 * tus clients retry) once `waitMs` has passed (0: at once) instead of asking the holder to let go
 * as tus's MemoryLocker does: the holder may be on another replica. A holder whose lease is lost
 * has its request ended (tus keeps what it stored).
 */
export function redisLocker(redis: Redis, leaseMs: number, o: { waitMs?: number; prefix?: string } = {}): Locker {
  const prefix = o.prefix ?? "reel:upload-lock:";
  const take = async (key: string, signal: AbortSignal): Promise<Lease> => {
    const until = Date.now() + (o.waitMs ?? 0);
    for (;;) {
      const lease = await takeLease(redis, key, leaseMs).catch(() => {
        throw REDIS_AWAY;
      });
      if (lease) return lease;
      if (Date.now() >= until || signal.aborted) throw LOCKED;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {
    newLock(id: string): Lock {
      let lease: Lease | undefined;
      return {
        async lock(signal, requestRelease) {
          lease = await take(`${prefix}${id}`, signal);
          lease.lost.addEventListener("abort", () => void requestRelease(), { once: true });
        },
        async unlock() {
          // A failed release leaves the key to expire with its lease.
          await lease?.release().catch(() => {});
          lease = undefined;
        },
      };
    },
  };
}
