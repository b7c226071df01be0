// HLS alternate audio renditions (EXT-X-MEDIA TYPE=AUDIO) chosen by the job's languages: the Rust
// HLS fetch takes the master's video variant; each wanted language's rendition (a media playlist)
// is fetched by the same fetch — egress guard, byte cap — and muxed beside the video, tagged with
// its language, so the encode picks tracks by language as for any source. Parsing is pure; the
// I/O is in `withAudioRenditions`.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ReelError } from "@reel/crds";
import { type DownloadOptions, download, downloadHls } from "@reel/native";
import { sameLanguage } from "../encode/audio-tracks.ts";
import { execCommand } from "../ffmpeg/exec.ts";
import { demuxerFor, inputArgs } from "../ffmpeg/input.ts";
import { type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";
import { safeProbeInput } from "../probe/probe.ts";
import { joinVttSegments } from "../subtitles/hls.ts";
import type { SidecarFile } from "../subtitles/sidecar.ts";

export interface Rendition {
  type: string;
  groupId: string;
  language?: string;
  default: boolean;
  /** Absolute, resolved against the master's URL. */
  uri: string;
}

/** An attribute list (`KEY=value,KEY="quoted, value"`) as a map. */
function attributes(list: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of list.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) {
    out.set(m[1] as string, (m[2] as string).replace(/^"|"$/g, ""));
  }
  return out;
}

/** The master playlist's EXT-X-MEDIA renditions that have their own playlist (a URI). */
export function parseRenditions(text: string, masterUrl: string): Rendition[] {
  const out: Rendition[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith("#EXT-X-MEDIA:")) continue;
    const a = attributes(line.slice("#EXT-X-MEDIA:".length));
    const uri = a.get("URI");
    const type = a.get("TYPE");
    if (!uri || !type) continue;
    const language = a.get("LANGUAGE")?.toLowerCase();
    out.push({
      type,
      groupId: a.get("GROUP-ID") ?? "",
      ...(language ? { language } : {}),
      default: a.get("DEFAULT") === "YES",
      uri: new URL(uri, masterUrl).toString(),
    });
  }
  return out;
}

/**
 * For each asked language, the first audio rendition in it (the default one first). With no
 * languages asked, the one a player would pick: the DEFAULT=YES rendition, else the first — a master
 * whose variants carry no sound of their own (demuxed audio, as most fMP4 streams are) would
 * otherwise come out silent.
 */
export function chooseAudioRenditions(
  renditions: readonly Rendition[],
  languages?: readonly string[],
): { language?: string; uri: string }[] {
  if (!languages?.length) {
    const all = renditions.filter((r) => r.type === "AUDIO");
    const pick = all.find((r) => r.default) ?? all[0];
    return pick ? [{ ...(pick.language ? { language: pick.language } : {}), uri: pick.uri }] : [];
  }
  const audio = renditions
    .filter((r) => r.type === "AUDIO" && r.language)
    .sort((a, b) => Number(b.default) - Number(a.default));
  return languages.flatMap((language) => {
    const r = audio.find((x) => sameLanguage(x.language as string, language));
    return r ? [{ language, uri: r.uri }] : [];
  });
}

/** The master playlist's renditions (through the egress guard, 1 MiB at most); undefined for a media playlist. */
export async function readRenditions(o: {
  url: string;
  dir: string;
  net: RenditionOptions["net"];
  signal?: AbortSignal;
}): Promise<Rendition[] | undefined> {
  const master = join(o.dir, "master.m3u8");
  await download({ url: o.url, dest: master, connections: 1, maxBytes: 1 << 20, net: o.net }, { signal: o.signal });
  const text = await readFile(master, "utf8");
  await rm(master, { force: true });
  return text.includes("#EXT-X-STREAM-INF") ? parseRenditions(text, o.url) : undefined;
}

/**
 * The asked languages' WebVTT subtitle renditions (every language when none are asked), each
 * fetched by the HLS fetch under what is left of the byte cap and joined into one WebVTT file on
 * the video's clock (subtitles/hls.ts).
 */
