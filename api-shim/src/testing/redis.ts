// Redis for the shim's integration tests: clients made as the shim makes its own, and a
// redis-server started for one suite. Tests only.
import { Redis, type RedisOptions } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { type RedisServer, startRedis } from "../../../e2e/src/services/redis.ts";

/**
 * Redis clients made as the shim makes its own (no offline queue: commands fail fast while not
 * connected), each ready when returned; close() disconnects them all.
 */
export function redisClients(extra: RedisOptions = {}) {
  const open: Redis[] = [];
  return {
    async connect(url: string): Promise<Redis> {
      const c = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, ...extra });
      c.on("error", () => {});
      open.push(c);
      if (c.status !== "ready") await new Promise((r) => c.once("ready", r));
      return c;
    },
    close(): void {
      for (const c of open) c.disconnect();
    },
  };
}

/**
 * A redis-server for the enclosing suite: started in beforeAll, stopped with every client made
 * through `client()` in afterAll. `server()` is for tests that stop or restart it.
 */
export function useRedisServer(extra: RedisOptions = {}) {
  let server: RedisServer | undefined;
  const clients = redisClients(extra);
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    clients.close();
    await server?.stop();
  });
  const running = (): RedisServer => {
    if (!server) throw new Error("redis-server is not started: call server() and client() inside a test");
    return server;
  };
  return { server: running, client: () => clients.connect(running().url) };
}
