// The work queue: keys (namespace/name of a VideoJob) in, reconciles out. Like client-go's
// workqueue: a key waiting is never queued twice, a key being processed is never processed twice
// at once (an event during processing marks it dirty and it runs again after), failures back off
// per key exponentially, and an overall token bucket bounds the rate of reconciles.
import { TokenBucket } from "./rate.ts";

export interface QueueOptions {
  workers: number;
  /** Overall reconciles per second and burst. */
  rate?: { perSec: number; burst: number };
  /** Per-key backoff after failures: base * 2^(failures-1), capped. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  onDepth?: (depth: number) => void;
}

export interface ReconcileResult {
  /** Run this key again after this long (e.g. waiting on time-based state). */
  requeueAfterMs?: number;
}

export type Handler = (key: string) => Promise<ReconcileResult | undefined>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly bucket?: TokenBucket;
  private waiting: Array<() => void> = [];
  private stopped = false;
  private running: Promise<void>[] = [];

  private readonly handler: Handler;
  private readonly o: QueueOptions;
  private readonly onError: (key: string, err: unknown, retryInMs: number) => void;

  constructor(
    handler: Handler,
    o: QueueOptions,
    onError: (key: string, err: unknown, retryInMs: number) => void = () => {},
  ) {
    this.handler = handler;
    this.o = o;
    this.onError = onError;
    if (o.rate) this.bucket = new TokenBucket(o.rate.perSec, o.rate.burst);
  }

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.o.onDepth?.(this.queue.length);
    this.waiting.shift()?.();
  }

  /** Add after a delay; an earlier pending delay for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    if (this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, t);
  }

  /** Backoff of the key's next retry after `failures` failures in a row. */
  backoffMs(failures: number): number {
    const base = this.o.backoffBaseMs ?? 200;
    const max = this.o.backoffMaxMs ?? 5 * 60_000;
    return Math.min(max, base * 2 ** Math.max(0, failures - 1));
  }

  start(): void {
    for (let i = 0; i < this.o.workers; i++) this.running.push(this.worker());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiting.splice(0)) w();
    await Promise.all(this.running);
  }

  /** Resolves when nothing is queued, processing or waiting on a timer. */
  async idle(pollMs = 20): Promise<void> {
    while (this.queue.length || this.processing.size || this.timers.size) {
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped) {
      const key = this.queue.shift();
      if (key !== undefined) {
        this.queued.delete(key);
        this.o.onDepth?.(this.queue.length);
        return key;
      }
      await new Promise<void>((r) => this.waiting.push(r));
    }
    return undefined;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      await this.bucket?.take();
      this.processing.add(key);
      try {
        const r = await this.handler(key);
        this.failures.delete(key);
        if (r?.requeueAfterMs !== undefined) this.addAfter(key, r.requeueAfterMs);
      } catch (err) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        const wait = this.backoffMs(n);
        this.onError(key, err, wait);
        this.addAfter(key, wait);
      } finally {
        this.processing.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }
}
