// Live progress of a worker pod on Redis, for the operator's status and the shim's streams. The
// message, its stages and its keys are the contract in crds/src/contract/progress.ts: each update is
// published on `reel:progress:<ns>/<name>` and kept under `…:<index>` (`:merge` for the merge pod)
// with a TTL, at most one update per interval (the latest wins; `close` sends the last one).
// Redis is an extra: when it is down updates are dropped and the episode goes on. In a cluster the
// pod logs in as its namespace's user (crds contract/redis-access.ts), which may touch only these
// keys and this channel; a refusal is told apart (redisDenied) and logged as REEL_REDIS_DENIED.
import {
  errorCodes,
  type ProgressInput,
  progressChannel,
  progressKey,
  progressMessage,
  type RedisAuth,
} from "@reel/crds";
import { Redis } from "ioredis";

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

/**
 * Redis refused who we are or what we asked (WRONGPASS, NOAUTH, NOPERM), not merely went away. In a
 * MULTI the refusal is a queued command's, and EXEC fails with EXECABORT carrying it.
 */
export function redisDenied(err: unknown): boolean {
  const e = err as { message?: string; previousErrors?: Array<{ message?: string }> };
  const texts = [e?.message ?? "", ...(e?.previousErrors ?? []).map((p) => p?.message ?? "")];
  return texts.some((t) => /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(t));
}

/** The line a worker logs once when Redis refuses it: the code, what Redis said, the next step. */
export function deniedLine(err: Error): { code: "REEL_REDIS_DENIED"; reason: string; next: string } {
  const said = [err.message, ...((err as { previousErrors?: Error[] }).previousErrors ?? []).map((p) => p.message)];
  const reason = said.find((t) => /^(WRONGPASS|NOAUTH|NOPERM)/.test(t)) ?? err.message;
  return { code: "REEL_REDIS_DENIED", reason: reason.slice(0, 200), next: errorCodes.REEL_REDIS_DENIED };
}

/**
 * The pod's Redis client: its namespace's user when it has one. No ready check: it would send INFO,
 * which the user may not run (the ACL grants only what progress and the metadata cache send).
 */
export function workerRedis(url: string, auth?: RedisAuth): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...(auth ? { username: auth.username, password: auth.password, enableReadyCheck: false } : {}),
  });
}
