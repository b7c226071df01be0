// The hostile-input suite, Redis shared by tenants (issue #13's last weak spot): a worker pod of
// namespace team-a, logged in as the user the operator made for it (operator/src/redis/ on a real
// redis-server whose default user needs a password), tries what a compromised pod would — write
// or read team-b's progress, seed team-b's metadata cache, eavesdrop on every tenant's channel,
// touch the shim's rate-limit and sequence keys, list keys, administer Redis, raise its own ACL —
// and each is refused (NOPERM, NOAUTH, WRONGPASS) with the victim's data unchanged. Its own
// progress still reaches the operator's reader and the shim's subscription, attributed to team-a.
import type { RedisAuth } from "@reel/crds";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribeProgress } from "../../api-shim/src/live/progress.ts";
import { redisLeaseStore } from "../../api-shim/src/ratelimit/redis.ts";
import { redisProgressSource } from "../../operator/src/reconcile/progress.ts";
import { type SecretStore, WorkerAccess } from "../../operator/src/redis/worker-access.ts";
import { redisDenied, redisProgress, workerRedis } from "../../worker-image/src/worker/progress.ts";
import { type RedisServer, startRedis } from "../src/services/redis.ts";
import { until } from "../src/until.ts";

const secrets = new Map<string, RedisAuth>();
const store: SecretStore = {
  password: async (ns) => secrets.get(ns)?.password,
  create: async (ns, username, password) => {
    if (secrets.has(ns)) return false;
    secrets.set(ns, { username, password });
    return true;
  },
};

let server: RedisServer;
let admin: Redis;
let access: WorkerAccess;
let pod: Redis;
const clients: Redis[] = [];
const client = (r: Redis) => {
  clients.push(r);
  r.on("error", () => {});
  return r;
};
const auth = (ns: string) => secrets.get(ns) as RedisAuth;

/** Team-b's state before the attacks, to compare with after each. */
const VICTIM = {
  "reel:progress:team-b/season:0": JSON.stringify({ v: 1, index: 0, stage: "encode", fraction: 0.25 }),
  "reel:meta:team-b/probe:abc": JSON.stringify({ blake3: "b", probe: { duration: 60 } }),
  "reel:ratelimit:key:ABCD1234": "3",
  "reel:seq:{team-b/season}": "41",
};

