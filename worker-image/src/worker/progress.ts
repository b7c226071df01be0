// Fine-grained progress of a worker pod on Redis, for the REST shim's live view: each update is
// published on `reel:progress:<ns>/<name>` and kept under `reel:progress:<ns>/<name>:<index>`
// (`:merge` for the merge pod) with a TTL, at most one update per interval (the latest wins).
// Redis is an extra: when it is down updates are dropped and the episode goes on.
import type { Redis } from "ioredis";

export interface ProgressUpdate {
  /** The episode's index in the VideoJob, or "merge". */
  index: number | "merge";
  stage: string;
  /** Fraction 0..1 of the stage. */
  progress: number;
  /** Percent 0..100 of the whole pod's work, when known. */
  percent?: number;
  phase?: string;
  detail?: string;
}

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
  const channel = `reel:progress:${ref}`;
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
    const msg = JSON.stringify({ ...u, progress: Math.round(u.progress * 1000) / 1000, at: new Date().toISOString() });
    inflight = redis
      .multi()
      .publish(channel, msg)
      .set(`${channel}:${u.index}`, msg, "EX", ttl)
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
