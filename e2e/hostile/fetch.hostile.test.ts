// The hostile-input suite, the fetch path (issue #12): SSRF spellings and schemes, redirects and
// playlists pointing inside, sources claiming or sending more than the byte cap, a stalled server,
// one URL three times in a job, a run folder on another filesystem, and a full cache. Each case runs
// the real CLI with secrets planted in its env and asserts its REEL_* code, that no connection
// reached the canary, that no planted secret shows in anything printed or written, and that nothing
// stale was left behind.
import { execFile } from "node:child_process";
import { readFile, rename, writeFile } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { makeTestClip } from "../../worker-image/src/ffmpeg/test-media.ts";
import { type Hostile, hostile, type Run, secretsIn, textsUnder } from "./harness.ts";

const exec = promisify(execFile);

let h: Hostile | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f().catch(() => {});
  await h?.close();
  h = undefined;
});

interface Result {
  phase: string;
  error?: { code: string; message: string };
  episodes: { phase: string; error?: { code: string; message: string } }[];
}

/** Files a run may not leave: partial downloads and their control, lock and spool files, temp files. */
const stale = (files: string[]) =>
  files.filter((f) => /\.(part|tmp|reel-tmp|reel-ctl|lock)$|\.seg\d+$|^cache\/partial\/|^tmp\//.test(f));

/** What every case asserts: nothing reached the canary, no planted secret shows, nothing stale left. */
async function clean(c: Hostile, r: Run) {
  expect(c.canary.hits, "a connection reached the canary").toBe(0);
  expect(secretsIn([r.stdout, r.stderr, ...(await textsUnder(c.out))])).toEqual([]);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(stale(await c.leftovers())).toEqual([]);
}

/** Runs `episodes` with --json and answers the parsed result (exit 1 when any episode failed). */
async function runJob(c: Hostile, urls: string[], env: NodeJS.ProcessEnv = {}, name = "fetch") {
  const file = await c.manifest(name, {
    episodes: urls.map((url, i) => ({ url, title: `episode ${i + 1}` })),
    merge: { allowPartial: true },
  });
  const r = await c.reel(["run", file, "--json"], env);
  const result = JSON.parse(r.stdout || "{}") as Result;
  return { r, result, codes: (result.episodes ?? []).map((e) => e.error?.code ?? e.phase) };
}

/** A source on 127.0.0.2 (opened past the guard) that misbehaves as `handle` says. */
async function rogue(handle: (res: ServerResponse, path: string) => void): Promise<string> {
  const server: Server = createServer((req, res) => handle(res, req.url ?? "/"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.2", r));
  cleanups.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  );
  return `http://127.0.0.2:${(server.address() as AddressInfo).port}`;
}

/** Mounts a tmpfs of `size` at `dir`, or answers why not (the case is then skipped). */
async function tmpfs(dir: string, size: string): Promise<true | string> {
  const ok = await exec("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]).then(
    () => true as const,
    (e: Error) => e.message,
  );
  if (ok === true) cleanups.push(() => exec("umount", [dir]));
  return ok;
}

describe("reel run: the egress guard holds (REEL_EGRESS_DENIED, nothing reaches the canary)", () => {
  it("refuses internal addresses in every spelling, and schemes other than http(s)", async () => {
    h = await hostile("ssrf");
    const port = h.canary.port;
    const { r, codes } = await runJob(h, [
      `${h.canary.url}/a.mp4`,
      "http://169.254.169.254/latest/meta-data/iam/a.mp4",
      `http://[::1]:${port}/a.mp4`,
      `http://0x7f000003:${port}/a.mp4`,
      `http://2130706435:${port}/a.mp4`,
      `http://127.3:${port}/a.mp4`,
      `http://[::ffff:127.0.0.3]:${port}/a.mp4`,
      `${h.canary.url}/a.m3u8`,
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(codes).toEqual(Array(8).fill("REEL_EGRESS_DENIED"));
    await clean(h, r);
  }, 120_000);

  it("refuses file:, ftp: and gopher: sources before any work", async () => {
    h = await hostile("schemes");
    for (const url of ["file:///etc/passwd", "ftp://127.0.0.3/a.mp4", "gopher://127.0.0.3:70/_x"]) {
      const file = await h.manifest("scheme", { episodes: [{ url }] });
      const r = await h.reel(["run", file, "--json"]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/REEL_JOB_INVALID|REEL_UNSUPPORTED_SCHEME/);
      await clean(h, r);
    }
  }, 120_000);

  it("refuses a redirect from the source to the canary", async () => {
    const redirects: Record<string, string> = {};
    h = await hostile("redirect", { redirects });
    redirects["/r.mp4"] = `${h.canary.url}/a.mp4`;
    redirects["/meta.mp4"] = "http://169.254.169.254/latest/meta-data/";
    const { r, codes } = await runJob(h, [`${h.origin}/r.mp4`, `${h.origin}/meta.mp4`]);
    expect(r.code, r.stderr).toBe(1);
    expect(codes).toEqual(["REEL_EGRESS_DENIED", "REEL_EGRESS_DENIED"]);
    await clean(h, r);
  }, 120_000);

  it("refuses a playlist whose segment or key points at the canary, before fetching any segment", async () => {
    h = await hostile("hls-canary");
    const pl = (head: string, seg: string) =>
      `#EXTM3U\n#EXT-X-TARGETDURATION:2\n${head}#EXTINF:2.0,\nok.ts\n#EXTINF:2.0,\n${seg}\n#EXT-X-ENDLIST\n`;
    await writeFile(join(h.src, "ok.ts"), "x");
    await writeFile(join(h.src, "seg.m3u8"), pl("", `${h.canary.url}/s.ts`));
    await writeFile(join(h.src, "key.m3u8"), pl(`#EXT-X-KEY:METHOD=AES-128,URI="${h.canary.url}/k"\n`, "ok.ts"));
    await writeFile(join(h.src, "file.m3u8"), pl("", "file:///etc/passwd"));
    const { r, codes } = await runJob(h, [`${h.origin}/seg.m3u8`, `${h.origin}/key.m3u8`, `${h.origin}/file.m3u8`]);
    expect(r.code, r.stderr).toBe(1);
    expect(codes).toEqual(["REEL_EGRESS_DENIED", "REEL_EGRESS_DENIED", "REEL_HLS_BAD_URI"]);
    await clean(h, r);
  }, 120_000);
});

describe("reel run: the per-source byte cap (REEL_SOURCE_TOO_LARGE)", () => {
  it("refuses a source claiming 100 GB before writing a byte", async () => {
    h = await hostile("claim");
    const origin = await rogue((res) => {
      res.writeHead(200, { "content-length": String(100e9) });
      res.write(Buffer.alloc(64 * 1024)); // then nothing: a refusal must not wait for the body
    });
    const t = Date.now();
    const { r, codes } = await runJob(h, [`${origin}/huge.mp4`]);
    expect(r.code, r.stderr).toBe(1);
    expect(codes).toEqual(["REEL_SOURCE_TOO_LARGE"]);
    expect(Date.now() - t).toBeLessThan(30_000);
    await clean(h, r);
  }, 120_000);

  it("stops a chunked source of unknown length and an HLS stream at the cap (REEL_MAX_SOURCE_BYTES)", async () => {
    h = await hostile("running");
    const origin = await rogue((res) => {
      res.writeHead(200, { "content-type": "video/mp4" }); // no length: chunked, endless
      const block = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (!res.destroyed && res.write(block));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    const segs = [0, 1, 2, 3].map((i) => `#EXTINF:2.0,\ns${i}.ts\n`).join("");
    await writeFile(join(h.src, "big.m3u8"), `#EXTM3U\n#EXT-X-TARGETDURATION:2\n${segs}#EXT-X-ENDLIST\n`);
    for (const i of [0, 1, 2, 3]) await writeFile(join(h.src, `s${i}.ts`), Buffer.alloc(400_000, i));
    const { r, codes } = await runJob(h, [`${origin}/endless.mp4`, `${h.origin}/big.m3u8`], {
      REEL_MAX_SOURCE_BYTES: "1000000",
    });
    expect(r.code, r.stderr).toBe(1);
    expect(codes).toEqual(["REEL_SOURCE_TOO_LARGE", "REEL_SOURCE_TOO_LARGE"]);
    await clean(h, r);
  }, 120_000);
});

describe("reel run: the byte cap through yt-dlp", () => {
  // yt-dlp gets --max-filesize, stops at the cap and exits 0 without a file: its notice is the code.
  it("refuses a page source over REEL_MAX_SOURCE_BYTES with REEL_SOURCE_TOO_LARGE", async () => {
    h = await hostile("ytdlp-cap");
    await makeTestClip(join(h.src, "v.mp4"), { seconds: 2 });
    await rename(join(h.src, "v.mp4"), join(h.src, "video")); // no extension: a page, for yt-dlp
    const { r, codes } = await runJob(h, [`${h.origin}/video`], { REEL_MAX_SOURCE_BYTES: "1000" });
    expect(r.code, r.stderr).toBe(1);
    await clean(h, r);
    expect(codes).toEqual(["REEL_SOURCE_TOO_LARGE"]);
  }, 120_000);
});

describe("reel run: downloads that used to fail or leave files behind", () => {
  it("completes one URL listed three times in one job", async () => {
    h = await hostile("same-url");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const url = `${h.origin}/a.mp4`;
    const { r, result, codes } = await runJob(h, [url, url, url]);
    expect(r.code, r.stderr).toBe(0);
    expect(codes).toEqual(["Completed", "Completed", "Completed"]);
    expect(result.phase).toBe("Completed");
    await clean(h, r);
  }, 180_000);

  it("completes two runs of one URL at once, sharing one cache", async () => {
    h = await hostile("two-runs");
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const clip = await readFile(join(h.src, "a.mp4"));
    // Sent slowly (about 3 s) so the two downloads overlap.
    const origin = await rogue((res) => {
      res.writeHead(200, { "content-length": clip.length, "content-type": "video/mp4" });
      const step = Math.ceil(clip.length / 30);
      let at = 0;
      const timer = setInterval(() => {
        res.write(clip.subarray(at, at + step));
        at += step;
        if (at >= clip.length) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      res.on("close", () => clearInterval(timer));
    });
    const c = h;
    const runs = await Promise.all([1, 2].map((n) => runJob(c, [`${origin}/a.mp4`], {}, `run${n}`)));
    for (const { r, codes } of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(codes).toEqual(["Completed"]);
      await clean(c, r);
    }
  }, 180_000);

  it("completes a direct source when the run's temp dir is a tmpfs and the cache is on disk", async (t) => {
    h = await hostile("xfs");
    const mounted = await tmpfs(h.tmp, "64m");
    if (mounted !== true) return t.skip(`cannot mount a tmpfs: ${mounted}`);
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const { r, codes } = await runJob(h, [`${h.origin}/a.mp4`]);
    expect(r.code, r.stderr).toBe(0);
    expect(codes).toEqual(["Completed"]);
    await clean(h, r);
  }, 180_000);

  it("a full tmpfs run folder fails the copy with REEL_IO and keeps neither copy", async (t) => {
    h = await hostile("xfs-full");
    const mounted = await tmpfs(h.tmp, "1m");
    if (mounted !== true) return t.skip(`cannot mount a tmpfs: ${mounted}`);
    await writeFile(join(h.src, "big.mp4"), Buffer.alloc(3 << 20, 7));
    const { r, result, codes } = await runJob(h, [`${h.origin}/big.mp4`]);
    expect(r.code, r.stderr).toBe(1);
    expect(codes).toEqual(["REEL_IO"]);
    expect(result.episodes[0]?.error?.message).toMatch(/ENOSPC/);
    await clean(h, r);
  }, 120_000);

  it("a full cache fails with REEL_IO, leaves no partial files, and the next run completes", async (t) => {
    h = await hostile("full-cache");
    const mounted = await tmpfs(h.cache, "1m");
    if (mounted !== true) return t.skip(`cannot mount a tmpfs: ${mounted}`);
    await writeFile(join(h.src, "big.mp4"), Buffer.alloc(3 << 20, 7));
    const first = await runJob(h, [`${h.origin}/big.mp4`]);
    expect(first.r.code, first.r.stderr).toBe(1);
    expect(first.codes).toEqual(["REEL_IO"]);
    await clean(h, first.r);
    await makeTestClip(join(h.src, "a.mp4"), { seconds: 1 });
    const next = await runJob(h, [`${h.origin}/a.mp4`]);
    expect(next.r.code, next.r.stderr).toBe(0);
    expect(next.codes).toEqual(["Completed"]);
    await clean(h, next.r);
  }, 180_000);

  it("a stalled server fails within seconds here, saying how often and how long it was tried", async () => {
    h = await hostile("stall");
    const origin = await rogue((res) => {
      res.writeHead(200, { "content-length": "1000000" });
      res.write(Buffer.alloc(1000)); // then silence
    });
    const t = Date.now();
    const { r, result, codes } = await runJob(h, [`${origin}/stall.mp4`], {
      REEL_SOURCE_IDLE_TIMEOUT_SECS: "1",
      REEL_SOURCE_RETRIES: "2",
    });
    expect(r.code, r.stderr).toBe(1);
    expect(codes).toEqual(["REEL_SOURCE_TIMEOUT"]);
    expect(result.episodes[0]?.error?.message).toMatch(/gave up after 2 retries, \d+ s in all/);
    expect(Date.now() - t).toBeLessThan(60_000);
    await clean(h, r);
  }, 120_000);
});
