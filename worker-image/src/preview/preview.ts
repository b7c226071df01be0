// What people look at before they press play: a poster per episode, and for the merged file a
// seek-thumbnail sprite with its WebVTT index (the form web players load for seek previews: each cue
// names a sheet and the tile's rectangle, `sheet.jpg#xywh=x,y,w,h`). Made with ffmpeg from the encoded
// file (our own MP4, opened the one safe way every input is); the sprite decodes only keyframes.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type InputSpec, inputArgs } from "../ffmpeg/input.ts";
import { defaultBinaries, type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";

export interface PreviewOptions {
  binaries?: FfmpegBinaries;
  signal?: AbortSignal;
}

/** Width of a poster; its height follows the picture. */
export const POSTER_WIDTH = 640;

/** A representative frame near a fifth of the way in (the thumbnail filter picks the most typical of 30). */
export function posterArgs(input: InputSpec, durationSecs: number, output: string, width = POSTER_WIDTH): string[] {
  const at = Math.max(0, Math.min(durationSecs * 0.2, durationSecs - 1.5));
  return [
    ...inputArgs({ ...input, before: [...(input.before ?? []), "-ss", at.toFixed(3)] }),
    "-map",
    "0:v:0",
    "-vf",
    `thumbnail=n=30,scale=${width}:-2`,
    "-frames:v",
    "1",
    "-c:v",
    "mjpeg",
    "-q:v",
    "3",
    "-f",
    "image2",
    "-update",
    "1",
    "-y",
    output,
  ];
}

export async function makePoster(input: InputSpec, durationSecs: number, output: string, o: PreviewOptions = {}) {
  await runFfmpeg(posterArgs(input, durationSecs, output), {
    binaries: o.binaries ?? defaultBinaries,
    signal: o.signal,
    label: "poster",
  });
}

export interface SpritePlan {
  /** Seconds between thumbnails. */
  intervalSecs: number;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  /** Thumbnails in all, and the sheets that hold them. */
  count: number;
  sheets: number;
}

/**
 * One thumbnail every 2 s, fewer on long files (at most about 300: a 6 h season gets one every
 * 72 s), 160 px wide, on sheets of 10 × 10 tiles.
 */
export function spritePlan(durationSecs: number, picture: { width: number; height: number }): SpritePlan {
  const intervalSecs = Math.max(2, Math.ceil(durationSecs / 300));
  const tileWidth = 160;
  const tileHeight = Math.max(2, Math.round((tileWidth * picture.height) / picture.width / 2) * 2);
  const count = Math.max(1, Math.ceil(durationSecs / intervalSecs));
  const columns = 10;
  const rows = 10;
  return { intervalSecs, tileWidth, tileHeight, columns, rows, count, sheets: Math.ceil(count / (columns * rows)) };
}

export function spriteArgs(input: InputSpec, plan: SpritePlan, pattern: string): string[] {
  const { intervalSecs, tileWidth, tileHeight, columns, rows } = plan;
  return [
    // Only keyframes are decoded: seek previews need the picture near a time, not at the exact frame.
    ...inputArgs({ ...input, before: [...(input.before ?? []), "-skip_frame", "nokey"] }),
    "-map",
    "0:v:0",
    "-vf",
    `fps=1/${intervalSecs}:round=down:eof_action=pass,scale=${tileWidth}:${tileHeight},tile=${columns}x${rows}`,
    "-fps_mode",
    "passthrough",
    "-c:v",
    "mjpeg",
    "-q:v",
    "5",
    "-f",
    "image2",
    "-start_number",
    "1",
    "-y",
    pattern,
  ];
}

const stamp = (secs: number) => {
  const ms = Math.round(secs * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${s.toFixed(3).padStart(6, "0")}`;
};

/** The WebVTT index: a cue per thumbnail, naming its sheet (relative to the .vtt) and its tile. */
export function spriteVtt(plan: SpritePlan, durationSecs: number, sheetNames: readonly string[]): string {
  const perSheet = plan.columns * plan.rows;
  const cues: string[] = [];
  for (let i = 0; i < plan.count; i++) {
    const sheet = sheetNames[Math.floor(i / perSheet)];
    if (!sheet) break;
    const k = i % perSheet;
    const x = (k % plan.columns) * plan.tileWidth;
    const y = Math.floor(k / plan.columns) * plan.tileHeight;
    const start = i * plan.intervalSecs;
    const end = Math.min(durationSecs, start + plan.intervalSecs);
    cues.push(`${stamp(start)} --> ${stamp(end)}\n${sheet}#xywh=${x},${y},${plan.tileWidth},${plan.tileHeight}`);
  }
  return `WEBVTT\n\n${cues.join("\n\n")}\n`;
}

export interface Sprite {
  plan: SpritePlan;
  /** Sheet file names in `dir`, in order. */
  sheets: string[];
  vtt: string;
}

/** Writes `<stem>-thumbs-NNN.jpg` sheets into `dir` and answers them with the WebVTT text. */
export async function makeSprite(
  input: InputSpec,
  picture: { width: number; height: number; durationSecs: number },
  dir: string,
  stem: string,
  o: PreviewOptions = {},
): Promise<Sprite> {
  const plan = spritePlan(picture.durationSecs, picture);
  await runFfmpeg(spriteArgs(input, plan, join(dir, `${stem}-thumbs-%03d.jpg`)), {
    binaries: o.binaries ?? defaultBinaries,
    signal: o.signal,
    label: "seek thumbnails",
  });
  const prefix = `${stem}-thumbs-`;
  const sheets = (await readdir(dir)).filter((f) => f.startsWith(prefix) && f.endsWith(".jpg")).sort();
  return { plan, sheets, vtt: spriteVtt(plan, picture.durationSecs, sheets) };
}
