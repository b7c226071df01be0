// A circuit breaker per key (a source host, the storage backend): after `threshold` consecutive
// failures it opens and fails fast with REEL_CIRCUIT_OPEN for `cooldownMs`, then lets one trial
// call through (half-open); that call's outcome closes or re-opens it. This keeps a failing CDN or
// bucket from being hammered by every episode's retries at once.
import { ReelError } from "@reel/crds";

export interface BreakerOptions {
  threshold?: number;
  cooldownMs?: number;
  now?: () => number;
  /** Which failures count; by default all but cancellations and the caller's own bad input. */
  counts?: (err: unknown) => boolean;
}

type State = { failures: number; openedAt?: number; trial: boolean };

const NOT_THE_SERVICES_FAULT = new Set([
  "REEL_CANCELLED",
  "REEL_JOB_INVALID",
  "REEL_EGRESS_DENIED",
  "REEL_UNSUPPORTED_SCHEME",
  "REEL_SOURCE_NOT_FOUND",
  "REEL_CHECKSUM_MISMATCH",
]);

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  readonly #counts: (err: unknown) => boolean;
  readonly #states = new Map<string, State>();

  constructor(opts: BreakerOptions = {}) {
    this.#threshold = opts.threshold ?? 5;
    this.#cooldownMs = opts.cooldownMs ?? 30_000;
    this.#now = opts.now ?? Date.now;
    this.#counts = opts.counts ?? ((err) => !NOT_THE_SERVICES_FAULT.has(String((err as { code?: unknown })?.code)));
  }

  state(key: string): "closed" | "open" | "half-open" {
    const s = this.#states.get(key);
    if (s?.openedAt === undefined) return "closed";
    return this.#now() - s.openedAt >= this.#cooldownMs ? "half-open" : "open";
  }

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const s = this.#states.get(key) ?? { failures: 0, trial: false };
    this.#states.set(key, s);
    const state = this.state(key);
    if (state === "open" || (state === "half-open" && s.trial)) {
      const waitS = Math.ceil((this.#cooldownMs - (this.#now() - (s.openedAt ?? 0))) / 1000);
      throw new ReelError(
        "REEL_CIRCUIT_OPEN",
        `${key}: ${s.failures} failures in a row; not trying again for ${Math.max(waitS, 1)}s`,
      );
    }
    if (state === "half-open") s.trial = true;
    try {
      const out = await fn();
      this.#states.delete(key);
      return out;
    } catch (err) {
      if (this.#counts(err)) {
        s.failures++;
        if (s.trial || s.failures >= this.#threshold) s.openedAt = this.#now();
      }
      s.trial = false;
      throw err;
    }
  }
}
