import { ReelError } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { ApiError, printError } from "./errors.ts";

const capture = (err: unknown) => {
  let text = "";
  const code = printError(err, { write: (s: string) => (text += s) });
  return { code, text };
};

describe("printError", () => {
  it("prints the API's code, message, details and hint, and exits 2", () => {
    const err = new ApiError(400, {
      code: "REEL_JOB_INVALID",
      message: "invalid job",
      hint: "Fix the fields listed.",
      details: [{ path: "spec.episodes.0.url", message: "must be an http:// or https:// URL" }],
    });
    expect(capture(err)).toEqual({
      code: 2,
      text: "error REEL_JOB_INVALID: invalid job\n  - spec.episodes.0.url: must be an http:// or https:// URL\n  Fix the fields listed.\n",
    });
  });

  it("falls back to the registry's hint when the body has none, and tells to log in again on 401", () => {
    const err = new ApiError(
      401,
      { code: "REEL_NOT_LOGGED_IN", message: "key revoked" },
      { server: "https://reel.example.com" },
    );
    const { text } = capture(err);
    expect(text).toMatch(/^error REEL_NOT_LOGGED_IN: key revoked\n {2}The CLI has no credentials/);
    expect(text).toMatch(/\n {2}then: reel login --server https:\/\/reel.example.com\n$/);
  });

  it("keeps a code this CLI does not know yet (a newer server)", () => {
    const { text } = capture(
      new ApiError(418, { code: "REEL_FROM_THE_FUTURE", message: "new", hint: "Upgrade the CLI." }),
    );
    expect(text).toBe("error REEL_FROM_THE_FUTURE: new\n  Upgrade the CLI.\n");
  });

  it("says when to retry after a 429", () => {
    const err = new ApiError(
      429,
      { code: "REEL_RATE_LIMITED", message: "slow down", hint: "Wait." },
      { retryAfter: 30 },
    );
    expect(capture(err).text).toContain("  retry after 30s\n");
  });

  it("prints a ReelError as `error CODE: message` and its registry hint", () => {
    const { text } = capture(new ReelError("REEL_SHIM_UNREACHABLE", "cannot reach http://x: connection refused"));
    expect(text).toMatch(
      /^error REEL_SHIM_UNREACHABLE: cannot reach http:\/\/x: connection refused\n {2}The CLI could/,
    );
  });

  it("shows anything else as REEL_INTERNAL with its stack", () => {
    const { code, text } = capture(new TypeError("boom"));
    expect(code).toBe(2);
    expect(text).toMatch(
      /^error REEL_INTERNAL: boom\n {2}An unexpected error inside Reel.*\nTypeError: boom\n {4}at /s,
    );
  });
});
