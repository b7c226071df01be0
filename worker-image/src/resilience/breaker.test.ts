import { describe, expect, it } from "vitest";
import { ReelError } from "@reel/crds";
import { CircuitBreaker } from "./breaker.ts";

const fail = () => Promise.reject(new ReelError("REEL_SOURCE_UNREACHABLE", "reset"));
const ok = () => Promise.resolve("ok");

describe("CircuitBreaker", () => {
  it("opens after the threshold of consecutive failures and fails fast without calling", async () => {
    const t = 0;
    const b = new CircuitBreaker({ threshold: 3, cooldownMs: 1000, now: () => t });
    for (let i = 0; i < 3; i++)
      await expect(b.run("cdn", fail)).rejects.toMatchObject({ code: "REEL_SOURCE_UNREACHABLE" });
    let called = false;
    await expect(
      b.run("cdn", async () => {
        called = true;
      }),
    ).rejects.toMatchObject({ code: "REEL_CIRCUIT_OPEN" });
    expect(called).toBe(false);
    expect(b.state("cdn")).toBe("open");
    expect(b.state("other")).toBe("closed");
    await expect(b.run("other", ok)).resolves.toBe("ok");
  });

  it("lets one trial through after the cooldown; success closes, failure re-opens", async () => {
    let t = 0;
    const b = new CircuitBreaker({ threshold: 2, cooldownMs: 1000, now: () => t });
    await b.run("s3", fail).catch(() => {});
    await b.run("s3", fail).catch(() => {});
    t = 1000;
    expect(b.state("s3")).toBe("half-open");
    await expect(b.run("s3", fail)).rejects.toMatchObject({ code: "REEL_SOURCE_UNREACHABLE" });
    expect(b.state("s3")).toBe("open");
    t = 2000;
    await expect(b.run("s3", ok)).resolves.toBe("ok");
    expect(b.state("s3")).toBe("closed");
  });

  it("does not count the caller's own errors (404, egress refusals, cancellation)", async () => {
    const b = new CircuitBreaker({ threshold: 1 });
    await b.run("cdn", () => Promise.reject(new ReelError("REEL_SOURCE_NOT_FOUND", "404"))).catch(() => {});
    await b.run("cdn", () => Promise.reject(new ReelError("REEL_CANCELLED", "stop"))).catch(() => {});
    expect(b.state("cdn")).toBe("closed");
  });

  it("a success resets the count", async () => {
    const b = new CircuitBreaker({ threshold: 2 });
    await b.run("cdn", fail).catch(() => {});
    await b.run("cdn", ok);
    await b.run("cdn", fail).catch(() => {});
    expect(b.state("cdn")).toBe("closed");
  });
});
