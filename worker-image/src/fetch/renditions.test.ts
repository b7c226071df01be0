import { describe, expect, it } from "vitest";
import { chooseAudioRenditions, parseRenditions } from "./renditions.ts";

const master = [
  "#EXTM3U",
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Japanese, main",DEFAULT=NO,LANGUAGE="jpn",URI="a/jp.m3u8"',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",DEFAULT=YES,LANGUAGE="en",URI="https://cdn.example/en.m3u8"',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English commentary",LANGUAGE="en",URI="a/en-c.m3u8"',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="muxed",LANGUAGE="fr"',
  '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="E",LANGUAGE="en",URI="s/en.m3u8"',
  '#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO="aud",SUBTITLES="subs"',
  "v.m3u8",
].join("\n");

describe("HLS renditions", () => {
  it("reads EXT-X-MEDIA with quoted commas and resolves each URI against the master", () => {
    const r = parseRenditions(master, "https://media.example/show/master.m3u8");
    expect(r.map((x) => [x.type, x.language, x.default, x.uri])).toEqual([
      ["AUDIO", "jpn", false, "https://media.example/show/a/jp.m3u8"],
      ["AUDIO", "en", true, "https://cdn.example/en.m3u8"],
      ["AUDIO", "en", false, "https://media.example/show/a/en-c.m3u8"],
      ["SUBTITLES", "en", false, "https://media.example/show/s/en.m3u8"],
    ]);
  });

  it("takes each asked language's audio rendition in the job's order, the default one first", () => {
    const r = parseRenditions(master, "https://media.example/show/master.m3u8");
    expect(chooseAudioRenditions(r, ["eng", "jpn", "deu"])).toEqual([
      { language: "eng", uri: "https://cdn.example/en.m3u8" },
      { language: "jpn", uri: "https://media.example/show/a/jp.m3u8" },
    ]);
  });

  it("with no languages asked, takes the default audio rendition (else the first), its language kept when it has one", () => {
    const r = parseRenditions(master, "https://media.example/show/master.m3u8");
    expect(chooseAudioRenditions(r)).toEqual([{ language: "en", uri: "https://cdn.example/en.m3u8" }]);
    expect(chooseAudioRenditions(r, [])).toEqual([{ language: "en", uri: "https://cdn.example/en.m3u8" }]);
    const noDefault = parseRenditions(
      [
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",URI="x.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="y",URI="y.m3u8"',
      ].join("\n"),
      "https://m.example/master.m3u8",
    );
    expect(chooseAudioRenditions(noDefault)).toEqual([{ uri: "https://m.example/x.m3u8" }]);
    expect(chooseAudioRenditions(r.filter((x) => x.type !== "AUDIO"))).toEqual([]);
  });
});
