import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type SecretStore, WorkerAccess } from "./worker-access.ts";

/** A Redis that refuses ACL SETUSER quoting the rule, as Redis does for a modifier it cannot read. */
class RefusingRedis extends EventEmitter {
  // Not ready yet: no sync at construction, only the two ensure calls below.
  status = "connecting";
  calls: string[][] = [];
  async call(...args: string[]) {
    this.calls.push(args);
    if (args[1] === "USERS") return [];
    const rule = args.find((a) => a.startsWith(">")) ?? "";
    throw new Error(`ERR Error in ACL SETUSER modifier '${rule}': Syntax error`);
  }
}

describe("WorkerAccess", () => {
  it("logs a refused ACL SETUSER with REEL_REDIS_DENIED and without the password Redis quoted, and tries again on the next call", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => lines.push(l) });
    const password = "Zx".repeat(22);
    const secrets: SecretStore = { password: async () => password, create: async () => false };
    const redis = new RefusingRedis();
    const access = new WorkerAccess({ redis: redis as unknown as Redis, secrets, log, resyncMs: 0 });
    await access.ensure("team-a");
    await access.ensure("team-a");
    access.close();
    const setusers = redis.calls.filter((c) => c[1] === "SETUSER");
    // Not remembered as made: each ensure asks again.
    expect(setusers).toHaveLength(2);
    expect(lines.join("")).toContain("REEL_REDIS_DENIED");
    expect(lines.join("")).toContain("modifier '>***'");
    expect(lines.join("")).not.toContain(password);
  });
});
