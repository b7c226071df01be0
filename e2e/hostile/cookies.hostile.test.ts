// The hostile-input suite, cookies (issue #16): `reel run --cookies FILE` against a loopback site
// that serves its page and video only with the cookie. The cookie's value is a unique marker that
// must never show in what the run prints or writes, in yt-dlp's environment (/proc/<pid>/environ)
// or argv, or in the error of a failed download; yt-dlp gets a private copy, never the user's file.
// The same for `reel worker` as a page episode's pod: its logs, its termination message (what the
// operator writes to the job's status and events) and what it staged.
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { podcastFeed } from "../../worker-image/src/fetch/test-site.ts";
import { makeTestClip } from "../../worker-image/src/ffmpeg/test-media.ts";
import { workerMain } from "../../worker-image/src/worker/main.ts";
import { type Hostile, hostile, secretsIn, textsUnder } from "./harness.ts";

const MARKER = "ck_hostile_marker_9d41c7";
const ytDlp = join(process.env.HOME ?? "", ".cache", "reel", "venv", "bin", "yt-dlp");

let h: Hostile | undefined;
let site: { origin: string; cookies: string[]; close(): Promise<void> } | undefined;
afterEach(async () => {
  await site?.close();
  await h?.close();
  h = site = undefined;
});

/**
 * A site on 127.0.0.2 whose /watch page, /feed.xml (a podcast feed of two items) and /a.mp4 answer
 * 403 without `session=MARKER`; /locked always 403.
 */
