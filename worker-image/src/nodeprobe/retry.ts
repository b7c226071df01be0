// Retries with exponential backoff for calls that may meet a restarting apiserver.
import { setTimeout as sleep } from "node:timers/promises";

export interface RetryOptions {
  attempts: number;
  /** First wait; doubled after each failure, capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs?: number;
  /** Aborting stops waiting and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** False: give up at once (a missing Node will not appear by asking again). */
  retryable?(err: unknown): boolean;
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
}

export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    o.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (attempt >= o.attempts || o.retryable?.(err) === false || o.signal?.aborted) throw err;
      const delayMs = Math.min(o.baseDelayMs * 2 ** (attempt - 1), o.maxDelayMs ?? 30_000);
      o.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, undefined, o.signal ? { signal: o.signal } : {});
    }
  }
}
