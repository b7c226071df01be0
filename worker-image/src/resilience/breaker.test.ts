import { describe, expect, it } from "vitest";
import { ReelError } from "@reel/crds";
import { CircuitBreaker, hostFault } from "./breaker.ts";

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

describe("hostFault: only failures of the host itself count against it", () => {
  it.each([
    ["REEL_SOURCE_UNREACHABLE", "connection refused", true],
    ["REEL_SOURCE_TIMEOUT", "idle read timeout", true],
    ["REEL_SOURCE_TLS", "certificate expired", true],
    ["REEL_SOURCE_HTTP", "https://cdn/x.mp4 answered HTTP 503", true],
    ["REEL_SOURCE_HTTP", "https://cdn/x.mp4 answered HTTP 429", true],
    ["REEL_STORAGE_FAILED", "upload failed: socket hang up", true],
    ["REEL_SOURCE_HTTP", "https://cdn/x.mp4 answered HTTP 400", false],
    ["REEL_SOURCE_FORBIDDEN", "https://cdn/x.mp4 answered HTTP 403", false],
    ["REEL_SOURCE_NOT_FOUND", "404", false],
    ["REEL_TOO_MANY_REDIRECTS", "too many redirects", false],
    ["REEL_HLS_BAD_URI", "file: segment", false],
    ["REEL_HLS_LOOP", "playlist refers to itself", false],
    ["REEL_HLS_LIVE", "no ENDLIST", false],
    ["REEL_HLS_INVALID", "not a playlist", false],
    ["REEL_SOURCE_PROTOCOL", "short body", false],
    ["REEL_MEDIA_INVALID", "not media", false],
    ["REEL_YTDLP_FAILED", "unsupported URL", false],
    ["REEL_CANCELLED", "stop", false],
    ["REEL_EGRESS_DENIED", "internal address", false],
  ] as const)("%s (%s) counts: %s", (code, message, counts) => {
    expect(hostFault(new ReelError(code, message))).toBe(counts);
  });

  it("counts an error with no Reel code (a storage SDK's own) as the backend's", () => {
    expect(hostFault(new Error("ECONNRESET"))).toBe(true);
  });

  it("five bad playlists on one CDN leave it closed for the next healthy episode", async () => {
    const b = new CircuitBreaker({ threshold: 5 });
    for (const code of [
      "REEL_HLS_BAD_URI",
      "REEL_HLS_LOOP",
      "REEL_HLS_LIVE",
      "REEL_HLS_INVALID",
      "REEL_TOO_MANY_REDIRECTS",
    ] as const)
      await b.run("source:cdn", () => Promise.reject(new ReelError(code, "bad playlist"))).catch(() => {});
    await b
      .run("source:cdn", () => Promise.reject(new ReelError("REEL_SOURCE_FORBIDDEN", "answered HTTP 403")))
      .catch(() => {});
    expect(b.state("source:cdn")).toBe("closed");
    await expect(b.run("source:cdn", ok)).resolves.toBe("ok");
  });
});
