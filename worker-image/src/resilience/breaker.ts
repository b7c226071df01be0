// A circuit breaker per key (a source host, the storage backend): after `threshold` consecutive
// failures it opens and fails fast with REEL_CIRCUIT_OPEN for `cooldownMs`, then lets one trial
// call through (half-open); that call's outcome closes or re-opens it. This keeps a failing CDN or
// bucket from being hammered by every episode's retries at once. Only the host's own failures count
// (`hostFault`).
import { ReelError } from "@reel/crds";

export interface BreakerOptions {
  threshold?: number;
  cooldownMs?: number;
  now?: () => number;
  /** Which failures count against the key; by default `hostFault`. */
  counts?: (err: unknown) => boolean;
}

type State = { failures: number; openedAt?: number; trial: boolean };

/** Codes that say the host or backend itself is unwell, whatever URL was asked of it. */
const HOST_FAULTS = new Set([
  "REEL_SOURCE_UNREACHABLE",
  "REEL_SOURCE_TIMEOUT",
  "REEL_SOURCE_TLS",
  "REEL_STORAGE_FAILED",
]);

/**
 * Whether a failure is the host's own (connect errors, timeouts, TLS, 5xx, 429): only these count.
 * Per-URL content errors (404, 403, a bad or live or looping playlist, too many redirects, media
 * that is not media) say nothing about the host: five bad playlists on a CDN must not fail every
 * healthy episode after them. An error with no Reel code comes from a storage SDK: it counts.
 */
export function hostFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !code.startsWith("REEL_")) return true;
  if (code === "REEL_SOURCE_HTTP") {
    // "… answered HTTP 503": 5xx, 429 and 408 are the host's; other statuses are the URL's.
    const status = Number(/HTTP (\d{3})/.exec((err as Error).message ?? "")?.[1] ?? Number.NaN);
    return Number.isNaN(status) || status >= 500 || status === 429 || status === 408;
  }
  return HOST_FAULTS.has(code);
}

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
    this.#counts = opts.counts ?? hostFault;
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
