// An episode's sidecar subtitle file (episodes[].subtitles): its format told from its content, never
// from its name, and cleaned before ffmpeg reads it — cue text is data: ASS embedded fonts and
// graphics, WebVTT style, region and note blocks (where url() and markup live) are removed.
import { readFile, writeFile } from "node:fs/promises";
import { ReelError } from "@reel/crds";

export type SidecarFormat = "srt" | "ass" | "webvtt";

/** A fetched, cleaned sidecar ready for ffmpeg: its path and pinned demuxer. */
export interface SidecarFile {
  path: string;
  format: SidecarFormat;
  language: string;
}

/** The format of a subtitle file from its first lines; REEL_MEDIA_INVALID when it is none we read. */
export function sidecarFormat(text: string): SidecarFormat {
  const head = text.replace(/^\uFEFF/, "").trimStart();
  if (/^WEBVTT([ \t\r\n]|$)/.test(head)) return "webvtt";
  if (/^\[Script Info\]/i.test(head)) return "ass";
  if (/^\d+\r?\n\d{1,2}:\d{2}:\d{2}[,.]\d{1,3} --> \d{1,2}:\d{2}:\d{2}[,.]\d{1,3}/.test(head)) return "srt";
  throw new ReelError(
    "REEL_MEDIA_INVALID",
    `a subtitle file must be SubRip, ASS/SSA or WebVTT; this one starts ${JSON.stringify(head.slice(0, 40))}`,
  );
}

/**
 * The file as ffmpeg may read it: ASS without its [Fonts] and [Graphics] sections (embedded files),
 * WebVTT without STYLE, REGION and NOTE blocks; SRT as it is. Line endings become \n.
 */
export function cleanSidecar(text: string, format: SidecarFormat): string {
  const lines = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  if (format === "ass") {
    // A section runs from its [Header] line to the next one.
    let skipping = false;
    const kept = lines.split("\n").filter((line) => {
      const header = /^\[([^\]]+)\]\s*$/.exec(line);
      if (header) skipping = /^(fonts|graphics)$/i.test(header[1] as string);
      return !skipping;
    });
    return kept.join("\n");
  }
  if (format === "webvtt") {
    return lines
      .split(/\n{2,}/)
      .filter((block) => !/^(STYLE|REGION|NOTE)([ \t\n]|$)/.test(block.trimStart()))
      .join("\n\n");
  }
  return lines;
}

/** Opens one cleaned sidecar: local files only, its format pinned and the only one allowed. */
export function sidecarInputArgs(s: SidecarFile): string[] {
  return ["-protocol_whitelist", "file", "-format_whitelist", s.format, "-f", s.format, "-i", `file:${s.path}`];
}

/** A fetched subtitle file (`raw`, already under the byte cap) told apart by its content and written cleaned to `dest`. */
export async function prepareSidecar(raw: string, dest: string, language: string): Promise<SidecarFile> {
  const text = await readFile(raw, "utf8");
  const format = sidecarFormat(text);
  await writeFile(dest, cleanSidecar(text, format));
  return { path: dest, format, language };
}
