// The worker pods' Redis users on a real redis-server that asks a password of its default user:
// made from the namespace's Secret, the worker's real progress publisher read by the operator's
// real progress reader through them, refused outside the namespace, and made again after Redis
// restarts (it keeps no users on disk) and by an operator that starts again (same password).
import { type RedisServer, startRedis } from "../../../e2e/src/services/redis.ts";
import { type RedisAuth, workerRedisUser } from "@reel/crds";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisDenied, redisProgress, workerRedis } from "../../../worker-image/src/worker/progress.ts";
import { redisProgressSource } from "../reconcile/progress.ts";
import { activeNamespaces } from "./start.ts";
import { defaultUserOpen, type SecretStore, WorkerAccess } from "./worker-access.ts";

const log = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kubernetes Secrets by namespace, in memory; counts creates. */
class FakeSecrets implements SecretStore {
  readonly data = new Map<string, { username: string; password: string }>();
  creates = 0;
  async password(ns: string) {
    return this.data.get(ns)?.password;
  }
  async create(ns: string, username: string, password: string) {
    if (this.data.has(ns)) return false;
    this.creates++;
    this.data.set(ns, { username, password });
    return true;
  }
  /** As `kubectl delete secret reel-redis-worker` would. */
  remove(ns: string) {
    this.data.delete(ns);
  }
  auth(ns: string): RedisAuth {
    const s = this.data.get(ns);
    if (!s) throw new Error(`no Secret in ${ns}`);
    return s;
  }
}

async function until<T>(f: () => Promise<T | undefined> | T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error("timed out");
    await sleep(25);
  }
}

/** The call's error (a failure when it was carried out). */
async function refusal(p: Promise<unknown>): Promise<Error> {
  return p.then(
    (v) => {
      throw new Error(`carried out: ${JSON.stringify(v)}`);
    },
    (e: Error) => e,
  );
}

let server: RedisServer;
let admin: Redis;
const clients: Redis[] = [];
const client = (r: Redis) => {
  clients.push(r);
  r.on("error", () => {});
  return r;
};

