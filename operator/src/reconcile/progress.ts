// Live progress from Redis, where the worker pods publish it (the contract: crds/src/contract/
// progress.ts): the latest message of each pod is kept under `reel:progress:<ns>/<name>:<index>`
// (`:merge` for the merge pod) and announced on `reel:progress:<ns>/<name>`. The announcement queues
// the VideoJob (at most once per `minIntervalMs`, so a busy job does not turn into a stream of
// status writes); the reconcile reads the latest values. Redis is an extra: when it is away, status
// shows what the Jobs say.
import { PROGRESS_PREFIX, parseProgressMessage, progressKey, progressRef } from "@reel/crds";
import { Redis } from "ioredis";
import type { LiveProgress, PodProgress } from "./observed.ts";

export interface ProgressSource {
  read(key: string, episodes: number): Promise<LiveProgress | undefined>;
  close(): Promise<void>;
}

/** The latest messages of a VideoJob's pods as stored (episodes 0..n-1, then the merge pod's), read. */
export function readProgress(values: ReadonlyArray<string | null | undefined>, episodes: number): LiveProgress {
  const out: LiveProgress = new Map();
  values.forEach((v, i) => {
    const m = v ? parseProgressMessage(v) : undefined;
    const index = i < episodes ? i : "merge";
    // A message under another pod's key is not this pod's progress.
    if (!m || m.index !== index) return;
    const p: PodProgress = { stage: m.stage, fraction: m.fraction, percent: m.percent, phase: m.phase };
    out.set(index, p);
  });
  return out;
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
    const ref = progressRef(channel);
    if (ref) onUpdate(ref);
  });
  void sub.psubscribe(`${PROGRESS_PREFIX}*`).catch(onError);
  return {
    async read(key, episodes) {
      if (redis.status !== "ready" || episodes === 0) return undefined;
      try {
        const keys = [...Array.from({ length: episodes }, (_, i) => progressKey(key, i)), progressKey(key, "merge")];
        return readProgress(await redis.mget(...keys), episodes);
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
