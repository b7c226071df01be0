import { describe, expect, it } from "vitest";
import { parseVideoJob } from "./parse.ts";
import {
  applyExpansion,
  findPlaylists,
  MAX_EPISODES,
  playlistEpisodes,
  recordExpansion,
  replacePlaylists,
  withStandIns,
} from "./playlist.ts";

const manifest = (episodes: unknown[]) => ({
  apiVersion: "reel.dev/v1alpha1",
  kind: "VideoJob",
  metadata: { name: "show" },
  spec: { episodes, output: { local: { path: "/tmp/out" } } },
});

const feed = "https://pods.example.com/feed.xml";

describe("findPlaylists", () => {
  it("finds playlist entries among plain episodes, with reverse defaulting to false", () => {
    const doc = manifest([{ url: "https://a.example/1.mp4" }, { playlist: feed, items: "1-12" }]);
    expect(findPlaylists(doc)).toEqual([{ at: 1, entry: { playlist: feed, items: "1-12", reverse: false } }]);
  });

  it.each([
    [{ playlist: "ftp://x/feed" }, "spec.episodes.0.playlist"],
    [{ playlist: feed, items: "1-3; rm -rf" }, "spec.episodes.0.items"],
    [{ playlist: feed, itmes: "1-3" }, "spec.episodes.0"],
    [{ playlist: feed, reverse: "yes" }, "spec.episodes.0.reverse"],
  ])("names what is wrong in %j", (entry, path) => {
    expect(() => findPlaylists(manifest([entry]))).toThrow(
      expect.objectContaining({ code: "REEL_JOB_INVALID", message: expect.stringContaining(path) }),
    );
  });

  it.each(["1-12", "1,3,5-7", "1:20:2", "-3:", "7"])("takes yt-dlp's item syntax %s", (items) => {
    expect(findPlaylists(manifest([{ playlist: feed, items }]))[0]?.entry.items).toBe(items);
  });
});

describe("parseVideoJob", () => {
  it("names a playlist entry that was not expanded, instead of asking for its url", () => {
    expect(() => parseVideoJob(manifest([{ url: "https://a.example/1.mp4" }, { playlist: feed }]))).toThrow(
      expect.objectContaining({
        code: "REEL_JOB_INVALID",
        message: expect.stringContaining("spec.episodes.1: a playlist entry is expanded by reel run"),
      }),
    );
  });
});

describe("replacePlaylists", () => {
  it("splices each playlist's episodes in where it stood, keeping the order, into a valid VideoJob", () => {
    const doc = manifest([
      { url: "https://a.example/intro.mp4", title: "Intro" },
      { playlist: feed },
      { url: "https://a.example/outro.mp4" },
    ]);
    const out = replacePlaylists(doc, () => [
      { url: "https://pods.example.com/1.mp4", title: "One" },
      { url: "https://pods.example.com/2.mp4", title: "Two" },
    ]);
    expect(parseVideoJob(out).spec.episodes.map((e) => e.title ?? e.url)).toEqual([
      "Intro",
      "One",
      "Two",
      "https://a.example/outro.mp4",
    ]);
  });

  it("refuses more than 500 episodes after expansion, naming the count", () => {
    const doc = manifest([{ url: "https://a.example/intro.mp4" }, { playlist: feed }]);
    const many = Array.from({ length: MAX_EPISODES }, (_, i) => ({ url: `https://pods.example.com/${i}.mp4` }));
    expect(() => replacePlaylists(doc, () => many)).toThrow(
      expect.objectContaining({ code: "REEL_TOO_MANY_EPISODES", message: expect.stringContaining("501 episodes") }),
    );
    expect(() => replacePlaylists(doc, () => many.slice(1))).not.toThrow();
  });

  it("stands one episode in for each playlist, so the rest is checked before any listing", () => {
    const doc = manifest([{ playlist: feed }, { playlist: feed, items: "2" }]);
    expect(parseVideoJob(withStandIns(doc)).spec.episodes).toEqual([{ url: feed }, { url: feed }]);
  });
});

describe("playlistEpisodes", () => {
  const items = [
    { url: "https://v/1", title: "  One  " },
    { url: "https://v/2", title: "" },
    { url: "https://v/3", title: "x".repeat(300) },
  ];

  it("keeps the listing's order and titles, cut to 200 characters, leaving out empty ones", () => {
    expect(playlistEpisodes({ playlist: feed, reverse: false }, items)).toEqual([
      { url: "https://v/1", title: "One" },
      { url: "https://v/2" },
      { url: "https://v/3", title: "x".repeat(200) },
    ]);
  });

  it("reverses the chosen items for a newest-first channel", () => {
    expect(playlistEpisodes({ playlist: feed, reverse: true }, items).map((e) => e.url)).toEqual([
      "https://v/3",
      "https://v/2",
      "https://v/1",
    ]);
  });
});

describe("recorded expansion", () => {
  const listedAt = "2026-12-05T22:00:00.000Z";
  const doc = manifest([{ url: "https://a.example/intro.mp4" }, { playlist: feed, items: "1-2", reverse: true }]);
  const listing = {
    v: 1 as const,
    uid: "u",
    listedAt,
    entries: [{ at: 1, episodes: [{ url: "https://a.example/2", title: "Two" }, { url: "https://a.example/1" }] }],
  };

  it("records each entry with its episodes and plans the job from the record only", () => {
    const record = recordExpansion(doc, listing);
    expect(record).toEqual([
      { at: 1, playlist: feed, items: "1-2", reverse: true, episodes: listing.entries[0]?.episodes, listedAt },
    ]);
    const job = parseVideoJob(applyExpansion(doc, record));
    expect(job.spec.episodes.map((e) => [e.url, e.title])).toEqual([
      ["https://a.example/intro.mp4", undefined],
      ["https://a.example/2", "Two"],
      ["https://a.example/1", undefined],
    ]);
  });

  it("has nothing to plan from until every entry is recorded", () => {
    expect(applyExpansion(doc, undefined)).toBeUndefined();
    expect(applyExpansion(doc, [])).toBeUndefined();
    const plain = manifest([{ url: "https://a.example/intro.mp4" }]);
    expect(applyExpansion(plain, undefined)).toBe(plain);
  });

  it("carries the listing's coded error", () => {
    const failed = { v: 1 as const, uid: "u", listedAt, error: { code: "REEL_SOURCE_NOT_FOUND", message: "404" } };
    expect(() => recordExpansion(doc, failed)).toThrow(expect.objectContaining({ code: "REEL_SOURCE_NOT_FOUND" }));
  });

  it("refuses an entry the listing left empty", () => {
    expect(() => recordExpansion(doc, { ...listing, entries: [] })).toThrow(
      expect.objectContaining({ code: "REEL_PLAYLIST_EMPTY" }),
    );
  });

  it("refuses more than 500 episodes in all, naming the count", () => {
    const many = Array.from({ length: 500 }, (_, i) => ({ url: `https://a.example/${i}` }));
    expect(() => recordExpansion(doc, { ...listing, entries: [{ at: 1, episodes: many }] })).toThrow(
      expect.objectContaining({ code: "REEL_TOO_MANY_EPISODES", message: expect.stringContaining("501 episodes") }),
    );
  });
});
