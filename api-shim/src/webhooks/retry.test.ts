import { describe, expect, it } from "vitest";
import { type AttemptResult, backoffMs, decide, type RetryPolicy } from "./retry.ts";

const policy: RetryPolicy = { maxAttempts: 5, baseMs: 1000, capMs: 10_000 };
const top = () => 0.999999;

describe("decide", () => {
  it.each<[string, AttemptResult, number, string, string | undefined]>([
    ["200 is delivered", { kind: "response", status: 200 }, 1, "delivered", "delivered"],
    ["204 is delivered", { kind: "response", status: 204 }, 3, "delivered", "delivered"],
    ["410 stops: the endpoint is gone", { kind: "response", status: 410 }, 1, "failed", "gone"],
    ["400 gives up", { kind: "response", status: 400 }, 1, "failed", "rejected"],
    ["401 gives up", { kind: "response", status: 401 }, 1, "failed", "rejected"],
    ["404 gives up", { kind: "response", status: 404 }, 1, "failed", "rejected"],
    ["a redirect is not followed", { kind: "response", status: 302 }, 1, "failed", "rejected"],
    ["408 is retried", { kind: "response", status: 408 }, 1, "pending", undefined],
    ["429 is retried", { kind: "response", status: 429 }, 1, "pending", undefined],
    ["500 is retried", { kind: "response", status: 500 }, 1, "pending", undefined],
    ["503 is retried", { kind: "response", status: 503 }, 4, "pending", undefined],
    ["a timeout is retried", { kind: "timeout", message: "t" }, 1, "pending", undefined],
    ["a network error is retried", { kind: "network", message: "reset" }, 1, "pending", undefined],
    ["egress denied gives up", { kind: "denied", message: "loopback" }, 1, "failed", "denied"],
    ["an unreadable Secret is retried", { kind: "unsendable", message: "x", final: false }, 1, "pending", undefined],
    ["a malformed secret gives up", { kind: "unsendable", message: "x", final: true }, 1, "failed", "invalid"],
    ["the last attempt's 500 exhausts", { kind: "response", status: 500 }, 5, "failed", "exhausted"],
    ["the last attempt's timeout exhausts", { kind: "timeout", message: "t" }, 5, "failed", "exhausted"],
  ])("%s", (_, result, attempt, status, outcome) => {
    const d = decide(result, attempt, policy, top);
    expect(d.status).toBe(status);
    if (outcome) expect(d).toMatchObject({ outcome });
  });

  it("honours Retry-After, capped", () => {
    expect(decide({ kind: "response", status: 429, retryAfterMs: 7000 }, 1, policy, () => 0)).toMatchObject({
      status: "pending",
      delayMs: 7000,
    });
    expect(decide({ kind: "response", status: 503, retryAfterMs: 3_600_000 }, 1, policy, () => 0)).toMatchObject({
      delayMs: 10_000,
    });
  });

  it("writes errors without headers or bodies", () => {
    expect(decide({ kind: "response", status: 500 }, 1, policy, top)).toMatchObject({ error: "HTTP 500" });
    expect(decide({ kind: "denied", message: "address 127.0.0.1 is loopback" }, 1, policy)).toMatchObject({
      error: "REEL_EGRESS_DENIED: address 127.0.0.1 is loopback",
    });
  });
});

describe("backoffMs", () => {
  it("doubles its ceiling per attempt up to the cap, with full jitter below it", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, policy, top))).toEqual([999, 1999, 3999, 7999, 9999, 9999]);
    expect(backoffMs(3, policy, () => 0)).toBe(0);
    expect(backoffMs(3, policy, () => 0.5)).toBe(2000);
  });
});
