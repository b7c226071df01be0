import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { thumbnailSheetName } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { makePoster, makeSprite, spritePlan, spriteVtt } from "./preview.ts";

describe("spritePlan", () => {
  it.each([
    ["a 20 s clip", 20, 1920, 1080, { intervalSecs: 2, count: 10, sheets: 1, tileHeight: 90 }],
    ["a 6 h season", 6 * 3600, 1920, 1080, { intervalSecs: 72, count: 300, sheets: 3, tileHeight: 90 }],
    ["4:3 SD", 601, 640, 480, { intervalSecs: 3, count: 201, sheets: 3, tileHeight: 120 }],
    ["a vertical video", 30, 1080, 1920, { intervalSecs: 2, count: 15, sheets: 1, tileHeight: 284 }],
    ["under a second", 0.4, 320, 240, { intervalSecs: 2, count: 1, sheets: 1, tileHeight: 120 }],
  ])("%s", (_what, secs, width, height, want) => {
    expect(spritePlan(secs, { width, height })).toMatchObject({ ...want, tileWidth: 160, columns: 10, rows: 10 });
  });
});

describe("spriteVtt", () => {
  it("names each tile's sheet and rectangle, one cue per interval, the last ending at the file's end", () => {
    const plan = spritePlan(250, { width: 1280, height: 720 });
    const vtt = spriteVtt(plan, 250, ["s-thumbs-001.jpg", "s-thumbs-002.jpg"]);
    const cues = vtt.split("\n\n").slice(1);
    expect(vtt.startsWith("WEBVTT\n\n")).toBe(true);
    expect(cues).toHaveLength(125);
    expect(cues[0]).toBe("00:00:00.000 --> 00:00:02.000\ns-thumbs-001.jpg#xywh=0,0,160,90");
    expect(cues[11]).toBe("00:00:22.000 --> 00:00:24.000\ns-thumbs-001.jpg#xywh=160,90,160,90");
    expect(cues[100]).toBe("00:03:20.000 --> 00:03:22.000\ns-thumbs-002.jpg#xywh=0,0,160,90");
    expect(cues[124]?.trim()).toBe("00:04:08.000 --> 00:04:10.000\ns-thumbs-002.jpg#xywh=640,180,160,90");
  });
});

describe("posters and seek thumbnails on a real file", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  let clip: string;
  beforeAll(async () => {
    tmp = await makeTempDir("reel-preview-");
    clip = join(tmp.dir, "dark-then-bright.mp4");
    // 10 s black, then 10 s white: which tile is which can be told by its brightness.
    const graph = "color=black:s=320x180:r=25:d=10[a];color=white:s=320x180:r=25:d=10[b];[a][b]concat=n=2:v=1:a=0";
    execFileSync("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-filter_complex",
      graph,
      "-c:v",
      "libx264",
      "-g",
      "25",
      "-preset",
      "ultrafast",
      clip,
    ]);
  });
  afterAll(() => tmp.cleanup());

  /** Mean luma (0–255) of a rectangle of an image, by ffmpeg's own scaler. */
  const luma = (image: string, w: number, h: number, x: number, y: number) =>
    execFileSync("ffmpeg", [
      "-v",
      "error",
      "-i",
      image,
      "-vf",
      `crop=${w}:${h}:${x}:${y},scale=1:1,format=gray`,
      "-f",
      "rawvideo",
      "-",
    ])[0] ?? -1;

  const size = (image: string) =>
    execFileSync("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", image])
      .toString()
      .trim();

  it("makes a 640-wide JPEG poster from inside the file", async () => {
    const poster = join(tmp.dir, "poster.jpg");
    await makePoster({ path: clip, demuxer: "mov" }, 20, poster);
    expect(size(poster)).toBe("mjpeg,640,360");
  });

  it("makes a sheet of tiles whose index points at the picture of its time", async () => {
    const sprite = await makeSprite(
      { path: clip, demuxer: "mov" },
      { width: 320, height: 180, durationSecs: 20 },
      tmp.dir,
      "show",
    );
    expect(sprite.sheets).toEqual(["show-thumbs-001.jpg"]);
    const sheet = join(tmp.dir, "show-thumbs-001.jpg");
    expect(size(sheet)).toBe("mjpeg,1600,900");
    const cues = sprite.vtt.split("\n\n").slice(1);
    expect(cues).toHaveLength(10);
    const tile = (i: number) => {
      const [x, y, w, h] = (/#xywh=(\d+),(\d+),(\d+),(\d+)/.exec(cues[i] ?? "") ?? []).slice(1).map(Number);
      return luma(sheet, w ?? 0, h ?? 0, x ?? 0, y ?? 0);
    };
    expect(tile(1)).toBeLessThan(40); // 2–4 s: black
    expect(tile(4)).toBeLessThan(40); // 8–10 s: black
    expect(tile(6)).toBeGreaterThan(200); // 12–14 s: white
    expect(tile(9)).toBeGreaterThan(200); // 18–20 s: white
  });
  it("flushes a last, partly filled sheet: 125 thumbnails of a 250 s file on two sheets", async () => {
    const long = join(tmp.dir, "long.mp4");
    execFileSync("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=160x90:r=5:d=250",
      "-c:v",
      "libx264",
      "-g",
      "5",
      "-preset",
      "ultrafast",
      long,
    ]);
    const sprite = await makeSprite(
      { path: long, demuxer: "mov" },
      { width: 160, height: 90, durationSecs: 250 },
      tmp.dir,
      "long",
    );
    expect(sprite.sheets).toEqual([thumbnailSheetName("long", 1), thumbnailSheetName("long", 2)]);
    expect(sprite.sheets).toEqual(["long-thumbs-001.jpg", "long-thumbs-002.jpg"]);
    expect(sprite.vtt.split("\n\n").slice(1)).toHaveLength(125);
  });
});
