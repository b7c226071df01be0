import { describe, expect, it } from "vitest";
import { bearer, sameSecret } from "./authenticate.ts";

describe("credentials on the request path", () => {
  it("compare equal strings as equal and any difference, anywhere, as different", () => {
    const k = "reel_abcdefgh_0123456789abcdef0123456789abcdef";
    expect(sameSecret(k, `${k}`)).toBe(true);
    expect(sameSecret(k, `x${k.slice(1)}`)).toBe(false);
    expect(sameSecret(k, `${k.slice(0, -1)}x`)).toBe(false);
    expect(sameSecret(k, k.slice(0, -1))).toBe(false);
    expect(sameSecret("", "")).toBe(true);
  });

  it("take the bearer token, or the query token where headers cannot be set", () => {
    expect(bearer("Bearer abc")).toBe("abc");
    expect(bearer("bearer abc ")).toBe("abc");
    expect(bearer(undefined, "q")).toBe("q");
    expect(bearer(undefined)).toBeUndefined();
    expect(() => bearer("Basic abc")).toThrow(/Bearer/);
  });
});
