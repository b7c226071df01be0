import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DiskCache } from "./cache.ts";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("DiskCache", () => {
  it("returns what was stored until it expires, then forgets it", async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-cache-"));
    let t = 1_000;
    const cache = new DiskCache(dir, () => t);
    await cache.set("probe", "https://cdn.example.com/a.mp4", { duration: 12.5 }, 60);
    expect(await cache.get("probe", "https://cdn.example.com/a.mp4")).toEqual({ duration: 12.5 });
    expect(await cache.get("ytdlp", "https://cdn.example.com/a.mp4")).toBeUndefined();
    t += 61_000;
    expect(await cache.get("probe", "https://cdn.example.com/a.mp4")).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes several writes of one entry at once (one URL listed three times), leaving no temporary file", async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-cache-"));
    const cache = new DiskCache(dir);
    const url = "https://cdn.example.com/same.mp4";
    for (let round = 0; round < 20; round++) {
      await Promise.all([1, 2, 3].map((n) => cache.set("probe", url, { n }, 60)));
    }
    expect([1, 2, 3]).toContainEqual((await cache.get<{ n: number }>("probe", url))?.n);
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("treats a torn entry as a miss", async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-cache-"));
    const cache = new DiskCache(dir);
    await cache.set("probe", "k", { a: 1 }, 60);
    const [file] = await readdir(dir);
    await writeFile(join(dir, file as string), "{not json");
    expect(await cache.get("probe", "k")).toBeUndefined();
  });

  it("keys by a hash, so URLs with secrets never appear in file names", async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-cache-"));
    const cache = new DiskCache(dir);
    await cache.set("probe", "https://cdn.example.com/a.mp4?sig=SECRET", 1, 60);
    const names = await readdir(dir);
    expect(names.join()).not.toContain("SECRET");
    expect(names[0]).toMatch(/^probe-[0-9a-f]{64}\.json$/);
  });
});
