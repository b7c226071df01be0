import { describe, expect, it } from "vitest";
import { buildListEnv, buildListing, type ListPodEnv, parseListEnv, parseListing } from "./listing.ts";

const uid = "0d4c-uid";

describe("the listing file", () => {
  it("reads back what the list pod writes", () => {
    const l = {
      v: 1 as const,
      uid,
      listedAt: "2026-12-05T22:00:00.000Z",
      entries: [
        { at: 1, episodes: [{ url: "https://a.example/1.mp4", title: "One" }, { url: "https://a.example/2" }] },
      ],
    };
    expect(parseListing(buildListing(l), uid)).toEqual(l);
  });

  it("reads back a coded error", () => {
    const l = { v: 1 as const, uid, listedAt: "t", error: { code: "REEL_PLAYLIST_EMPTY", message: "no items 5-9" } };
    expect(parseListing(buildListing(l), uid)?.error?.code).toBe("REEL_PLAYLIST_EMPTY");
  });

  it.each([
    ["torn text", '{"v":1,"uid":"0d4c-uid","ent'],
    [
      "another job's",
      JSON.stringify({ v: 1, uid: "other", listedAt: "t", entries: [{ at: 0, episodes: [{ url: "u" }] }] }),
    ],
    ["neither entries nor error", JSON.stringify({ v: 1, uid, listedAt: "t" })],
    ["an entry without episodes", JSON.stringify({ v: 1, uid, listedAt: "t", entries: [{ at: 0, episodes: [] }] })],
  ])("ignores %s", (_what, text) => {
    expect(parseListing(text, uid)).toBeUndefined();
  });

  it("refuses to write an uncoded error", () => {
    expect(() => buildListing({ v: 1, uid, listedAt: "t", error: { code: "boom", message: "x" } })).toThrow();
  });
});

describe("the list pod's env", () => {
  it("reads back what the operator sets", () => {
    const x: ListPodEnv = {
      videojob: "media/show",
      uid,
      staging: "s3://bucket/out/.reel-staging/0d4c-uid/",
      playlists: [{ at: 0, playlist: "https://pods.example/feed.xml", items: "1-3", reverse: true }],
      egressAllow: ["10.0.0.0/8"],
      cacheDir: "/scratch",
      stagingEndpoint: "http://s3.example:7070",
    };
    const env = Object.fromEntries(buildListEnv(x).map((e) => [e.name, e.value]));
    expect(parseListEnv(env)).toEqual(x);
  });

  it("names a bad variable", () => {
    const env = {
      REEL_MODE: "list",
      REEL_VIDEOJOB: "media/show",
      REEL_VIDEOJOB_UID: uid,
      REEL_STAGING: "/vol/x/",
      REEL_PLAYLISTS: "[]",
    };
    expect(() => parseListEnv(env)).toThrow(/REEL_STAGING/);
  });
});
