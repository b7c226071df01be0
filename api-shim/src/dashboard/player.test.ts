// The job page's player logic (public/outputs.js: seek-thumbnail cues, chapters) and what it says was
// done to each episode (format.js formatTreatment), tested in Node
// against what the shim writes (outputs/thumbnails.ts) and the REST Job it reads.
import { VideoJobStatus } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { loudnessCell, pictureCell } from "../../../worker-image/src/cli/format.ts";
import { formatTreatment } from "../../public/format.js";
import {
  chapterList,
  cueAt,
  parseThumbnailVtt,
  subtitleTracks,
  thumbnailsPath,
  vttSeconds,
} from "../../public/outputs.js";
import { parseThumbnailCues, writeThumbnailVtt } from "../outputs/thumbnails.ts";

describe("seek-thumbnail cues", () => {
  const stored = [
    "WEBVTT",
    "",
    "00:00:00.000 --> 00:00:02.000",
    "Season 1-thumbs-001.jpg#xywh=0,0,160,90",
    "",
    "00:00:02.000 --> 00:00:04.000",
    "Season 1-thumbs-001.jpg#xywh=160,0,160,90",
    "",
    "01:00:04.000 --> 01:00:05.500",
    "Season 1-thumbs-002.jpg#xywh=320,90,160,90",
    "",
  ].join("\n");
  const sheet = (s: string) => `https://s3.example.com/v/${encodeURIComponent(s)}?X-Amz-Signature=ab%2Fc`;

  it("reads the shim's answer: times in seconds, the sheet URL without its fragment, the tile", () => {
    const cues = parseThumbnailVtt(writeThumbnailVtt(parseThumbnailCues(stored), sheet));
    expect(cues).toEqual([
      { start: 0, end: 2, url: sheet("Season 1-thumbs-001.jpg"), x: 0, y: 0, w: 160, h: 90 },
      { start: 2, end: 4, url: sheet("Season 1-thumbs-001.jpg"), x: 160, y: 0, w: 160, h: 90 },
      { start: 3604, end: 3605.5, url: sheet("Season 1-thumbs-002.jpg"), x: 320, y: 90, w: 160, h: 90 },
    ]);
    expect(cueAt(cues, 1.999)?.x).toBe(0);
    expect(cueAt(cues, 2)?.x).toBe(160);
    expect(cueAt(cues, 3000)).toBeUndefined();
    expect(cueAt(cues, 9999)?.x).toBe(320);
    expect(cueAt([], 1)).toBeUndefined();
  });

  it("skips cues whose sheet is not an http(s) URL or whose lines do not parse", () => {
    const text = [
      "WEBVTT",
      "00:00:00.000 --> 00:00:02.000\njavascript:alert(1)#xywh=0,0,1,1",
      "00:00:02.000 --> 00:00:04.000\nrelative.jpg#xywh=0,0,1,1",
      "00:00:04.000 --> 00:00:03.000\nhttps://a.example/s.jpg#xywh=0,0,1,1",
      "00:00:04.000 --> 00:00:06.000\nhttps://a.example/s.jpg#xywh=0,0,1",
      "0:0:4 --> 00:00:06.000\nhttps://a.example/s.jpg#xywh=0,0,1,1",
      "00:06.000 --> 00:08.000\nhttps://a.example/s.jpg#xywh=1,2,3,4",
    ].join("\n\n");
    expect(parseThumbnailVtt(text)).toEqual([
      { start: 6, end: 8, url: "https://a.example/s.jpg", x: 1, y: 2, w: 3, h: 4 },
    ]);
    expect(vttSeconds("00:61:00.000")).toBeNaN();
  });

  it("asks the route by the job's uid", () => {
    expect(thumbnailsPath({ id: "s1", uid: "u-1" }, 0)).toBe("/jobs/u-1/outputs/0/thumbnails.vtt");
    expect(thumbnailsPath({ id: "s 1" }, 2)).toBe("/jobs/s%201/outputs/2/thumbnails.vtt");
  });
});

