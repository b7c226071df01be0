// Live progress of a worker pod on Redis, for the operator's status and the shim's streams. The
// message, its stages and its keys are the contract in crds/src/contract/progress.ts: each update is
// published on `reel:progress:<ns>/<name>` and kept under `…:<index>` (`:merge` for the merge pod)
// with a TTL, at most one update per interval (the latest wins; `close` sends the last one).
// Redis is an extra: when it is down updates are dropped and the episode goes on.
import { type ProgressInput, progressChannel, progressKey, progressMessage } from "@reel/crds";
import type { Redis } from "ioredis";

export type ProgressUpdate = ProgressInput;

export interface ProgressSink {
  report(u: ProgressUpdate): void;
  /** Sends what is pending (respecting the interval) and waits for it, at most `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

export const noProgress: ProgressSink = { report() {}, close: async () => {} };

export interface RedisProgressOptions {
  intervalMs?: number;
  ttlSecs?: number;
  onError?: (err: Error) => void;
}

export function redisProgress(redis: Redis, ref: string, o: RedisProgressOptions = {}): ProgressSink {
  const interval = o.intervalMs ?? 500;
  const ttl = o.ttlSecs ?? 3600;
  const channel = progressChannel(ref);
  let lastSent = Number.NEGATIVE_INFINITY;
  let pending: ProgressUpdate | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> = Promise.resolve();

  const send = () => {
    timer = undefined;
    const u = pending;
    pending = undefined;
    if (!u) return;
    lastSent = performance.now();
    const msg = JSON.stringify(progressMessage(u));
    inflight = redis
      .multi()
      .publish(channel, msg)
      .set(progressKey(ref, u.index), msg, "EX", ttl)
      .exec()
      .then(
        () => {},
        (err: Error) => o.onError?.(err),
      );
  };

  return {
    report(u) {
      pending = u;
      if (timer) return;
      const wait = lastSent + interval - performance.now();
      if (wait <= 0) send();
      else timer = setTimeout(send, wait);
    },
    async close(timeoutMs = 2000) {
      const done = (async () => {
        if (timer) {
          clearTimeout(timer);
          const wait = lastSent + interval - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          send();
        }
        await inflight;
      })();
      let t: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
      clearTimeout(t);
    },
  };
}
