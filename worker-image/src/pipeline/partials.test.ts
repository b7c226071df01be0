import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { claimPartial, moveInto, sweepPartials } from "./partials.ts";

const errno = (code: string) => Object.assign(new Error(code), { code });

describe("moveInto", () => {
  it("fails with REEL_IO and keeps neither copy when the copy across filesystems runs out of space", async () => {
    const tmp = await makeTempDir("reel-move-");
    try {
      const from = join(tmp.dir, "a");
      const to = join(tmp.dir, "run", "source");
      await mkdir(join(tmp.dir, "run"));
      await writeFile(from, "x".repeat(1000));
      const ops = {
        rename: async () => {
          throw errno("EXDEV");
        },
        copyFile: async (_a: string, b: string) => {
          await writeFile(b, "half");
          throw errno("ENOSPC");
        },
      };
      await expect(moveInto(from, to, ops)).rejects.toMatchObject({
        code: "REEL_IO",
        message: expect.stringContaining("ENOSPC"),
      });
      expect(await readdir(tmp.dir)).toEqual(["run"]);
      expect(await readdir(join(tmp.dir, "run"))).toEqual([]);
    } finally {
      await tmp.cleanup();
    }
  });
});

describe("claimPartial", () => {
  it("gives a second fetch of one URL its own name while the first holds the stable one", async () => {
    const tmp = await makeTempDir("reel-claim-");
    try {
      const a = await claimPartial(tmp.dir, "http://x/a.mp4");
      const b = await claimPartial(tmp.dir, "http://x/a.mp4");
      expect(a.resumable).toBe(true);
      expect(b.resumable).toBe(false);
      expect(b.path).not.toBe(a.path);
      await b.release(false);
      await a.release(false);
      const c = await claimPartial(tmp.dir, "http://x/a.mp4");
      expect(c.path).toBe(a.path);
      await c.release(true);
      expect(await readdir(tmp.dir)).toEqual([]);
    } finally {
      await tmp.cleanup();
    }
  });

  it("keeps a released partial only while its control file makes it resumable", async () => {
    const tmp = await makeTempDir("reel-claim-");
    try {
      const a = await claimPartial(tmp.dir, "http://x/ranged.mp4");
      await writeFile(`${a.path}.part`, "half");
      await writeFile(`${a.path}.reel-ctl`, "{}");
      await a.release(false);
      const b = await claimPartial(tmp.dir, "http://x/single.mp4");
      await writeFile(`${b.path}.part`, "half");
      await b.release(false);
      const kept = (await readdir(tmp.dir)).sort();
      expect(kept).toEqual([`${a.path.split("/").at(-1)}.part`, `${a.path.split("/").at(-1)}.reel-ctl`].sort());
    } finally {
      await tmp.cleanup();
    }
  });

  it("gives exactly one of several fetches of one URL started at once the stable name", async () => {
    const tmp = await makeTempDir("reel-claim-");
    try {
      for (let round = 0; round < 20; round++) {
        const claims = await Promise.all([1, 2, 3].map(() => claimPartial(tmp.dir, "http://x/same.mp4")));
        expect(claims.filter((c) => c.resumable)).toHaveLength(1);
        expect(new Set(claims.map((c) => c.path)).size).toBe(3);
        await Promise.all(claims.map((c) => c.release(true)));
        expect(await readdir(tmp.dir)).toEqual([]);
      }
    } finally {
      await tmp.cleanup();
    }
  });

  it("takes over the lock of a process that died", async () => {
    const tmp = await makeTempDir("reel-claim-");
    try {
      const first = await claimPartial(tmp.dir, "http://x/a.mp4");
      await first.release(false);
      await writeFile(`${first.path}.lock`, "999999999");
      const again = await claimPartial(tmp.dir, "http://x/a.mp4");
      expect(again.resumable).toBe(true);
      await again.release(false);
      // A restarted container's predecessor often had our pid: its lock is not ours, so not held.
      await writeFile(`${first.path}.lock`, String(process.pid));
      const restarted = await claimPartial(tmp.dir, "http://x/a.mp4");
      expect(restarted.resumable).toBe(true);
      await restarted.release(true);
    } finally {
      await tmp.cleanup();
    }
  });
});

describe("sweepPartials", () => {
  it("removes old partials and the oldest past the size bound, never one a live fetch holds", async () => {
    const tmp = await makeTempDir("reel-sweep-");
    try {
      const now = Date.now();
      const put = async (name: string, bytes: number, ageH: number) => {
        await writeFile(join(tmp.dir, name), Buffer.alloc(bytes));
        const t = (now - ageH * 3600_000) / 1000;
        await utimes(join(tmp.dir, name), t, t);
      };
      await put("old.part", 10, 100);
      await put("old.reel-ctl", 10, 100);
      await put("mid.part", 600, 5);
      await put("new.part", 600, 1);
      await put("held.part", 600, 200);
      // Held by a live process: our parent.
      await writeFile(join(tmp.dir, "held.lock"), String(process.ppid));
      const removed = await sweepPartials(tmp.dir, { maxAgeMs: 72 * 3600_000, maxBytes: 1300, now });
      expect(removed.sort()).toEqual(["mid", "old"]);
      expect((await readdir(tmp.dir)).sort()).toEqual(["held.lock", "held.part", "new.part"]);
    } finally {
      await tmp.cleanup();
    }
  });
});
