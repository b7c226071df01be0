// Fine-grained episode progress from Redis, where the workers publish it (worker-image/src/worker/
// progress.ts): the latest update of each episode is kept under `reel:progress:<ns>/<name>:<index>`
// and announced on `reel:progress:<ns>/<name>`. The announcement queues the VideoJob (at most once
// per `minIntervalMs`, so a busy job does not turn into a stream of status writes); the reconcile
// reads the latest values. Redis is an extra: when it is away, status shows what the Jobs say.
import { Redis } from "ioredis";
import type { EpisodeProgress } from "./observed.ts";

export interface ProgressSource {
  read(key: string, episodes: number): Promise<Map<number, EpisodeProgress> | undefined>;
  close(): Promise<void>;
}

export function redisProgressSource(
  url: string,
  onUpdate: (key: string) => void,
  onError: (err: Error) => void,
): ProgressSource {
  const opts = { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false } as const;
  const redis = new Redis(url, opts);
  const sub = new Redis(url, { ...opts, maxRetriesPerRequest: null, enableOfflineQueue: true });
  redis.on("error", onError);
  sub.on("error", onError);
  sub.on("pmessage", (_pattern: string, channel: string) => {
    const key = channel.slice("reel:progress:".length);
    if (key.includes("/") && !key.includes(":")) onUpdate(key);
  });
  void sub.psubscribe("reel:progress:*").catch(onError);
  return {
    async read(key, episodes) {
      if (redis.status !== "ready" || episodes === 0) return undefined;
      try {
        const keys = Array.from({ length: episodes }, (_, i) => `reel:progress:${key}:${i}`);
        const values = await redis.mget(...keys);
        const out = new Map<number, EpisodeProgress>();
        values.forEach((v, i) => {
          if (!v) return;
          try {
            const u = JSON.parse(v) as { stage?: unknown; progress?: unknown };
            if (typeof u.stage === "string" && typeof u.progress === "number") {
              out.set(i, { stage: u.stage, progress: Math.min(1, Math.max(0, u.progress)) });
            }
          } catch {}
        });
        return out;
      } catch (e) {
        onError(e as Error);
        return undefined;
      }
    },
    async close() {
      redis.disconnect();
      sub.disconnect();
    },
  };
}
