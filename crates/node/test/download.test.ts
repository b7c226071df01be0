import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { download, errorCodes, hashFile, type ProgressEvent, ReelNativeError } from "../lib/index.ts";
import { randomBytes, serve } from "./server.ts";

const LOOPBACK = { allow: ["127.0.0.1/32"] };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-native-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function rejection(p: Promise<unknown>): Promise<ReelNativeError> {
  const err = await p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReelNativeError);
  return err as ReelNativeError;
}

describe("errorCodes", () => {
  it("lists every code with a REEL_ prefix and a meaning", () => {
    const codes = errorCodes();
    expect(codes.length).toBeGreaterThan(10);
    for (const c of codes) {
      expect(c.code).toMatch(/^REEL_[A-Z0-9_]+$/);
      expect(c.meaning.length).toBeGreaterThan(10);
    }
    expect(codes.map((c) => c.code)).toContain("REEL_EGRESS_DENIED");
  });
});

describe("hashFile", () => {
  it("hashes a file with BLAKE3 and SHA-256 without loading it", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 7);
    const p = join(dir, "hash.bin");
    await import("node:fs/promises").then((fs) => fs.writeFile(p, body));
    expect(await hashFile(p, "sha256")).toBe(`sha256:${sha256(body)}`);
    expect(await hashFile(p)).toMatch(/^blake3:[0-9a-f]{64}$/);
  });

  it("rejects a missing file with REEL_IO", async () => {
    const err = await rejection(hashFile(join(dir, "missing")));
    expect(err.code).toBe("REEL_IO");
  });
});

describe("download", () => {
  it("downloads over parallel ranges with progress at a bounded rate", async () => {
    const body = randomBytes(8 * 1024 * 1024);
    const server = await serve(body, { rate: 16 * 1024 * 1024 });
    try {
      const dest = join(dir, "ranged.bin");
      const events: ProgressEvent[] = [];
      const started = Date.now();
      const report = await download(
        { url: server.url, dest, connections: 4, net: { ...LOOPBACK, progressIntervalMs: 50 } },
        { onProgress: (p) => events.push(p) },
      );
      const elapsed = Date.now() - started;
      expect(sha256(await readFile(dest))).toBe(sha256(body));
      expect(report.bytes).toBe(body.length);
      expect(report.ranged).toBe(true);
      expect(report.connectionsUsed).toBeGreaterThan(1);
      expect(server.requests).toBeGreaterThan(1);
      expect(events.length).toBeGreaterThan(1);
      // At most one event per interval, plus the final one (and slack for timer skew).
      expect(events.length).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 3);
      const seen = events.map((e) => e.downloaded);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(events.at(-1)?.downloaded).toBe(body.length);
    } finally {
      await server.close();
    }
  });

  it("verifies a checksum and refuses a wrong one without leaving the file", async () => {
    const body = randomBytes(300_000, 7);
    const server = await serve(body);
    try {
      const ok = join(dir, "sum-ok.bin");
      const r = await download({ url: server.url, dest: ok, checksum: `sha256:${sha256(body)}`, net: LOOPBACK });
      expect(r.checksum).toBe(`sha256:${sha256(body)}`);
      const bad = join(dir, "sum-bad.bin");
      const err = await rejection(
        download({ url: server.url, dest: bad, checksum: `sha256:${"0".repeat(64)}`, net: LOOPBACK }),
      );
      expect(err.code).toBe("REEL_CHECKSUM_MISMATCH");
      await expect(stat(bad)).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  it("refuses loopback unless the caller allowlists it", async () => {
    const server = await serve(randomBytes(1000));
    try {
      const err = await rejection(download({ url: server.url, dest: join(dir, "denied.bin") }));
      expect(err.code).toBe("REEL_EGRESS_DENIED");
      expect(server.requests).toBe(0);
      const odd = await rejection(download({ url: "http://0x7f000001/x", dest: join(dir, "odd.bin") }));
      expect(odd.code).toBe("REEL_EGRESS_DENIED");
      const meta = await rejection(download({ url: "http://169.254.169.254/latest", dest: join(dir, "m.bin") }));
      expect(meta.code).toBe("REEL_EGRESS_DENIED");
    } finally {
      await server.close();
    }
  });

  it("fails at once with REEL_SOURCE_NOT_FOUND on 404", async () => {
    const server = await serve(Buffer.alloc(0), { status: 404 });
    try {
      const err = await rejection(download({ url: server.url, dest: join(dir, "404.bin"), net: LOOPBACK }));
      expect(err.code).toBe("REEL_SOURCE_NOT_FOUND");
      expect(server.requests).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("rejects bad options with REEL_INVALID_ARGUMENT", async () => {
    const err = await rejection(download({ url: "http://example.com/x", dest: join(dir, "x"), connections: 0 }));
    expect(err.code).toBe("REEL_INVALID_ARGUMENT");
    const sum = await rejection(download({ url: "http://example.com/x", dest: join(dir, "x"), checksum: "md5:1" }));
    expect(sum.code).toBe("REEL_INVALID_ARGUMENT");
  });

  it("cancels through an AbortSignal with REEL_CANCELLED", async () => {
    const server = await serve(randomBytes(4 * 1024 * 1024), { rate: 256 * 1024 });
    try {
      const ac = new AbortController();
      const started = Date.now();
      setTimeout(() => ac.abort(), 300);
      const err = await rejection(
        download({ url: server.url, dest: join(dir, "cancel.bin"), net: LOOPBACK }, { signal: ac.signal }),
      );
      expect(err.code).toBe("REEL_CANCELLED");
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await server.close();
    }
  });

  it("resumes after the downloading process is SIGKILLed, refetching only what was in flight", async () => {
    const body = randomBytes(6 * 1024 * 1024, 99);
    const server = await serve(body, { rate: 1024 * 1024 });
    try {
      const dest = join(dir, "resume.bin");
      const child = spawn(
        process.execPath,
        [join(import.meta.dirname, "fixtures-download-child.ts"), server.url, dest],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      await new Promise<void>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`child exited early with ${code}`)));
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          const last = Number(chunk.trim().split("\n").at(-1));
          if (last >= body.length / 2) {
            child.removeAllListeners("exit");
            child.kill("SIGKILL");
            child.once("exit", () => resolve());
          }
        });
      });
      await stat(`${dest}.reel-ctl`);
      const report = await download({ url: server.url, dest, connections: 4, chunkSize: 64 * 1024, net: LOOPBACK });
      expect(sha256(await readFile(dest))).toBe(sha256(body));
      expect(report.resumedBytes).toBeGreaterThan(0);
      // Only the chunks in flight at the kill (at most connections x chunk size) are fetched twice.
      expect(report.fetchedBytes + report.resumedBytes).toBeLessThanOrEqual(body.length + 4 * 64 * 1024);
      await expect(stat(`${dest}.reel-ctl`)).rejects.toThrow();
    } finally {
      await server.close();
    }
  });
});
