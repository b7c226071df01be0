// Playlists listed by the real yt-dlp through the real egress proxy, from feeds and pages served on
// loopback that its generic extractor reads as playlists (a podcast feed: RSS with enclosures).
import { join } from "node:path";
import { type EgressProxyHandle, startEgressProxy } from "@reel/native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../config.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { expandPlaylists, listPlaylist } from "./playlist.ts";
import { podcastFeed, serveSite, type TestSite } from "./test-site.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let site: TestSite;
let denied: TestSite;
let proxy: EgressProxyHandle;

const ALLOW = ["127.0.0.2/32"];
const titles = ["Pilot", "Two & a half", "Three", "Four", "Finale"];

beforeAll(async () => {
  tmp = await makeTempDir("reel-playlist-int-");
  await makeTestClip(join(tmp.dir, "a.mp4"), { seconds: 1 });
  const routes: Record<string, { type: string; body?: string; file?: string }> = {
    "/a.mp4": { type: "video/mp4", file: "a.mp4" },
    "/watch": { type: "text/html", body: '<html><body><video src="/a.mp4"></video></body></html>' },
  };
  site = await serveSite(tmp.dir, routes);
  const o = site.origin;
  const rss = "application/rss+xml";
  routes["/feed.xml"] = {
    type: rss,
    body: podcastFeed(
      "Show",
      titles.map((title, i) => ({ title, url: `${o}/ep${i + 1}.mp4` })),
    ),
  };
  const many = Array.from({ length: 600 }, (_, i) => ({ title: `Ep ${i + 1}`, url: `${o}/m${i}.mp4` }));
  routes["/big.xml"] = { type: rss, body: podcastFeed("Big", many) };
  routes["/odd.xml"] = { type: rss, body: podcastFeed("Odd", [{ title: "Passwords", url: "file:///etc/passwd" }]) };
  denied = await serveSite(tmp.dir, { "/feed.xml": routes["/feed.xml"] }, "127.0.0.1");
  proxy = await startEgressProxy({ allow: ALLOW });
}, 60_000);

afterAll(async () => {
  proxy?.stop();
  await site?.close();
  await denied?.close();
  await tmp?.cleanup();
});

const list = (url: string, items?: string) =>
  listPlaylist(config.ytDlp, { url, proxy: proxy.url, ...(items ? { items } : {}) }, config.childEnv);

const expand = (episodes: unknown[]) =>
  expandPlaylists({ spec: { episodes } }, { ytDlp: config.ytDlp, env: config.childEnv, allow: ALLOW }) as Promise<{
    spec: { episodes: { url: string; title?: string }[] };
  }>;

describe("listPlaylist", () => {
  it("lists a podcast feed's items in order with their titles, fetching none of them", async () => {
    const before = site.requests.length;
    const listing = await list(`${site.origin}/feed.xml`);
    expect(listing.items.map((i) => i.title)).toEqual(titles);
    expect(listing.items[0]?.url).toBe(`${site.origin}/ep1.mp4`);
    expect(listing.count).toBe(5);
    expect(site.requests.slice(before)).toEqual(["/feed.xml"]);
  }, 60_000);

  it.each([
    ["2-4", ["Two & a half", "Three", "Four"]],
    ["1,5", ["Pilot", "Finale"]],
    ["-2:", ["Four", "Finale"]],
  ])(
    "takes the items %s",
    async (items, expected) => {
      expect((await list(`${site.origin}/feed.xml`, items)).items.map((i) => i.title)).toEqual(expected);
    },
    60_000,
  );

  it.each([
    ["/watch", undefined, "REEL_PLAYLIST_NOT_A_PLAYLIST"],
    ["/feed.xml", "9-12", "REEL_PLAYLIST_EMPTY"],
    ["/gone.xml", undefined, "REEL_SOURCE_NOT_FOUND"],
  ])(
    "refuses %s (items %s) with %s",
    async (path, items, code) => {
      await expect(list(`${site.origin}${path}`, items)).rejects.toMatchObject({ code });
    },
    60_000,
  );

  it("goes through the egress proxy: a feed on a denied address is refused", async () => {
    await expect(list(`${denied.origin}/feed.xml`)).rejects.toMatchObject({ code: "REEL_EGRESS_DENIED" });
  }, 60_000);
});

describe("expandPlaylists", () => {
  it("splices a reversed range in among plain episodes", async () => {
    const doc = await expand([
      { url: "https://a.example/intro.mp4", title: "Intro" },
      { playlist: `${site.origin}/feed.xml`, items: "1-3", reverse: true },
    ]);
    expect(doc.spec.episodes.map((e) => e.title)).toEqual(["Intro", "Three", "Two & a half", "Pilot"]);
  }, 60_000);

  it("refuses a playlist longer than a job, naming its length", async () => {
    await expect(expand([{ playlist: `${site.origin}/big.xml` }])).rejects.toMatchObject({
      code: "REEL_TOO_MANY_EPISODES",
      message: expect.stringContaining("600 items"),
    });
  }, 60_000);

  it("stops listing a chosen range once it passes the limit", async () => {
    await expect(expand([{ playlist: `${site.origin}/big.xml`, items: "1-100000" }])).rejects.toMatchObject({
      code: "REEL_TOO_MANY_EPISODES",
      message: expect.stringContaining("more than 500 items"),
    });
  }, 60_000);

  it("refuses more than 500 episodes in all after expansion, naming the count", async () => {
    const feed = `${site.origin}/big.xml`;
    const doc = expand([
      { playlist: feed, items: "1-300" },
      { playlist: feed, items: "301-502" },
    ]);
    await expect(doc).rejects.toMatchObject({
      code: "REEL_TOO_MANY_EPISODES",
      message: expect.stringContaining("502 episodes"),
    });
  }, 60_000);

  it("refuses a feed item that is not an http(s) URL", async () => {
    await expect(expand([{ playlist: `${site.origin}/odd.xml` }])).rejects.toMatchObject({
      code: "REEL_UNSUPPORTED_SCHEME",
    });
  }, 60_000);
});
