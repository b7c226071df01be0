// `reel run` with playlists, as a user runs it: the CLI process, the real yt-dlp behind the egress
// proxy, real ffmpeg, and a podcast feed served on loopback. The feed is listed once, before any
// work; its items become episodes titled as the feed titles them, in order.
import { execFile, execFileSync } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { podcastFeed, serveSite, type TestSite } from "../fetch/test-site.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "main.ts");

let tmp: { dir: string; cleanup(): Promise<void> };
let site: TestSite;

async function reel(args: string[]) {
  try {
    const r = await exec(process.execPath, [main, ...args, "--allow", "127.0.0.2/32"], {
      env: { ...process.env, REEL_CACHE_DIR: join(tmp.dir, "cache") },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function writeJob(name: string, episodes: unknown[], allowPartial = false) {
  const path = join(tmp.dir, `${name}.yaml`);
  const spec = {
    episodes,
    quality: "480p",
    compression: { preset: "fast", level: 6 },
    merge: { allowPartial },
    output: { local: { path: join(tmp.dir, "out", name) } },
  };
  await writeFile(path, stringify({ apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name }, spec }));
  return path;
}

beforeAll(async () => {
  tmp = await makeTempDir("reel-playlist-cli-");
  await makeTestClip(join(tmp.dir, "a.mp4"), { seconds: 1.5 });
  await makeTestClip(join(tmp.dir, "b.mp4"), { seconds: 1 });
  const routes: Record<string, { type: string; body?: string; file?: string }> = {
    "/a.mp4": { type: "video/mp4", file: "a.mp4" },
    "/b.mp4": { type: "video/mp4", file: "b.mp4" },
    "/watch": {
      type: "text/html",
      body: '<html><head><meta property="og:title" content="Site Title"></head><body><video src="/a.mp4"></video></body></html>',
    },
  };
  site = await serveSite(tmp.dir, routes);
  const o = site.origin;
  const items = [
    { title: "Newest: the finale", url: `${o}/b.mp4` },
    { title: "Older: the pilot", url: `${o}/a.mp4` },
    { title: "Oldest: a teaser", url: `${o}/gone.mp4` },
  ];
  routes["/feed.xml"] = { type: "application/rss+xml", body: podcastFeed("Show", items) };
  const hostile = [
    // XML 1.0 allows no other control characters: a feed cannot carry ESC, the parser refuses it.
    { title: "Ep\u202eevil\tone\n2  Forged  http://x/", url: `${o}/a.mp4` },
    { title: "Metadata", url: "http://169.254.169.254/latest/meta-data.mp4" },
    { title: "Loopback", url: "http://127.0.0.1:9/x.mp4" },
  ];
  routes["/hostile.xml"] = { type: "application/rss+xml", body: podcastFeed("Hostile", hostile) };
  const many = Array.from({ length: 600 }, (_, i) => ({ title: `Ep ${i + 1}`, url: `${o}/m${i}.mp4` }));
  routes["/big.xml"] = { type: "application/rss+xml", body: podcastFeed("Big", many) };
}, 60_000);

afterAll(async () => {
  await site?.close();
  await tmp?.cleanup();
});

describe("reel run with a playlist", () => {
  it("--dry-run prints the expanded episodes and runs nothing", async () => {
    const feed = `${site.origin}/feed.xml`;
    const job = await writeJob("dry", [
      { url: `${site.origin}/a.mp4`, title: "Intro" },
      { playlist: feed, items: "1-2" },
    ]);
    const before = site.requests.length;
    const text = await reel(["run", job, "--dry-run"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("3 episodes:");
    expect(text.stdout).toMatch(/1 {2}Intro {2}http:\/\/127\.0\.0\.2:\d+\/a\.mp4/);
    expect(text.stdout).toMatch(/3 {2}Older: the pilot {2}http:\/\/127\.0\.0\.2:\d+\/a\.mp4/);
    const json = await reel(["run", job, "--dry-run", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const { episodes } = JSON.parse(json.stdout) as { episodes: { title?: string }[] };
    expect(episodes.map((e) => e.title)).toEqual(["Intro", "Newest: the finale", "Older: the pilot"]);
    // Only the feed was read (once per run): no episode was fetched, nothing was written.
    expect(site.requests.slice(before)).toEqual(["/feed.xml", "/feed.xml"]);
    expect(await readdir(join(tmp.dir, "out")).catch(() => [])).toEqual([]);
  }, 120_000);

  it("runs a reversed range of a newest-first feed and merges it with the feed's titles as chapters", async () => {
    const job = await writeJob("feed", [{ playlist: `${site.origin}/feed.xml`, items: "1-2", reverse: true }]);
    const r = await reel(["run", job, "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { phase: string; output: { location: string; chapters: number } };
    expect(result.phase).toBe("Completed");
    const probe = execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", result.output.location]);
    const chapters = (JSON.parse(probe.toString()) as { chapters: { tags: { title: string } }[] }).chapters;
    expect(chapters.map((c) => c.tags.title)).toEqual(["Older: the pilot", "Newest: the finale"]);
  }, 180_000);

  it("refuses a feed given as a single episode, pointing to playlist:", async () => {
    const job = await writeJob("single", [{ url: `${site.origin}/feed.xml` }, { url: `${site.origin}/a.mp4` }], true);
    const r = await reel(["run", job, "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { episodes: { phase: string; error?: { code: string; message: string } }[] };
    expect(result.episodes[0]?.error?.code).toBe("REEL_SOURCE_IS_PLAYLIST");
    expect(result.episodes[0]?.error?.message).toContain("playlist: URL");
    expect(result.episodes[1]?.phase).toBe("Completed");
  }, 180_000);

  it("refuses more than 500 episodes after expansion before any work, naming the count (exit 2)", async () => {
    const feed = `${site.origin}/big.xml`;
    const job = await writeJob("big", [{ url: `${site.origin}/a.mp4` }, { playlist: feed, items: "1-500" }]);
    const r = await reel(["run", job]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("REEL_TOO_MANY_EPISODES");
    expect(r.stderr).toContain("501 episodes");
  }, 120_000);
});

describe("reel run with a hostile feed", () => {
  it("shows control characters in a feed's titles inert, and its internal addresses are refused by the egress guard", async () => {
    const job = await writeJob("hostile", [{ playlist: `${site.origin}/hostile.xml` }], true);
    const dry = await reel(["run", job, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    expect(dry.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f\u202e]/);
    expect(dry.stdout).toContain("Ep\\u202eevil\\tone\\n2  Forged");
    expect(dry.stdout.split("\n").filter((l) => l.includes("Forged"))).toHaveLength(1);
    const r = await reel(["run", job, "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { episodes: { phase: string; error?: { code: string } }[] };
    expect(result.episodes.map((e) => e.error?.code ?? e.phase)).toEqual([
      "Completed",
      "REEL_EGRESS_DENIED",
      "REEL_EGRESS_DENIED",
    ]);
  }, 180_000);
});

describe("reel run with a page's metadata", () => {
  it("titles an untitled page's chapter with the site's title and records the source facts", async () => {
    const o = site.origin;
    const job = await writeJob("site", [
      { url: `${o}/watch` },
      { url: `${o}/b.mp4`, title: "Given" },
      { url: `${o}/a.mp4` },
    ]);
    const r = await reel(["run", job, "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      episodes: { title: string; source?: Record<string, unknown> }[];
      output: { location: string };
    };
    const probe = execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", result.output.location]);
    const chapters = (JSON.parse(probe.toString()) as { chapters: { tags: { title: string } }[] }).chapters;
    // The generic extractor numbers a page's <video> elements after the page's title.
    expect(chapters.map((c) => c.tags.title)).toEqual(["Site Title (1)", "Given", "Episode 3"]);
    expect(result.episodes[0]?.title).toBe("Site Title (1)");
    expect(result.episodes[0]?.source).toMatchObject({
      container: expect.stringContaining("mp4"),
      videoCodec: "h264",
      audioCodec: "aac",
      width: 320,
      height: 240,
      fps: 25,
      title: "Site Title (1)",
      uploadDate: "20261102",
    });
    expect(result.episodes[0]?.source?.durationSecs).toBeCloseTo(1.5, 1);
    // A direct file has no site: its facts are ffprobe's alone.
    expect(result.episodes[1]?.source).toMatchObject({ videoCodec: "h264", width: 320, height: 240 });
    expect(result.episodes[1]?.source?.title).toBeUndefined();
  }, 180_000);
});