async function gatedSite(video: string) {
  const cookies: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    cookies.push(req.headers.cookie ?? "");
    const signedIn = (req.headers.cookie ?? "").split(/;\s*/).includes(`session=${MARKER}`);
    if (!signedIn || path === "/locked")
      return void res.writeHead(403, { "content-type": "text/plain" }).end("sign in");
    if (path === "/feed.xml") {
      const items = ["One", "Two"].map((title) => ({ title, url: `http://${req.headers.host}/a.mp4` }));
      return void res.writeHead(200, { "content-type": "application/rss+xml" }).end(podcastFeed("Members", items));
    }
    if (path === "/watch") {
      const html = '<html><head><title>Members</title></head><body><video src="/a.mp4"></video></body></html>';
      return void res.writeHead(200, { "content-type": "text/html" }).end(html);
    }
    if (path !== "/a.mp4") return void res.writeHead(404).end();
    const body = await readFile(video);
    res.writeHead(200, { "content-type": "video/mp4", "content-length": body.length }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.2", ok));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.2:${port}`,
    cookies,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** A yt-dlp that records its own /proc/<pid>/environ and argv (exec keeps the pid), then runs the real one. */
async function recordingYtDlp(c: Hostile): Promise<string> {
  const path = join(c.dir, "yt-dlp-wrapper");
  await writeFile(
    path,
    `#!/bin/sh\ntr '\\0' '\\n' < /proc/$$/environ >> "${c.dir}/yt-dlp.environ"\n` +
      `printf '%s\\n' "$@" >> "${c.dir}/yt-dlp.argv"\nexec ${ytDlp} "$@"\n`,
  );
  await chmod(path, 0o755);
  return path;
}

const cookiesFile = (host: string) =>
  `# Netscape HTTP Cookie File\n${host}\tFALSE\t/\tFALSE\t2000000000\tsession\t${MARKER}\n`;

describe("reel run --cookies: a signed-in site", () => {
  it("fetches a page that needs the cookie, and the cookie shows nowhere: output, yt-dlp's environ and argv, leftovers", async () => {
    h = await hostile("cookies");
    const c = h;
    await makeTestClip(join(c.src, "a.mp4"), { seconds: 1 });
    site = await gatedSite(join(c.src, "a.mp4"));
    const file = join(c.dir, "cookies.txt");
    await writeFile(file, cookiesFile("127.0.0.2"));
    const before = await readFile(file, "utf8");
    const job = await c.manifest("cookies", { episodes: [{ url: `${site.origin}/watch`, title: "members" }] });
    const r = await c.reel(["run", job, "--json", "--cookies", file], { REEL_YTDLP: await recordingYtDlp(c) });
    expect(r.code, r.stderr).toBe(0);
    // The cookie was really sent: the gated page and video answered (403 without it).
    expect(site.cookies.filter((k) => k.includes(MARKER)).length).toBeGreaterThanOrEqual(2);
    const environ = await readFile(join(c.dir, "yt-dlp.environ"), "utf8");
    const argv = (await readFile(join(c.dir, "yt-dlp.argv"), "utf8")).split("\n");
    expect(environ).toContain("PATH=");
    const copy = argv[argv.indexOf("--cookies") + 1] ?? "";
    expect(copy).not.toBe(file);
    expect(copy.startsWith(c.tmp)).toBe(true);
    expect(secretsIn([r.stdout, r.stderr, environ, argv.join("\n"), ...(await textsUnder(c.out))], [MARKER])).toEqual(
      [],
    );
    // The user's file is as it was (yt-dlp writes its jar back to the copy), and no copy is left.
    expect(await readFile(file, "utf8")).toBe(before);
    await expect(stat(copy)).rejects.toThrow();
    expect((await c.leftovers()).filter((f) => f.includes("cookies"))).toEqual([]);
    expect(secretsIn([...(await textsUnder(c.cache)), ...(await textsUnder(c.tmp))], [MARKER])).toEqual([]);
  });

  it("without the cookie the same page fails REEL_SOURCE_FORBIDDEN; with it a refused page's error holds no cookie", async () => {
    h = await hostile("cookies-fail");
    const c = h;
    await makeTestClip(join(c.src, "a.mp4"), { seconds: 1 });
    site = await gatedSite(join(c.src, "a.mp4"));
    const file = join(c.dir, "cookies.txt");
    await writeFile(file, cookiesFile("127.0.0.2"));
    const bare = await c.manifest("bare", { episodes: [{ url: `${site.origin}/watch` }] });
    const without = await c.reel(["run", bare, "--json"]);
    expect(without.code, without.stderr).toBe(1);
    expect(JSON.parse(without.stdout).episodes[0].error.code).toBe("REEL_SOURCE_FORBIDDEN");
    const locked = await c.manifest("locked", { episodes: [{ url: `${site.origin}/locked` }] });
    const r = await c.reel(["run", locked, "--json", "--cookies", file]);
    expect(r.code, r.stderr).toBe(1);
    const error = JSON.parse(r.stdout).episodes[0].error as { code: string; message: string };
    expect(error.code).toBe("REEL_SOURCE_FORBIDDEN");
    expect(error.message).toContain("403");
    expect(site.cookies.some((k) => k.includes(MARKER))).toBe(true);
    expect(secretsIn([r.stdout, r.stderr, ...(await textsUnder(c.out))], [MARKER])).toEqual([]);
  });

  it("lists a playlist that needs the cookie (--dry-run), and the cookie shows nowhere", async () => {
    h = await hostile("cookies-list");
    const c = h;
    site = await gatedSite(join(c.dir, "none.mp4"));
    const file = join(c.dir, "cookies.txt");
    await writeFile(file, cookiesFile("127.0.0.2"));
    const job = await c.manifest("list", { episodes: [{ playlist: `${site.origin}/feed.xml` }] });
    const without = await c.reel(["run", job, "--json", "--dry-run"]);
    expect(without.code, without.stdout).toBe(2);
    expect(without.stderr).toContain("REEL_SOURCE_FORBIDDEN");
    const r = await c.reel(["run", job, "--json", "--dry-run", "--cookies", file], {
      REEL_YTDLP: await recordingYtDlp(c),
    });
    expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse(r.stdout) as { episodes: { title?: string; url: string }[] };
    expect(listed.episodes.map((e) => e.title)).toEqual(["One", "Two"]);
    const environ = await readFile(join(c.dir, "yt-dlp.environ"), "utf8");
    const argv = await readFile(join(c.dir, "yt-dlp.argv"), "utf8");
    expect(argv).toContain("--cookies");
    expect(argv).not.toContain(file);
    expect(secretsIn([r.stdout, r.stderr, environ, argv], [MARKER])).toEqual([]);
    expect(await c.leftovers()).toEqual([]);
  });

  it.each([
    ["a missing file", null, /does not exist/],
    ["a JSON export", `[{"domain":"127.0.0.2","name":"session","value":"${MARKER}"}]`, /not a Netscape cookies file/],
    ["a line yt-dlp would echo in a warning", `127.0.0.2 FALSE / FALSE 0 session ${MARKER}\n`, /line 1 has 1 fields/],
  ])("refuses %s before any work (exit 2, REEL_COOKIES_INVALID), without showing it", async (_what, text, why) => {
    h = await hostile("cookies-bad");
    const file = join(h.dir, "cookies.txt");
    if (text !== null) await writeFile(file, text);
    const job = await h.manifest("bad", { episodes: [{ url: `${h.origin}/watch` }] });
    const r = await h.reel(["run", job, "--json", "--cookies", file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("REEL_COOKIES_INVALID");
    expect(r.stderr).toMatch(why);
    expect(secretsIn([r.stdout, r.stderr], [MARKER])).toEqual([]);
    expect(await h.leftovers()).toEqual([]);
  });
});

/**
 * `reel worker` as the operator runs a page episode's pod of a job with spec.ytdlp.cookiesSecret:
 * the cookies file where the Secret is mounted, staging on a volume, yt-dlp recording itself.
 */
async function workerPod(c: Hostile, url: string) {
  const mount = join(c.dir, "mount", "cookies.txt");
  await mkdir(join(c.dir, "mount"), { recursive: true });
  await writeFile(mount, cookiesFile("127.0.0.2"), { mode: 0o400 });
  const staging = join(c.out, ".reel-staging", "uid-ck");
  const spec = {
    episodes: [{ url, title: "members" }],
    quality: "480p",
    compression: { preset: "fast", level: 6 },
    output: { volume: { claimName: "media", path: "/" } },
    ytdlp: { cookiesSecret: { name: "site-cookies", key: "cookies.txt" } },
  };
  const stream = new PassThrough();
  let logs = "";
  stream.on("data", (b: Buffer) => {
    logs += b.toString();
  });
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REEL_EGRESS_ALLOW: "127.0.0.2/32",
    REEL_CACHE_DIR: c.cache,
    REEL_TERMINATION_LOG: join(c.dir, "termination-log"),
    REEL_YTDLP: await recordingYtDlp(c),
    REEL_MODE: "episode",
    REEL_VIDEOJOB: "media/ck",
    REEL_VIDEOJOB_UID: "uid-ck",
    REEL_EPISODE_INDEX: "0",
    REEL_EPISODE_URL: url,
    REEL_STAGING: `${staging}/`,
    REEL_SPEC: JSON.stringify(spec),
  };
  const code = await workerMain(env, { logStream: stream, cookiesPath: mount });
  const termination = await readFile(join(c.dir, "termination-log"), "utf8");
  return { code, logs, termination, staging, mount };
}

describe("reel worker: a page episode's pod with the job's cookies", () => {
  it("stages the gated page's video; no cookie in its logs, termination message (status) or yt-dlp's environ", async () => {
    h = await hostile("cookies-pod");
    const c = h;
    await makeTestClip(join(c.src, "a.mp4"), { seconds: 1 });
    site = await gatedSite(join(c.src, "a.mp4"));
    const pod = await workerPod(c, `${site.origin}/watch`);
    expect(pod.code, pod.termination).toBe(0);
    expect((await readdir(pod.staging)).sort()).toEqual(["ep0.json", "ep0.mp4"]);
    expect(site.cookies.some((k) => k.includes(MARKER))).toBe(true);
    const environ = await readFile(join(c.dir, "yt-dlp.environ"), "utf8");
    const argv = await readFile(join(c.dir, "yt-dlp.argv"), "utf8");
    // yt-dlp got a copy in the pod's scratch, never the (read-only) mount.
    expect(argv).not.toContain(pod.mount);
    expect(argv).toContain(".reel-cookies.txt");
    const staged = await readFile(join(pod.staging, "ep0.json"), "utf8");
    expect(secretsIn([pod.logs, pod.termination, environ, argv, staged], [MARKER])).toEqual([]);
    expect(await readFile(pod.mount, "utf8")).toBe(cookiesFile("127.0.0.2"));
  });

  it("fails a refused page with REEL_SOURCE_FORBIDDEN whose message, logs and result hold no cookie", async () => {
    h = await hostile("cookies-pod-fail");
    const c = h;
    await makeTestClip(join(c.src, "a.mp4"), { seconds: 1 });
    site = await gatedSite(join(c.src, "a.mp4"));
    const pod = await workerPod(c, `${site.origin}/locked`);
    expect(pod.code, pod.termination).toBe(2);
    const result = JSON.parse(pod.termination) as { error: { code: string; message: string } };
    expect(result.error.code).toBe("REEL_SOURCE_FORBIDDEN");
    expect(result.error.message).toContain("403");
    expect(site.cookies.some((k) => k.includes(MARKER))).toBe(true);
    expect(secretsIn([pod.logs, pod.termination], [MARKER])).toEqual([]);
  });
});
