import { globEscape, metadataPrefix, workerNamespace, workerPatterns, workerRedisUser } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { WORKER_COMMANDS, workerAclRules, workerRedisUrl } from "./acl.ts";

const PW = "a".repeat(43);

describe("workerAclRules", () => {
  it("gives a namespace's user its password, its own progress and cache keys, its channel and the worker's commands", () => {
    expect(workerAclRules("media", PW)).toEqual({
      user: "reel-w-media",
      rules: [
        "reset",
        "on",
        `>${PW}`,
        "~reel:progress:media/*",
        "~reel:meta:media/*",
        "~reel:polite:media/*",
        "&reel:progress:media/*",
        "-@all",
        "+ping",
        "+multi",
        "+exec",
        "+discard",
        "+publish",
        "+set",
        "+get",
        "+zadd",
        "+zcard",
        "+zrem",
        "+zremrangebyscore",
        "+pexpire",
      ],
    });
  });

  it("starts with reset, so a wider grant made earlier never survives", () => {
    expect(workerAclRules("a", PW).rules[0]).toBe("reset");
    expect(workerAclRules("a", PW).rules).not.toContain("allkeys");
    expect(workerAclRules("a", PW).rules).not.toContain("allchannels");
  });

  it("grants no administration, no key listing and no other data command", () => {
    for (const bad of ["keys", "scan", "flushall", "flushdb", "config", "acl", "del", "eval", "subscribe", "info"]) {
      expect(WORKER_COMMANDS as readonly string[]).not.toContain(bad);
    }
    expect(workerAclRules("a", PW).rules.filter((r) => r.startsWith("+@"))).toEqual([]);
  });

  it.each([["*"], ["a*"], ["a?"], ["[ab]"], ["a\\b"], ["A"], ["a/b"], ["a b"], [""], ["-a"], ["a".repeat(64)]])(
    "refuses namespace %j, which could widen or break the pattern",
    (ns) => {
      expect(() => workerAclRules(ns, PW)).toThrow(/not a namespace name/);
      expect(() => workerRedisUser(ns)).toThrow(/not a namespace name/);
      expect(() => metadataPrefix(ns)).toThrow(/not a namespace name/);
    },
  );

  it("escapes every glob character, so an escaped name can only match itself", () => {
    expect(globEscape("a*b?c[d]e\\f")).toBe("a\\*b\\?c\\[d\\]e\\\\f");
    expect(globEscape("team-1")).toBe("team-1");
  });

  it("gives each pattern one wildcard, at its end, after the namespace and a slash", () => {
    for (const ns of ["a", "team-1", "x".repeat(63)]) {
      const { keys, channels } = workerPatterns(ns);
      for (const p of [...keys, ...channels]) {
        expect(p.endsWith(`${workerNamespace(ns)}/*`)).toBe(true);
        expect(p.slice(0, -1)).not.toMatch(/[*?[\]\\]/);
      }
    }
  });

  it.each([["short"], [`${"a".repeat(40)} allkeys`], [`${"a".repeat(40)}>x`]])(
    "refuses password %j, which could carry another rule",
    (pw) => {
      expect(() => workerAclRules("a", pw)).toThrow(/password/);
    },
  );
});

describe("workerRedisUrl", () => {
  it("takes the operator's credentials out of the URL the pods get", () => {
    expect(workerRedisUrl("redis://admin:s3cret@redis.reel:6379")).toBe("redis://redis.reel:6379");
    expect(workerRedisUrl("rediss://:s3cret@redis.reel:6380/0")).toBe("rediss://redis.reel:6380/0");
    expect(workerRedisUrl("redis://redis.reel:6379")).toBe("redis://redis.reel:6379");
  });
});