beforeAll(async () => {
  server = await startRedis({ password: "admin-password-for-the-test" });
  admin = client(new Redis(server.url, { maxRetriesPerRequest: 1 }));
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

describe("WorkerAccess on a real Redis", () => {
  it("makes a namespace's user from its Secret, and the worker's real publisher reaches the operator's real reader", async () => {
    const secrets = new FakeSecrets();
    const access = new WorkerAccess({ redis: admin, secrets, log, resyncMs: 0 });
    await access.ensure("team-a");
    expect(secrets.auth("team-a").username).toBe("reel-w-team-a");
    expect(secrets.auth("team-a").password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await admin.call("ACL", "USERS")).toContain("reel-w-team-a");

    const updates: string[] = [];
    const reader = redisProgressSource(
      server.url,
      (key) => updates.push(key),
      () => {},
    );
    const pod = client(workerRedis(server.bareUrl, secrets.auth("team-a")));
    const errors: Error[] = [];
    try {
      await sleep(200); // the reader's psubscribe
      const sink = redisProgress(pod, "team-a/season", { intervalMs: 10, onError: (e) => errors.push(e) });
      sink.report({ index: 1, stage: "encode", fraction: 0.5 });
      await sink.close();
      await until(() => updates.includes("team-a/season"));
      const read = await until(() => reader.read("team-a/season", 2));
      expect(read.get(1)).toEqual({ stage: "encode", fraction: 0.5, percent: 61, phase: "Transcoding" });
      expect(errors).toEqual([]);
    } finally {
      await reader.close();
      access.close();
    }
  });

  it("refuses a namespace's user another namespace's progress: the publisher's error is told apart as a refusal", async () => {
    const secrets = new FakeSecrets();
    const access = new WorkerAccess({ redis: admin, secrets, log, resyncMs: 0 });
    await access.ensure("team-a");
    await access.ensure("team-b");
    const pod = client(workerRedis(server.bareUrl, secrets.auth("team-a")));
    const errors: Error[] = [];
    const sink = redisProgress(pod, "team-b/season", { intervalMs: 10, onError: (e) => errors.push(e) });
    sink.report({ index: 0, stage: "fetch", fraction: 1 });
    await sink.close();
    access.close();
    expect(errors).toHaveLength(1);
    expect(redisDenied(errors[0])).toBe(true);
    expect(await admin.get("reel:progress:team-b/season:0")).toBeNull();
  });

  it("a wrong password is refused with WRONGPASS, which the worker tells apart from an outage", async () => {
    const secrets = new FakeSecrets();
    const access = new WorkerAccess({ redis: admin, secrets, log, resyncMs: 0 });
    await access.ensure("team-a");
    access.close();
    const pod = client(workerRedis(server.bareUrl, { username: workerRedisUser("team-a"), password: "x".repeat(43) }));
    const err = await pod.set("reel:progress:team-a/j:0", "{}").then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err, "a wrong password was let in").toBeDefined();
    expect(redisDenied(err)).toBe(true);
    expect(redisDenied(new Error("connect ECONNREFUSED 127.0.0.1:6379"))).toBe(false);
  });

  it("keeps the Secret's password: a second operator (or a second call) makes the same user, never a new password", async () => {
    const secrets = new FakeSecrets();
    const first = new WorkerAccess({ redis: admin, secrets, log, resyncMs: 0 });
    await first.ensure("team-c");
    await first.ensure("team-c");
    first.close();
    const second = new WorkerAccess({ redis: admin, secrets, log, resyncMs: 0 });
    await second.ensure("team-c");
    second.close();
    expect(secrets.creates).toBe(1);
    const pod = client(workerRedis(server.bareUrl, secrets.auth("team-c")));
    expect(await pod.set("reel:progress:team-c/j:0", "{}", "EX", 60)).toBe("OK");
  });

  it("a deleted Secret is made again with a new password before the next Jobs, and Redis's user follows it", async () => {
    const secrets = new FakeSecrets();
    const access = new WorkerAccess({ redis: admin, secrets, log, resyncMs: 0 });
    await access.ensure("team-g");
    const old = secrets.auth("team-g");
    secrets.remove("team-g");
    await access.ensure("team-g");
    access.close();
    const fresh = secrets.auth("team-g");
    expect(fresh.password).not.toBe(old.password);
    const now = client(workerRedis(server.bareUrl, fresh));
    expect(await now.set("reel:progress:team-g/j:0", "{}", "EX", 60)).toBe("OK");
    const before = client(workerRedis(server.bareUrl, old));
    expect(redisDenied(await refusal(before.set("reel:progress:team-g/j:0", "{}")))).toBe(true);
  });

  it("makes the users again when Redis restarts without them (on reconnect), and for active namespaces on its resync", async () => {
    const secrets = new FakeSecrets();
    const own = client(new Redis(server.url, { maxRetriesPerRequest: 1 }));
    await until(() => own.status === "ready" || undefined);
    const access = new WorkerAccess({ redis: own, secrets, log, resyncMs: 200, active: () => ["team-e"] });
    await access.ensure("team-d");
    const password = secrets.auth("team-d").password;
    await server.restart();
    // The restarted Redis knew no worker user; the operator's connection comes back and makes them.
    await until(async () => {
      const users = (await admin.call("ACL", "USERS").catch(() => [])) as string[];
      return users.includes("reel-w-team-d") && users.includes("reel-w-team-e") ? true : undefined;
    }, 10_000);
    access.close();
    expect(secrets.auth("team-d").password).toBe(password);
    const pod = client(workerRedis(server.bareUrl, secrets.auth("team-d")));
    expect(await pod.publish("reel:progress:team-d/j", "{}")).toBe(0);
    const e = client(workerRedis(server.bareUrl, secrets.auth("team-e")));
    expect(await e.set("reel:meta:team-e/probe:x", "{}", "EX", 60)).toBe("OK");
  });

  it("refuses to go on when the namespace's Secret cannot be made, with the code and what to grant", async () => {
    const denied: SecretStore = {
      password: async () => undefined,
      create: async () => {
        throw new Error('secrets is forbidden: cannot create resource "secrets" in namespace "team-f"');
      },
    };
    const access = new WorkerAccess({ redis: admin, secrets: denied, log, resyncMs: 0 });
    const err = await access.ensure("team-f").then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    access.close();
    expect(err?.code).toBe("REEL_CONFIG_INVALID");
    expect(err?.message).toMatch(/Secret team-f\/reel-redis-worker.*forbidden.*REEL_REDIS_WORKER_ACL=false/);
    expect(await admin.call("ACL", "USERS")).not.toContain("reel-w-team-f");
  });

  it("tells a Redis whose default user needs no password (pods could skip their user) from one that asks it", async () => {
    expect(await defaultUserOpen(admin)).toBe(false);
    const open = await startRedis();
    const r = client(new Redis(open.url, { maxRetriesPerRequest: 1 }));
    try {
      expect(await defaultUserOpen(r)).toBe(true);
    } finally {
      r.disconnect();
      await open.stop();
    }
  });
});

describe("activeNamespaces", () => {
  it("lists the namespaces of VideoJobs not yet finished, once each", () => {
    const vj = (namespace: string, phase?: string) => ({ metadata: { namespace }, status: phase ? { phase } : {} });
    const got = activeNamespaces([
      vj("a"),
      vj("a", "Running"),
      vj("b", "Completed"),
      vj("c", "Failed"),
      vj("d", "Merging"),
    ]);
    expect([...got]).toEqual(["a", "d"]);
  });
});
