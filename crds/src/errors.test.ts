import { describe, expect, it } from "vitest";
import { badInputCodes, errorCodes, isBadInput, isErrorCode, ReelError } from "./errors.ts";

describe("the error registry", () => {
  it("gives every code a REEL_ name and a meaning with a next step", () => {
    for (const [code, meaning] of Object.entries(errorCodes)) {
      expect(code).toMatch(/^REEL_[A-Z0-9_]+$/);
      expect(meaning.length, code).toBeGreaterThan(20);
    }
  });

  it("ReelError.from keeps a known code and falls back on an unknown one", () => {
    expect(ReelError.from(Object.assign(new Error("x"), { code: "REEL_HLS_LIVE" }), "REEL_IO").code).toBe(
      "REEL_HLS_LIVE",
    );
    expect(ReelError.from(Object.assign(new Error("x"), { code: "EACCES" }), "REEL_IO", "ctx").message).toBe("ctx: x");
  });
});

describe("isBadInput", () => {
  it("lists only registered codes", () => {
    for (const code of badInputCodes) expect(isErrorCode(code), code).toBe(true);
  });

  it.each([
    "REEL_SOURCE_NOT_FOUND",
    "REEL_SOURCE_FORBIDDEN",
    "REEL_EGRESS_DENIED",
    "REEL_MEDIA_INVALID",
    "REEL_HLS_INVALID",
    "REEL_SOURCE_TOO_LARGE",
    "REEL_JOB_INVALID",
    "REEL_WORKER_ENV_INVALID",
  ])("%s is bad input: retrying cannot fix it", (code) => {
    expect(isBadInput(code)).toBe(true);
  });

  it.each([
    "REEL_SOURCE_UNREACHABLE",
    "REEL_SOURCE_TIMEOUT",
    "REEL_SOURCE_HTTP",
    "REEL_STORAGE_FAILED",
    "REEL_FFMPEG_FAILED",
    "REEL_CANCELLED",
    "REEL_ENCODER_UNAVAILABLE",
    "REEL_YTDLP_FAILED",
    "REEL_STAGING_MISSING",
    "NOT_A_CODE",
    undefined,
  ])("%s is retried", (code) => {
    expect(isBadInput(code)).toBe(false);
  });
});
