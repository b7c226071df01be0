// Source metadata (yt-dlp info, probe results) cached by URL, so a retried or re-run episode does
// not extract or probe the same source again. On local disk for `reel run`; in Redis when the
// worker runs in a cluster (redis-cache.ts). Values are JSON; entries expire.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface MetadataCache {
  get<T>(kind: string, key: string): Promise<T | undefined>;
  set<T>(kind: string, key: string, value: T, ttlSecs: number): Promise<void>;
}

export function cacheKey(kind: string, key: string): string {
  return `${kind}:${createHash("sha256").update(key).digest("hex")}`;
}

interface Entry<T> {
  expiresAt: number;
  value: T;
}

export class DiskCache implements MetadataCache {
  readonly #dir: string;
  readonly #now: () => number;

  constructor(dir: string, now: () => number = Date.now) {
    this.#dir = dir;
    this.#now = now;
  }

  #path(kind: string, key: string): string {
    return join(this.#dir, `${cacheKey(kind, key).replace(":", "-")}.json`);
  }

  async get<T>(kind: string, key: string): Promise<T | undefined> {
    const path = this.#path(kind, key);
    let entry: Entry<T>;
    try {
      entry = JSON.parse(await readFile(path, "utf8")) as Entry<T>;
    } catch {
      return undefined; // missing or torn: a cache miss, never an error
    }
    if (entry.expiresAt <= this.#now()) {
      await rm(path, { force: true });
      return undefined;
    }
    return entry.value;
  }

  async set<T>(kind: string, key: string, value: T, ttlSecs: number): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const path = this.#path(kind, key);
    // One temporary name per write, not per process: two episodes of one source (the same URL listed
    // twice) write the same entry at once, and a shared name made one rename fail with ENOENT.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    const entry: Entry<T> = { expiresAt: this.#now() + ttlSecs * 1000, value };
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, path); // atomic: a concurrent reader sees the old entry or the new one
  }
}
