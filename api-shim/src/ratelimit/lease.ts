// Fixed-window rate limits shared by every shim replica through Redis, without a Redis round trip per
// request. The window's counter lives in Redis (one key per limited address or credential, expiring
// with the window); a replica takes tokens from it in leases (INCRBY n) and spends them locally.
//
// What holds, for `max` requests per window:
// - Never more than `max` admitted per window across all replicas: a lease grants only what is left
//   under `max` in the Redis counter, and a lease's tokens die at the window's end as this replica
//   sees it, which is never later than Redis's (it is measured from when the lease was sent).
// - Refused early by at most what other replicas hold leased and unspent: one lease (at most
//   max/32, at most 4096) plus the quarter of one they may have prefetched, i.e. below 4% of `max`
//   per other replica. A limit under 64 leases one token at a time: exact, as before.
// - The batch adapts to the key's rate: it doubles when a lease was spent within 100 ms and halves
//   when it lasted over a second, so a slow client costs one Redis call per request (as before) and
//   a busy one about ten per second (at the cap, 4096 tokens last 100 ms at 41,000 requests/s).
// - Redis unreachable: requests go through (the API must not go down with Redis), as before.

/** The Redis side: add `n` to `key`'s counter (creating it with a `windowMs` TTL) and say where it stands. */
export interface LeaseStore {
  lease(key: string, n: number, windowMs: number): Promise<{ count: number; ttlMs: number }>;
}

/** undefined: allowed. A number: refused, retry after that many seconds. */
export type Decision = number | undefined;

interface Bucket {
  /** Tokens leased in the current window and not spent yet. */
  tokens: number;
  /** When the current window ends, on this process's clock (ms); tokens are void from then on. */
  ends: number;
  /** Redis has nothing left in this window: refuse locally until `ends`. */
  exhausted: boolean;
  /** Size of the next lease. */
  batch: number;
  grantedAt: number;
  pending: boolean;
  waiters: ((d: Decision) => void)[];
}

export interface LeasedLimiterOptions {
  store: LeaseStore;
  max: number;
  windowMs: number;
  /** Upper bound on one lease; default min(4096, max/32), at least 1. */
  maxBatch?: number;
  now?: () => number;
  onError?: (err: Error) => void;
}

const FAST_MS = 100;
const SLOW_MS = 1000;

export class LeasedLimiter {
  readonly max: number;
  readonly windowMs: number;
  private readonly store: LeaseStore;
  private readonly maxBatch: number;
  private readonly now: () => number;
  private readonly onError: (err: Error) => void;
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(o: LeasedLimiterOptions) {
    this.store = o.store;
    this.max = o.max;
    this.windowMs = o.windowMs;
    this.maxBatch = Math.max(1, Math.min(o.maxBatch ?? 4096, Math.floor(o.max / 32)));
    this.now = o.now ?? (() => performance.now());
    this.onError = o.onError ?? (() => {});
    // Buckets of windows that ended are dropped, so many addresses do not grow the map for good.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, o.windowMs)).unref();
  }

  /** Counts one request for `key`; synchronous while this replica holds tokens for it. */
  take(key: string): Decision | Promise<Decision> {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: 0, ends: 0, exhausted: false, batch: 1, grantedAt: 0, pending: false, waiters: [] };
      this.buckets.set(key, b);
    } else if (now >= b.ends) {
      b.tokens = 0;
      b.exhausted = false;
    }
    if (b.tokens > 0) {
      b.tokens--;
      // Prefetch while a quarter of the lease is left, so a busy key never waits on Redis.
      if (!b.exhausted && !b.pending && b.tokens <= b.batch >> 2) this.lease(key, b);
      return undefined;
    }
    if (b.exhausted) return retryAfter(b.ends - now);
    const bucket = b;
    return new Promise<Decision>((resolve) => {
      bucket.waiters.push(resolve);
      if (!bucket.pending) this.lease(key, bucket);
    });
  }

  /** Buckets held (tests, metrics). */
  get size(): number {
    return this.buckets.size;
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private lease(key: string, b: Bucket): void {
    const sent = this.now();
    if (b.grantedAt) {
      const lasted = sent - b.grantedAt;
      if (lasted < FAST_MS) b.batch = Math.min(b.batch * 2, this.maxBatch);
      else if (lasted > SLOW_MS) b.batch = Math.max(1, b.batch >> 1);
    }
    const n = Math.min(this.maxBatch, Math.max(b.batch, b.waiters.length));
    b.pending = true;
    this.store.lease(key, n, this.windowMs).then(
      ({ count, ttlMs }) => {
        b.pending = false;
        const now = this.now();
        b.grantedAt = now;
        const granted = Math.max(0, Math.min(n, this.max - (count - n)));
        // Measured from the send: Redis started the TTL no earlier, so this end is never later.
        const ends = sent + ttlMs;
        if (now >= b.ends || ends > b.ends + this.windowMs / 2) {
          // A new window (ours ended, or another replica opened the next): old tokens are void.
          b.tokens = granted;
          b.ends = ends;
          b.exhausted = false;
        } else {
          b.tokens += granted;
          b.ends = Math.min(b.ends, ends);
        }
        if (count >= this.max) b.exhausted = true;
        this.settle(key, b, now);
      },
      (err: Error) => {
        b.pending = false;
        this.onError(err);
        // Redis is away: let the waiting requests through, and ask again on the next request.
        for (const w of b.waiters.splice(0)) w(undefined);
      },
    );
  }

  private settle(key: string, b: Bucket, now: number): void {
    let i = 0;
    while (i < b.waiters.length && b.tokens > 0) {
      b.tokens--;
      (b.waiters[i++] as (d: Decision) => void)(undefined);
    }
    b.waiters.splice(0, i);
    if (!b.waiters.length) return;
    if (b.exhausted) {
      const after = retryAfter(b.ends - now);
      for (const w of b.waiters.splice(0)) w(after);
    } else {
      this.lease(key, b);
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, b] of this.buckets) if (now >= b.ends && !b.pending && !b.waiters.length) this.buckets.delete(k);
  }
}

function retryAfter(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
