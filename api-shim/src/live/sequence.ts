// Numbers for worker progress messages that every shim replica agrees on. Each replica receives the
// same pub/sub message and asks Redis for its number with the message's SHA-1: the first to ask
// takes the next number of the job, the others get the same one (kept an hour). The worker stamps
// every message with its time in ms (worker-image/src/worker/progress.ts), so two messages share a
// digest only when they say the same thing. Every replica asks in the order its subscription
// delivered the messages (pub/sub keeps a channel's order), so numbers follow the publish order.
//
// A number is Redis's clock in microseconds, or the job's last number + 1 when that is not
// smaller: it only grows, also after a Redis restart that lost the counter (as XADD's ids do).
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

const SCRIPT = `
local id = redis.call('GET', KEYS[2])
if id then return id end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if now <= last then now = last + 1 end
local s = string.format('%.0f', now)
redis.call('SET', KEYS[1], s, 'EX', 604800)
redis.call('SET', KEYS[2], s, 'EX', tonumber(ARGV[1]))
return s
`;

/** How long a message's number is kept for replicas that receive it late. */
const DIGEST_TTL_S = 3600;

type WithSeq = Redis & { reelProgressSeq(counter: string, digest: string, ttl: number): Promise<string> };

export interface ProgressSequence {
  /** The number of `message` on job `key` ("ns/name"); calls for one job resolve in call order. */
  number(key: string, message: string): Promise<number>;
}

export function progressSequence(redis: Redis): ProgressSequence {
  const r = redis as WithSeq;
  if (typeof r.reelProgressSeq !== "function") r.defineCommand("reelProgressSeq", { numberOfKeys: 2, lua: SCRIPT });
  // One job's requests one after the other: a NOSCRIPT retry must not let a later message overtake.
  const tails = new Map<string, Promise<unknown>>();
  return {
    number(key, message) {
      const digest = createHash("sha1").update(message).digest("hex");
      // {key}: both keys of a job in one Redis Cluster slot.
      const ask = () => r.reelProgressSeq(`reel:seq:{${key}}`, `reel:seq:{${key}}:${digest}`, DIGEST_TTL_S);
      const prev = tails.get(key);
      const p = (prev ? prev.then(ask, ask) : ask()).then(Number);
      const tail = p.catch(() => {});
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return p;
    },
  };
}
