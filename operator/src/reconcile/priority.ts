// Job creation first. Under a burst of new VideoJobs the apiserver is the bottleneck, and what the
// user waits for is pods running; status and Events explain, they do not make work happen. So
// those writes wait while Job creates are in flight (bounded: never longer than `maxDeferMs`), and
// a VideoJob's status writes coalesce while they wait: only the latest is sent.
import type { Logger } from "pino";
import { ApiError } from "../kube/api.ts";

/**
 * Counts Job creates in flight; `idle()` resolves once none has been in flight for `quietMs` (a
 * burst of VideoJobs arrives as a stream, with short gaps between their reconciles' creates), or
 * after `maxDeferMs` at the latest.
 */
export class CreationGate {
  private inflight = 0;
  private lastEnd = 0;
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  readonly maxDeferMs: number;
  readonly quietMs: number;

  constructor(maxDeferMs = 30_000, quietMs = 250) {
    this.maxDeferMs = maxDeferMs;
    this.quietMs = quietMs;
  }

  get creating(): number {
    return this.inflight;
  }

  /** Runs a Job create through the gate. */
  async create<T>(fn: () => Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await fn();
    } finally {
      this.inflight--;
      this.lastEnd = Date.now();
      if (this.inflight === 0 && this.waiters.length) this.schedule();
    }
  }

  private quiet(): boolean {
    return this.inflight === 0 && Date.now() - this.lastEnd >= this.quietMs;
  }

  /** Checks again when the quiet period since the last create would be over. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (this.quiet()) for (const w of this.waiters.splice(0)) w();
        else if (this.inflight === 0 && this.waiters.length) this.schedule();
      },
      Math.max(1, this.lastEnd + this.quietMs - Date.now()),
    );
    this.timer.unref?.();
  }

  idle(): Promise<void> {
    if (this.quiet()) return Promise.resolve();
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        resolve();
      };
      const deadline = setTimeout(finish, this.maxDeferMs);
      deadline.unref?.();
      this.waiters.push(finish);
      if (this.inflight === 0) this.schedule();
    });
  }
}

export interface StatusWrite {
  /** The status this write will leave (what a reconcile should take as current meanwhile). */
  status: unknown;
  /** The merge patch to send, computed when it is sent (against what the informer then holds); undefined: nothing to write. */
  patch(): unknown | undefined;
  send(patch: unknown): Promise<void>;
}

/**
 * Status writes behind the gate: one pending write per key (a newer one replaces it), `concurrency`
 * at once. A write that fails (other than 404: the VideoJob is gone) is handed to `onError`, which
 * queues the key's reconcile again.
 */
export class DeferredStatus {
  /** Waiting writes in the order their keys were first queued, with when that was. */
  private readonly pending = new Map<string, { w: StatusWrite; at: number }>();
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly gate: CreationGate;
  private readonly log: Logger;
  private readonly onError: (key: string) => void;
  private readonly concurrency: number;

  private readonly settleMs: number;

  constructor(gate: CreationGate, log: Logger, onError: (key: string) => void, concurrency = 4, settleMs = 200) {
    this.gate = gate;
    this.log = log;
    this.onError = onError;
    this.concurrency = concurrency;
    this.settleMs = settleMs;
  }

  get size(): number {
    return this.pending.size + this.running;
  }

  /** Whether a write of this key waits. */
  has(key: string): boolean {
    return this.pending.has(key);
  }

  /** The status the waiting write of this key will leave, if one waits. */
  waiting(key: string): unknown | undefined {
    return this.pending.get(key)?.w.status;
  }

  write(key: string, w: StatusWrite): void {
    // A newer write replaces the waiting one and keeps its place and age.
    this.pending.set(key, { w, at: this.pending.get(key)?.at ?? Date.now() });
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.pending.size) {
      this.running++;
      void this.next().finally(() => {
        this.running--;
        if (this.pending.size) this.pump();
        else if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async next(): Promise<void> {
    await this.gate.idle();
    const first = this.pending.entries().next();
    if (first.done) return;
    const [key, { at }] = first.value;
    // A short settle per key: the changes of one moment (a Job and its pod reported together, four
    // episodes starting at once) become one write. Writes that already waited go at once.
    const wait = at + this.settleMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    const w = entry.w;
    const patch = w.patch();
    if (patch === undefined) return;
    try {
      await w.send(patch);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return;
      this.log.warn({ videojob: key, err: (e as Error).message }, "status not written; reconciling again");
      this.onError(key);
    }
  }

  /** Resolves when every pending write was sent, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
