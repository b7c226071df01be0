// The metadata cache in Redis, for workers in a cluster: every pod of a job (and a retried pod)
// sees what another already extracted or probed. A Redis outage is a cache miss, never a failure.
import type { Redis } from "ioredis";
import { cacheKey, type MetadataCache } from "./cache.ts";

export class RedisCache implements MetadataCache {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = "reel:meta:") {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async get<T>(kind: string, key: string): Promise<T | undefined> {
    try {
      const raw = await this.#redis.get(this.#prefix + cacheKey(kind, key));
      return raw === null ? undefined : (JSON.parse(raw) as T);
    } catch {
      return undefined;
    }
  }

  async set<T>(kind: string, key: string, value: T, ttlSecs: number): Promise<void> {
    try {
      await this.#redis.set(
        this.#prefix + cacheKey(kind, key),
        JSON.stringify(value),
        "EX",
        Math.max(1, Math.round(ttlSecs)),
      );
    } catch {
      // Best effort: the work is done either way; only the next lookup misses.
    }
  }
}
