import { describe, expect, it } from "vitest";
import { generateKey, hashKey, keyMatches, parseKey } from "./keys.ts";

describe("API keys", () => {
  it("are reel_<8 base62>_<32 base62>, recognised by their prefix, and match only their own hash", () => {
    const k = generateKey();
    expect(k.key).toMatch(/^reel_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}$/);
    expect(k.prefix).toBe(`reel_${k.id}`);
    expect(parseKey(k.key)).toEqual({ id: k.id });
    expect(keyMatches(k.key, k.hash)).toBe(true);
    expect(keyMatches(`${k.key.slice(0, -1)}x`, k.hash)).toBe(false);
    expect(keyMatches(k.key, hashKey("other"))).toBe(false);
    expect(keyMatches(k.key, new Uint8Array(3))).toBe(false);
  });

  it("refuses anything not shaped like a key", () => {
    for (const bad of [
      "reel_short_x",
      "reel_abcdefgh_",
      "xreel_abcdefgh_0123456789abcdef0123456789abcdef",
      "reel_abcdefg!_0123456789abcdef0123456789abcdef",
    ]) {
      expect(parseKey(bad), bad).toBeUndefined();
    }
  });

  it("differ every time", () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateKey().key));
    expect(keys.size).toBe(200);
  });
});
