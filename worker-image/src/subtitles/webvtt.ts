// One WebVTT file per subtitle language beside the merged output, the form web players load. The
// cues come from the merged file's mov_text tracks, so their times are already each chapter's
// start plus the episode's own time. Cue text is data: every file is rebuilt cue by cue, keeping
// only times and text with <b>, <i>, <u>; everything else that looks like markup is escaped.
import { readFile, rm, writeFile } from "node:fs/promises";
import { inputArgs } from "../ffmpeg/input.ts";
import { type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";

const TIME = /^((?:\d+:)?\d{2}:\d{2}\.\d{3})\s+-->\s+((?:\d+:)?\d{2}:\d{2}\.\d{3})/;
const ALLOWED_TAG = /^<\/?[biu]>$/;
const ENTITY = /^&(amp|lt|gt|nbsp|lrm|rlm);/;

/** A cue's text with its markup made safe: <b>, <i>, <u> kept, other tags and stray < > & escaped. */
export function safeCueText(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "<") {
      const tag = /^<\/?[a-z]+>/i.exec(text.slice(i))?.[0];
      if (tag && ALLOWED_TAG.test(tag.toLowerCase())) {
        out += tag.toLowerCase();
        i += tag.length - 1;
        continue;
      }
      out += "&lt;";
    } else if (c === ">") out += "&gt;";
    else if (c === "&") out += ENTITY.test(text.slice(i)) ? "&" : "&amp;";
    else out += c;
  }
  return out;
}

/**
 * A WebVTT file rebuilt from another: the header, then each cue's times (settings dropped) and its
 * text lines made safe. Identifiers, STYLE, REGION and NOTE blocks and anything unparsable are dropped.
 */
export function safeWebVtt(text: string): string {
  const blocks = text.replace(/\r\n?/g, "\n").split(/\n{2,}/);
  const cues: string[] = [];
  for (const block of blocks) {
    const lines = block.split("\n").filter((l) => l.length > 0);
    const at = lines.findIndex((l) => TIME.test(l));
    if (at < 0 || at > 1) continue; // the header, a note, a style block, or not a cue
    const [, start, end] = TIME.exec(lines[at] as string) as RegExpExecArray;
    const body = lines.slice(at + 1).map(safeCueText);
    if (body.length) cues.push(`${start} --> ${end}\n${body.join("\n")}`);
  }
  return `WEBVTT\n\n${cues.map((c) => `${c}\n\n`).join("")}`;
}

/** The merged file's subtitle track `n` (0-based among its subtitle tracks) written to `out` as safe WebVTT. */
export async function writeWebVtt(
  merged: string,
  n: number,
  out: string,
  o: { binaries?: FfmpegBinaries; signal?: AbortSignal },
): Promise<void> {
  const raw = `${out}.raw.vtt`;
  // The merge trims a late-starting first episode's subtitles by shortening their first sample,
  // so ffmpeg reads the track's edit list right (5.1 moved chapter 1's cues early by up to that
  // sample's length when the edit started inside it).
  const args = ["-y", ...inputArgs({ path: merged, demuxer: "mov" }), "-map", `0:s:${n}`];
  await runFfmpeg([...args, "-c:s", "webvtt", "-f", "webvtt", `file:${raw}`], {
    binaries: o.binaries,
    signal: o.signal,
    label: "subtitles to WebVTT",
  });
  try {
    await writeFile(out, safeWebVtt(await readFile(raw, "utf8")));
  } finally {
    await rm(raw, { force: true });
  }
}