beforeAll(async () => {
  server = await startRedis({ password: "hostile-admin-password" });
  admin = client(new Redis(server.url, { maxRetriesPerRequest: 1 }));
  access = new WorkerAccess({ redis: admin, secrets: store, log: pino({ level: "silent" }), resyncMs: 0 });
  for (const ns of ["team-a", "team-b", "team"]) await access.ensure(ns);
  for (const [k, v] of Object.entries(VICTIM)) await admin.set(k, v);
  pod = client(workerRedis(server.bareUrl, auth("team-a")));
});
afterAll(async () => {
  access?.close();
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/** The call's error, or a failure when Redis carried it out. */
async function refused(p: Promise<unknown>): Promise<Error> {
  const r = await p.then(
    (v) => ({ ok: v }),
    (e: Error) => ({ err: e }),
  );
  if ("ok" in r) throw new Error(`Redis carried it out: ${JSON.stringify(r.ok)}`);
  return r.err;
}

async function victimUnchanged() {
  for (const [k, v] of Object.entries(VICTIM)) expect(await admin.get(k), k).toBe(v);
}

const attacks: Array<[string, (r: Redis) => Promise<unknown>]> = [
  ["publish into team-b's progress channel", (r) => r.publish("reel:progress:team-b/season", "{}")],
  ["overwrite team-b's kept progress", (r) => r.set("reel:progress:team-b/season:0", "{}", "EX", 60)],
  ["read team-b's kept progress", (r) => r.get("reel:progress:team-b/season:0")],
  ["seed team-b's metadata cache (a probe for its URL)", (r) => r.set("reel:meta:team-b/probe:abc", "{}")],
  ["read the metadata cache's old shared space", (r) => r.get("reel:meta:probe:abc")],
  [
    "fill team-b's per-host politeness slots (ZADD)",
    (r) => r.zadd("reel:polite:team-b/season:cdn.example:conn", 1, "x"),
  ],
  ["free team-b's per-host politeness slots (ZREM)", (r) => r.zrem("reel:polite:team-b/season:cdn.example:conn", "x")],
  ["read another job's count across namespaces (ZCARD)", (r) => r.zcard("reel:polite:team-b/season:cdn.example:rate")],
  ["raise the shim's rate-limit counter", (r) => r.set("reel:ratelimit:key:ABCD1234", "0")],
  ["delete the shim's rate-limit counter", (r) => r.call("DEL", "reel:ratelimit:key:ABCD1234")],
  ["move the shim's stream sequence", (r) => r.set("reel:seq:{team-b/season}", "0")],
  [
    "a namespace that is a prefix of another: team writes team-a's progress",
    async () => {
      const team = client(workerRedis(server.bareUrl, auth("team")));
      return team.publish("reel:progress:team-a/season", "{}");
    },
  ],
  [
    "eavesdrop on every tenant's progress (PSUBSCRIBE reel:progress:*)",
    async () => {
      const sub = client(workerRedis(server.bareUrl, auth("team-a")));
      return sub.psubscribe("reel:progress:*");
    },
  ],
  [
    "subscribe to team-b's channel",
    async () => {
      const sub = client(workerRedis(server.bareUrl, auth("team-a")));
      return sub.subscribe("reel:progress:team-b/season");
    },
  ],
  ["list every key (KEYS *)", (r) => r.call("KEYS", "*")],
  ["walk every key (SCAN)", (r) => r.call("SCAN", "0")],
  ["empty Redis (FLUSHALL)", (r) => r.call("FLUSHALL")],
  ["empty the database (FLUSHDB)", (r) => r.call("FLUSHDB")],
  ["change its configuration (CONFIG SET)", (r) => r.call("CONFIG", "SET", "maxmemory", "1")],
  ["read its configuration (CONFIG GET requirepass)", (r) => r.call("CONFIG", "GET", "requirepass")],
  ["widen its own user (ACL SETUSER allkeys)", (r) => r.call("ACL", "SETUSER", "reel-w-team-a", "allkeys")],
  ["read the users' rules (ACL LIST)", (r) => r.call("ACL", "LIST")],
  [
    "run a script on team-b's key (EVAL)",
    (r) => r.call("EVAL", "return redis.call('GET', KEYS[1])", "1", "reel:progress:team-b/season:0"),
  ],
  ["see the other clients (CLIENT LIST)", (r) => r.call("CLIENT", "LIST")],
  ["stop Redis (SHUTDOWN)", (r) => r.call("SHUTDOWN", "NOSAVE")],
  ["read server details (INFO)", (r) => r.call("INFO")],
  [
    "raise a counter in its own space (INCR: not a command the worker sends)",
    (r) => r.call("INCR", "reel:progress:team-a/n"),
  ],
];

describe("Redis: a worker pod of team-a, with its own user, is refused outside its namespace", () => {
  it.each(attacks)("refuses: %s (NOPERM), team-b's data unchanged", async (_what, attack) => {
    const err = await refused(attack(pod));
    expect(err.message).toMatch(/^NOPERM/);
    expect(redisDenied(err)).toBe(true);
    await victimUnchanged();
    expect(await admin.ping()).toBe("PONG"); // Redis is still up, its settings as they were
    expect(await admin.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", "0"]);
  });

  it("refuses a transaction that hides one forbidden write among allowed ones: nothing of it is done", async () => {
    const err = await refused(
      pod.multi().set("reel:progress:team-a/season:0", "mine").set("reel:progress:team-b/season:0", "forged").exec(),
    );
    expect(redisDenied(err)).toBe(true);
    expect(await admin.get("reel:progress:team-a/season:0")).toBeNull();
    await victimUnchanged();
  });

  it("refuses a pod that connects without a user, as every pod did before (NOAUTH)", async () => {
    const bare = client(new Redis(server.bareUrl, { maxRetriesPerRequest: 1, enableReadyCheck: false }));
    const err = await refused(bare.publish("reel:progress:team-b/season", "{}"));
    expect(err.message).toMatch(/^NOAUTH/);
    expect(redisDenied(err)).toBe(true);
  });

  it("refuses team-a's user with team-b's password, and team-b's user with team-a's (WRONGPASS)", async () => {
    for (const [user, pw] of [
      [auth("team-a").username, auth("team-b").password],
      [auth("team-b").username, auth("team-a").password],
    ] as const) {
      const r = client(workerRedis(server.bareUrl, { username: user, password: pw }));
      const err = await refused(r.set("reel:progress:team-b/season:0", "{}"));
      expect(err.message).toMatch(/WRONGPASS/);
    }
    await victimUnchanged();
  });

  it("refuses a namespace name that would widen the pattern before any user is made", async () => {
    for (const ns of ["*", "team-?", "[a-z]*"]) {
      await expect(access.ensure(ns)).rejects.toThrow(/not a namespace name/);
    }
    expect(((await admin.call("ACL", "USERS")) as string[]).filter((u) => u.startsWith("reel-w-")).sort()).toEqual([
      "reel-w-team",
      "reel-w-team-a",
      "reel-w-team-b",
    ]);
  });

  it("leaves the shim's rate limit as it was: the next lease counts from the shim's own count", async () => {
    await admin.set("reel:ratelimit:key:EFGH5678", "1", "PX", 60_000);
    await refused(pod.set("reel:ratelimit:key:EFGH5678", "-1000"));
    const lease = await redisLeaseStore(admin).lease("key:EFGH5678", 1, 60_000);
    expect(lease.count).toBe(2);
  });

  it("its own progress still reaches the operator's reader and the shim's stream, attributed to team-a only", async () => {
    const seenByShim: Array<{ key: string; index: unknown }> = [];
    const shim = subscribeProgress(
      server.url,
      (key, msg) => seenByShim.push({ key, index: msg.index }),
      () => {},
    );
    const queued: string[] = [];
    const operator = redisProgressSource(
      server.url,
      (key) => queued.push(key),
      () => {},
    );
    try {
      await until("the shim's subscription", async () => shim.connected || undefined, 5000, 25);
      await new Promise((r) => setTimeout(r, 200)); // both pattern subscriptions in place
      const errors: Error[] = [];
      const own = redisProgress(pod, "team-a/season", { intervalMs: 10, onError: (e) => errors.push(e) });
      own.report({ index: 2, stage: "measure", fraction: 0.5 });
      await own.close();
      const forged = redisProgress(pod, "team-b/season", { intervalMs: 10, onError: (e) => errors.push(e) });
      forged.report({ index: 0, stage: "done", fraction: 1, ended: "Completed" });
      await forged.close();
      await until("the operator's queue", async () => queued.includes("team-a/season") || undefined, 5000, 25);
      await until("the shim's event", async () => seenByShim.length > 0 || undefined, 5000, 25);
      await new Promise((r) => setTimeout(r, 200));
      expect(seenByShim).toEqual([{ key: "team-a/season", index: 2 }]);
      expect(queued).toEqual(["team-a/season"]);
      expect((await operator.read("team-a/season", 3))?.get(2)).toMatchObject({ stage: "measure", percent: 94 });
      // The forged "Completed" never landed: team-b's kept progress is its own.
      expect((await operator.read("team-b/season", 1))?.get(0)).toMatchObject({ stage: "encode", fraction: 0.25 });
      expect(errors.map(redisDenied)).toEqual([true]);
    } finally {
      await shim.close();
      await operator.close();
    }
  });
});
