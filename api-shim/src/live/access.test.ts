import { describe, expect, it } from "vitest";
import type { Principal } from "../auth/principal.ts";
import { createLogger } from "../log.ts";
import { type AccessCheck, LiveStreams, type StreamEnd } from "./access.ts";

const principal = (o: Partial<Principal> = {}): Principal => ({
  userId: 1,
  name: "vera",
  role: "viewer",
  tenant: "media",
  namespace: "media",
  via: "key",
  keyId: "ABCD1234",
  scopes: ["jobs:read"],
  ...o,
});

const streams = (check: AccessCheck, o: { maxPerCredential?: number; maxSeconds?: number } = {}) =>
  new LiveStreams({
    check,
    maxPerCredential: o.maxPerCredential ?? 5,
    maxSeconds: o.maxSeconds ?? 3600,
    log: createLogger("silent"),
  });

const tick = () => new Promise((r) => setTimeout(r, 10));

describe("live streams and the access that opened them", () => {
  it("ends the streams of a changed key whose re-check refuses, and only those", async () => {
    const refused = new Set<string>(["ABCD1234"]);
    const s = streams(async (p) =>
      refused.has(p.keyId ?? "") ? { code: "REEL_AUTH_INVALID", message: "revoked" } : undefined,
    );
    const ended: [string, StreamEnd][] = [];
    s.add(principal(), "media", (w) => ended.push(["a", w]));
    s.add(principal({ keyId: "OTHER123" }), "media", (w) => ended.push(["b", w]));
    s.changed({ key: "OTHER123" });
    await tick();
    expect(ended).toEqual([]);
    s.changed({ key: "ABCD1234" });
    await tick();
    expect(ended).toEqual([["a", { code: "REEL_AUTH_INVALID", message: "revoked" }]]);
    expect(s.size).toBe(1);
  });

  it("checks a credential once per change however many streams it holds", async () => {
    let calls = 0;
    const s = streams(async () => {
      calls++;
      return { code: "REEL_AUTH_INVALID", message: "revoked" };
    });
    let ended = 0;
    for (let i = 0; i < 4; i++) s.add(principal(), "media", () => ended++);
    s.changed({ all: true });
    await tick();
    expect([calls, ended, s.size]).toEqual([1, 4, 0]);
  });

  it("keeps a stream whose user changed but may still read the tenant", async () => {
    const s = streams(async () => undefined);
    let ended = false;
    s.add(principal({ via: "jwt", keyId: undefined }), "media", () => {
      ended = true;
    });
    s.changed({ user: 1 });
    s.changed({ all: true });
    await tick();
    expect(ended).toBe(false);
  });

  it("ends a stream when the re-check itself fails (REEL_UNAVAILABLE)", async () => {
    const s = streams(async () => {
      throw new Error("postgres down");
    });
    const ended: StreamEnd[] = [];
    s.add(principal(), "media", (w) => ended.push(w));
    s.changed({ all: true });
    await tick();
    expect(ended.map((e) => e.code)).toEqual(["REEL_UNAVAILABLE"]);
  });

  it("ends a JWT's stream at its exp, and caps streams per credential", async () => {
    const s = streams(async () => undefined, { maxPerCredential: 2 });
    const ended: StreamEnd[] = [];
    s.add(principal({ via: "jwt", keyId: undefined, expiresAt: Date.now() + 30 }), "media", (w) => ended.push(w));
    s.add(principal(), "media", () => {});
    const off = s.add(principal(), "media", () => {});
    expect(() => s.add(principal(), "media", () => {})).toThrow(/REEL_RATE_LIMITED|live streams/);
    off();
    expect(() => s.add(principal(), "media", () => {})).not.toThrow();
    await new Promise((r) => setTimeout(r, 80));
    expect(ended).toEqual([{ code: "REEL_AUTH_INVALID", message: "the token expired; sign in again" }]);
  });
});
