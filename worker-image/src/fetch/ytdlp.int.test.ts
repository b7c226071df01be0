// The real yt-dlp (the pinned one from the bootstrap) behind the real egress proxy, on pages served
// on loopback that its generic extractor reads: what a run keeps of the site's metadata, and the
// coded errors for a playlist given as one episode, a live stream, a page without a video, a 404.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type EgressProxyHandle, startEgressProxy } from "@reel/native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../config.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { podcastFeed, serveSite, type TestSite } from "./test-site.ts";
import { runYtDlp } from "./ytdlp.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let site: TestSite;
let proxy: EgressProxyHandle;
let n = 0;

const LIVE = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\nseg0.ts\n";

beforeAll(async () => {
  tmp = await makeTempDir("reel-ytdlp-int-");
  await makeTestClip(join(tmp.dir, "a.mp4"), { seconds: 1 });
  const mp4 = { type: "video/mp4", file: "a.mp4" };
  const html = (body: string) => ({ type: "text/html", body: `<html>${body}</html>` });
  site = await serveSite(tmp.dir, {
    "/a.mp4": mp4,
    "/b.mp4": mp4,
    "/watch": html('<head><title>The Pilot</title></head><body><video src="/a.mp4"></video></body>'),
    "/two": html(
      '<head><title>Two</title></head><body><video src="/a.mp4"></video><video src="/b.mp4"></video></body>',
    ),
    "/about": html("<head><title>About us</title></head><body><p>No video here.</p></body>"),
    "/stream": { type: "application/vnd.apple.mpegurl", body: LIVE },
    "/busy": { type: "text/html", status: 429, headers: { "retry-after": "120" }, body: "slow down" },
    "/members": { type: "text/html", status: 403, body: "members only" },
  });
  const o = site.origin;
  const feed = podcastFeed(
    "Show",
    ["One", "Two", "Three"].map((t, i) => ({ title: t, url: `${o}/${"ab"[i % 2]}.mp4` })),
  );
  await serveFeed(feed);
  proxy = await startEgressProxy({ allow: ["127.0.0.2/32"] });
}, 60_000);

// The feed names the site's own origin, known only once it listens: a second tiny site serves it.
let feedSite: TestSite;
async function serveFeed(body: string) {
  feedSite = await serveSite(tmp.dir, { "/feed.xml": { type: "application/rss+xml", body } });
}

afterAll(async () => {
  proxy?.stop();
  await site?.close();
  await feedSite?.close();
  await tmp?.cleanup();
});

async function fetchPage(url: string) {
  const dir = join(tmp.dir, `run${++n}`);
  const req = { url, outBase: join(dir, "source"), proxy: proxy.url, maxHeight: 720 };
  const result = await runYtDlp(config.ytDlp, req, config.childEnv).catch((e: Error) => e);
  const files = await readdir(dir).catch(() => []);
  return { result, files };
}

describe("runYtDlp on loopback pages", () => {
  it("downloads a page's video and keeps the site's title", async () => {
    const { result, files } = await fetchPage(`${site.origin}/watch`);
    // The generic extractor numbers a page's <video> elements after the page's title.
    expect(result).toMatchObject({ info: { title: "The Pilot (1)" } });
    expect(files).toHaveLength(1);
  }, 60_000);

  it("refuses a podcast feed given as one episode, pointing to playlist:, before fetching any entry", async () => {
    const before = site.requests.length;
    const { result, files } = await fetchPage(`${feedSite.origin}/feed.xml`);
    expect(result).toMatchObject({ code: "REEL_SOURCE_IS_PLAYLIST" });
    expect((result as Error).message).toContain("playlist of 3 items");
    expect((result as Error).message).toContain("playlist: URL");
    expect(files).toEqual([]);
    expect(site.requests.slice(before)).toEqual([]);
  }, 60_000);

  it("refuses a page with two videos as a playlist", async () => {
    const { result } = await fetchPage(`${site.origin}/two`);
    expect(result).toMatchObject({ code: "REEL_SOURCE_IS_PLAYLIST" });
  }, 60_000);

  it("names a 429 rate limit with a delay: a minute, since yt-dlp's message carries no Retry-After", async () => {
    const { result, files } = await fetchPage(`${site.origin}/busy`);
    expect(result, String(result)).toMatchObject({ code: "REEL_SOURCE_RATE_LIMITED", retryAfterSecs: 60 });
    expect((result as Error).message).toContain("retry after 60 s");
    expect(files).toEqual([]);
  }, 60_000);

  it.each([
    ["/stream", "REEL_SOURCE_LIVE"],
    ["/about", "REEL_SOURCE_UNSUPPORTED"],
    ["/gone", "REEL_SOURCE_NOT_FOUND"],
    ["/members", "REEL_SOURCE_FORBIDDEN"],
  ])(
    "names the failure of %s: %s",
    async (path, code) => {
      const { result, files } = await fetchPage(`${site.origin}${path}`);
      expect(result, String(result)).toMatchObject({ code });
      expect(files).toEqual([]);
    },
    60_000,
  );
});
