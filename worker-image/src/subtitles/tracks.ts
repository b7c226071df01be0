// Which of a source's subtitle tracks an episode keeps (spec.subtitles), as mov_text in its MP4, and
// which it must drop and say so: image subtitles (PGS, DVB, VobSub) have no text for mov_text.
// Pure: the arguments are in subtitleArgs, the WebVTT files beside the output in webvtt.ts.
import type { VideoJobSpec } from "@reel/crds";
import { sameLanguage } from "../encode/audio-tracks.ts";
import type { SubtitleTrackTags } from "../probe/parse.ts";

/** Text codecs ffmpeg decodes to text (ASS events) that the mov_text encoder takes; styling reduced. */
export const textSubtitleCodecs: ReadonlySet<string> = new Set([
  "subrip",
  "srt",
  "ass",
  "ssa",
  "webvtt",
  "mov_text",
  "text",
]);

/** One kept subtitle track: a source stream, or the episode's sidecar file number `sidecar`; its language. */
export interface SubtitleTrackPlan {
  sidecar?: number;
  /** The source's stream index (0 for a sidecar, its one stream). */
  stream: number;
  language: string;
}

export interface SubtitleChoice {
  tracks: SubtitleTrackPlan[];
  /** What could not be kept, for the episode's warnings, with the source stream it is about. */
  dropped: { code: "REEL_SUBTITLES_DROPPED"; message: string; stream: number }[];
}

/**
 * The text tracks to keep, one per language: the job's languages in order, else every language the
 * source has (file order; untagged tracks are "und"). Sidecars of a language come before the
 * source's own track of it. Image tracks of a wanted language are reported, never silently lost.
 * Undefined when the job asks for no subtitles (none are kept, as before).
 */
export function chooseSubtitleTracks(
  source: readonly SubtitleTrackTags[],
  sidecars: readonly { language: string }[],
  subtitles: VideoJobSpec["subtitles"],
): SubtitleChoice | undefined {
  if (!subtitles) return undefined;
  const lang = (t: SubtitleTrackTags) => t.language ?? "und";
  const wanted = (l: string) => !subtitles.languages || subtitles.languages.some((w) => sameLanguage(w, l));
  const order = subtitles.languages ?? [...new Set([...sidecars.map((s) => s.language), ...source.map(lang)])];
  const tracks: SubtitleTrackPlan[] = [];
  for (const language of order) {
    const sidecar = sidecars.findIndex((s) => sameLanguage(s.language, language));
    const own = source.find((t) => textSubtitleCodecs.has(t.codec) && sameLanguage(lang(t), language));
    if (sidecar >= 0) tracks.push({ sidecar, stream: 0, language });
    else if (own) tracks.push({ stream: own.index, language });
  }
  const dropped = source
    .filter((t) => !textSubtitleCodecs.has(t.codec) && wanted(lang(t)))
    .map((t) => ({
      code: "REEL_SUBTITLES_DROPPED" as const,
      message: `the ${lang(t)} subtitle track (stream ${t.index}) is ${t.codec}, an image format that mov_text cannot hold: dropped`,
      stream: t.index,
    }));
  return { tracks, dropped };
}

/**
 * The maps and output options that write the kept tracks as mov_text with their languages; sidecar
 * `k` is ffmpeg input `firstSidecarInput + k`.
 */
export function subtitleArgs(
  tracks: readonly SubtitleTrackPlan[],
  firstSidecarInput: number,
): { maps: string[]; outputs: string[] } {
  if (!tracks.length) return { maps: [], outputs: [] };
  const input = (t: SubtitleTrackPlan) => (t.sidecar === undefined ? 0 : firstSidecarInput + t.sidecar);
  const maps = tracks.flatMap((t) => ["-map", `${input(t)}:${t.stream}`]);
  return { maps, outputs: ["-c:s", "mov_text", ...subtitleTagArgs(tracks)] };
}

/** Each subtitle track's language, no disposition (players show none until asked). */
export function subtitleTagArgs(tracks: readonly { language: string }[]): string[] {
  return tracks.flatMap((t, i) => [`-metadata:s:s:${i}`, `language=${t.language}`, `-disposition:s:${i}`, "0"]);
}

/**
 * The merge's subtitle order: the job's languages (undefined: every language the episodes have);
 * only subtitles.default is marked default.
 */
export function mergeSubtitleChoices(subtitles: VideoJobSpec["subtitles"]) {
  const languages = subtitles?.languages;
  if (!languages?.length) return undefined;
  return { subtitleTracks: languages.map((language) => ({ language, default: language === subtitles?.default })) };
}