export async function subtitleRenditions(
  o: Omit<RenditionOptions, "languages"> & { languages?: readonly string[] | undefined },
  renditions: readonly Rendition[],
): Promise<{ files: SidecarFile[]; bytes: number }> {
  const subs = renditions.filter((r) => r.type === "SUBTITLES" && r.language);
  const chosen = o.languages
    ? o.languages.flatMap((l) =>
        subs
          .filter((r) => sameLanguage(r.language as string, l))
          .slice(0, 1)
          .map((r) => ({ ...r, language: l })),
      )
    : subs.filter((r, i) => subs.findIndex((x) => x.language === r.language) === i);
  const { startSecs } = chosen.length ? await formatOf(o.video, o) : { startSecs: 0 };
  const files: SidecarFile[] = [];
  let bytes = 0;
  for (const [k, r] of chosen.entries()) {
    const raw = join(o.dir, `subtitles-hls-${k}.raw`);
    const left = o.maxBytes - bytes;
    if (left <= 0) throw new ReelError("REEL_SOURCE_TOO_LARGE", "the subtitle renditions pass the byte cap");
    bytes += (await downloadHls({ url: r.uri, dest: raw, maxBytes: left, net: o.net }, { signal: o.signal })).bytes;
    const path = join(o.dir, `subtitles-hls-${k}.vtt`);
    await writeFile(path, joinVttSegments(await readFile(raw, "utf8"), startSecs));
    await rm(raw, { force: true });
    files.push({ path, format: "webvtt", language: r.language as string });
  }
  return { files, bytes };
}

export interface RenditionOptions {
  url: string;
  /** The video variant already fetched (MPEG-TS or fMP4, as the stream has it). */
  video: string;
  dir: string;
  /** The job's audio.languages; absent: the master's default audio rendition. */
  languages?: readonly string[];
  /** What is left of the byte cap after the video. */
  maxBytes: number;
  net: NonNullable<DownloadOptions["net"]>;
  binaries: FfmpegBinaries;
  signal?: AbortSignal;
}

// Packed audio (raw ADTS AAC, AC-3, E-AC-3, MP3 segments): no container clock; HLS dates it with an
// ID3 tag ffmpeg's demuxers skip, so it starts at 0 and is placed at the video's start instead.
const PACKED_AUDIO = new Set(["aac", "ac3", "eac3", "mp3"]);

/**
 * The video with the asked languages' audio renditions (or, with none asked, the default one) muxed
 * in (Matroska, stream copy), and the bytes fetched for them; undefined when the URL is no master
 * or has none of those renditions.
 */
export async function withAudioRenditions(
  o: RenditionOptions,
  renditions: readonly Rendition[],
): Promise<{ path: string; bytes: number } | undefined> {
  const chosen = chooseAudioRenditions(renditions, o.languages);
  if (!chosen.length) return undefined;
  const { demuxer, startSecs } = await formatOf(o.video, o);
  let bytes = 0;
  const inputs: string[] = [];
  for (const [k, r] of chosen.entries()) {
    const dest = join(o.dir, `audio-${k}.media`);
    const left = o.maxBytes - bytes;
    if (left <= 0) throw new ReelError("REEL_SOURCE_TOO_LARGE", "the audio renditions pass the byte cap");
    const got = await downloadHls({ url: r.uri, dest, maxBytes: left, net: o.net }, { signal: o.signal });
    bytes += got.bytes;
    const format = (await formatOf(dest, o)).demuxer;
    const at = PACKED_AUDIO.has(format) ? ["-itsoffset", startSecs.toFixed(6)] : [];
    inputs.push(...inputArgs({ path: dest, demuxer: format, before: at }));
  }
  const out = join(o.dir, "source.mkv");
  const maps = chosen.flatMap((_, k) => ["-map", `${k + 1}:a:0`]);
  const tags = chosen.flatMap((r, k) => (r.language ? [`-metadata:s:a:${k}`, `language=${r.language}`] : []));
  const video = inputArgs({ path: o.video, demuxer });
  // The variant's own audio, if it has any, after the renditions: nothing is lost. The renditions
  // share the variant's MPEG-TS clock: all inputs move by the video's start (-copyts, then one
  // offset), not each by its own, which would shift audio against video by their start difference
  // (21 ms of AAC priming on ffmpeg-made streams).
  const shift = ["-copyts", "-output_ts_offset", (-startSecs).toFixed(6)];
  const mux = ["-map", "0:v:0", ...maps, "-map", "0:a?", "-c", "copy", ...tags, ...shift];
  await runFfmpeg(["-y", ...video, ...inputs, ...mux, "-map_metadata", "-1", "-f", "matroska", `file:${out}`], {
    binaries: o.binaries,
    signal: o.signal,
    label: "mux audio renditions",
  });
  return { path: out, bytes };
}

/** A fetched file's pinned demuxer (refused when not one we open) and start time, from ffprobe. */
async function formatOf(
  path: string,
  o: { binaries: FfmpegBinaries; signal?: AbortSignal },
): Promise<{ demuxer: string; startSecs: number }> {
  const entries = ["-show_entries", "format=format_name,start_time", "-of", "json"];
  const r = await execCommand(o.binaries.ffprobe, ["-v", "error", ...entries, ...safeProbeInput(path)], {
    signal: o.signal,
    timeoutMs: 60_000,
  });
  const format = (JSON.parse(r.stdout || "{}") as { format?: { format_name?: string; start_time?: string } }).format;
  return { demuxer: demuxerFor(format?.format_name ?? ""), startSecs: Number(format?.start_time) || 0 };
}