describe("chapterList", () => {
  it("lists completed episodes in order, each starting after the previous completed ones", () => {
    const status = VideoJobStatus.parse({
      phase: "Completed",
      episodes: [
        { index: 2, title: "Three", phase: "Completed", progress: 100, durationSecs: 7 },
        { index: 0, phase: "Completed", progress: 100, durationSecs: 5.5 },
        { index: 1, title: "Two", phase: "Failed", progress: 40 },
        { index: 3, phase: "Completed", progress: 100 },
      ],
    });
    const job = { spec: { episodes: [{ title: "Pilot" }, {}, {}, {}] }, status };
    expect(chapterList(job)).toEqual([
      { index: 0, title: "Pilot", start: 0 },
      { index: 2, title: "Three", start: 5.5 },
      { index: 3, title: "Episode 4", start: 12.5 },
    ]);
    expect(chapterList({})).toEqual([]);
    // A completed episode without its length: the chapters after it have no known start.
    const unknown = VideoJobStatus.parse({
      episodes: [
        { index: 0, phase: "Completed", progress: 100 },
        { index: 1, phase: "Completed", progress: 100, durationSecs: 4 },
      ],
    });
    expect(chapterList({ status: unknown }).map((c) => c.start)).toEqual([0, undefined]);
  });
});

describe("formatTreatment", () => {
  const episodes = [
    {
      loudness: {
        method: "linear",
        gainDb: 7.4,
        target: -16,
        input: { integrated: -23.4 },
        output: { integrated: -16.02 },
      },
    },
    { loudness: { method: "limited", gainDb: 25.8, target: -16, input: { integrated: -41.8 }, output: {} } },
    { loudness: { method: "none", gainDb: 0, target: -16, input: {} } },
    {
      picture: {
        toneMapped: { from: "smpte2084", operator: "hable", peakNits: 1000 },
        deinterlaced: { fieldOrder: "tff", detectedBy: "idet" },
      },
    },
    { picture: { deinterlaced: { fieldOrder: "bff", detectedBy: "probe", pulldown: true } } },
    { picture: { convertedFrom: "bt470bg/bt709/bt470bg, full range" } },
    { picture: { convertedFrom: "bt2020/bt2020-10/bt2020nc, limited range" } },
    {},
  ];

  it("says what was done to each episode in the words of reel run's table", () => {
    for (const e of episodes) {
      const cli = [loudnessCell(e as never), pictureCell(e as never)].filter((c) => c !== "-");
      expect(formatTreatment(e)).toEqual(
        cli.flatMap((c) => (c.includes("LUFS") || c === "silent" ? [c] : c.split(", "))),
      );
    }
    expect(formatTreatment(episodes[1])).toEqual(["-41.8 → ? LUFS (limited)"]);
    expect(formatTreatment(episodes[3])).toEqual(["tone-mapped PQ", "deinterlaced"]);
  });
});

describe("subtitle tracks", () => {
  const job = { id: "s1", uid: "0b6a4c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b", spec: { subtitles: { default: "jpn" } } };
  const file = {
    subtitles: [
      { language: "eng", vtt: "s3://v/a-subtitles-eng.vtt" },
      { language: "jpn", vtt: "s3://v/a-subtitles-jpn.vtt" },
      { language: "eng", vtt: "s3://v/again.vtt" },
      { language: "../x", vtt: "s3://v/x.vtt" },
    ],
  };

  it("offers each listed ISO 639-2 language once, in order, by the route on the job's uid, default marked", () => {
    expect(subtitleTracks(job, file, 0)).toEqual([
      {
        language: "eng",
        label: "English (eng)",
        path: `/jobs/${job.uid}/outputs/0/subtitles/eng.vtt`,
        isDefault: false,
      },
      {
        language: "jpn",
        label: "Japanese (jpn)",
        path: `/jobs/${job.uid}/outputs/0/subtitles/jpn.vtt`,
        isDefault: true,
      },
    ]);
  });

  it("offers none for a file without subtitles, and labels an unknown code by itself", () => {
    expect(subtitleTracks(job, {}, 0)).toEqual([]);
    expect(subtitleTracks({ id: "s1" }, { subtitles: [{ language: "qaa" }] }, 1)).toEqual([
      { language: "qaa", label: "qaa", path: "/jobs/s1/outputs/1/subtitles/qaa.vtt", isDefault: false },
    ]);
  });
});
