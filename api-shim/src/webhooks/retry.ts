// What one delivery attempt's result means: delivered, give up, or try again after a delay.
// Pure, so the whole policy is one table test (retry.test.ts).

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The ceiling of the first retry's delay; it doubles per attempt up to capMs. */
  baseMs: number;
  capMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 8, baseMs: 1_000, capMs: 5 * 60_000 };

/** What came back from one attempt (send.ts), or why none was made. */
export type AttemptResult =
  | { kind: "response"; status: number; retryAfterMs?: number }
  | { kind: "denied"; message: string }
  | { kind: "timeout"; message: string }
  | { kind: "network"; message: string }
  /** The attempt could not be prepared (Secret unreadable, URL lost); `final` when retrying cannot help. */
  | { kind: "unsendable"; message: string; final: boolean };

/** Final outcomes, the `outcome` label of reel_shim_webhook_deliveries_total. */
export type Outcome = "delivered" | "gone" | "rejected" | "denied" | "exhausted" | "invalid";

export type Decision =
  | { status: "delivered"; outcome: "delivered" }
  | { status: "failed"; outcome: Exclude<Outcome, "delivered">; error: string }
  | { status: "pending"; delayMs: number; error: string };

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 * the delay before attempt n+1 is uniform in [0, min(cap, base * 2^(n-1))). Full jitter spreads the
 * retries of many deliveries that failed together (an endpoint outage) instead of marching them in
 * step. `attempt` is the 1-based number of the attempt that just failed.
 */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** A human line for last_error; never holds headers, the secret or the signature. */
export function describe(result: AttemptResult): string {
  switch (result.kind) {
    case "response":
      return `HTTP ${result.status}`;
    case "denied":
      return `REEL_EGRESS_DENIED: ${result.message}`;
    case "timeout":
      return `timeout: ${result.message}`;
    case "network":
      return `network: ${result.message}`;
    case "unsendable":
      return result.message;
  }
}

/**
 * 2xx: delivered. 410: the endpoint is gone, stop. 408/429 and 5xx: retry (honouring Retry-After,
 * capped). Other 4xx: the endpoint rejects the request, which a retry would not change. 3xx:
 * redirects are never followed (the target would escape the registration check), so give up.
 * Timeouts and network errors: retry. Egress denied: give up, the guard will say the same again.
 */
export function decide(
  result: AttemptResult,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Decision {
  const error = describe(result);
  let retry: boolean;
  switch (result.kind) {
    case "response": {
      const s = result.status;
      if (s >= 200 && s < 300) return { status: "delivered", outcome: "delivered" };
      if (s === 410) return { status: "failed", outcome: "gone", error: `${error} (endpoint gone)` };
      if (s >= 300 && s < 400)
        return { status: "failed", outcome: "rejected", error: `${error} (redirect not followed)` };
      retry = s === 408 || s === 429 || s >= 500;
      if (!retry) return { status: "failed", outcome: "rejected", error };
      break;
    }
    case "denied":
      return { status: "failed", outcome: "denied", error };
    case "unsendable":
      if (result.final) return { status: "failed", outcome: "invalid", error };
      break;
    case "timeout":
    case "network":
      break;
  }
  if (attempt >= policy.maxAttempts) {
    return { status: "failed", outcome: "exhausted", error: `${error} (gave up after ${attempt} attempts)` };
  }
  let delayMs = backoffMs(attempt, policy, random);
  if (result.kind === "response" && result.retryAfterMs !== undefined) {
    delayMs = Math.max(delayMs, Math.min(result.retryAfterMs, policy.capMs));
  }
  return { status: "pending", delayMs, error };
}
