// Which of a source's audio tracks an episode keeps when the job asks for languages
// (spec.audio.languages), in the job's order, and the ffmpeg arguments that map, filter and tag
// them. Pure: the loudness of each kept track is measured in audio-loudness.ts.
import { ReelError, type VideoJobSpec } from "@reel/crds";
import { SAMPLE_RATE, type SoundPlan, soundFilter } from "../ffmpeg/sound.ts";
import type { AudioTrackTags, TrackDisposition } from "../probe/parse.ts";

/** One output audio track: a source track (its stream index), or silence where the source lacks the language. */
export interface AudioTrackPlan {
  source?: number;
  language: string;
  dispositions: TrackDisposition[];
}

/** A planned track with the sound it is encoded with (layout and its own loudness gain). */
export interface EncodeAudioTrack extends AudioTrackPlan {
  sound: SoundPlan;
}

// ISO 639-2/B codes and ISO 639-1 codes sources are tagged with, to the 639-2/T code.
const canonical: Record<string, string> = {
  ger: "deu",
  fre: "fra",
  chi: "zho",
  dut: "nld",
  cze: "ces",
  gre: "ell",
  per: "fas",
  rum: "ron",
  slo: "slk",
  ice: "isl",
  may: "msa",
  en: "eng",
  ja: "jpn",
  de: "deu",
  fr: "fra",
  es: "spa",
  it: "ita",
  pt: "por",
  ru: "rus",
  zh: "zho",
  ko: "kor",
  nl: "nld",
  sv: "swe",
  pl: "pol",
  ar: "ara",
  hi: "hin",
};

/** Whether two ISO 639 codes name one language ("ger" and "deu", "en" and "eng"). */
export function sameLanguage(a: string, b: string): boolean {
  const c = (x: string) => canonical[x.toLowerCase()] ?? x.toLowerCase();
  return c(a) === c(b);
}

/** A site's language tag ("en", "en-US", "pt-BR", "jpn") as ISO 639-2/T; undefined when not known here. */
export function toIso6392(tag: string): string | undefined {
  const base = tag.toLowerCase().split(/[-_]/)[0] ?? "";
  const code = canonical[base] ?? base;
  return /^[a-z]{3}$/.test(code) ? code : undefined;
}

/** The ISO 639-1 code of an ISO 639-2 one when this table knows it ("eng" -> "en"). */
export function toIso6391(code: string): string | undefined {
  const t = canonical[code] ?? code;
  return Object.entries(canonical).find(([k, v]) => k.length === 2 && v === t)?.[0];
}

// The main mix before commentary and described audio; then the source's default; then file order.
const rank = (t: AudioTrackTags) =>
  (t.dispositions.some((d) => d !== "default") ? 2 : 0) + (t.dispositions.includes("default") ? 0 : 1);

type AudioSpec = Pick<VideoJobSpec["audio"], "languages" | "default" | "missing">;

/**
 * The output's audio tracks in the job's language order; undefined when the job names no languages
 * (the encode keeps the source's first track, as before). A language the source lacks is silence,
 * or REEL_AUDIO_LANGUAGE_MISSING with `missing: fail`. The job's default language is the one track
 * marked default; other dispositions (commentary, hearing/visually impaired) are the source's.
 */
export function chooseAudioTracks(tracks: readonly AudioTrackTags[], audio: AudioSpec): AudioTrackPlan[] | undefined {
  const languages = audio.languages;
  if (!languages?.length) return undefined;
  const chosenDefault = audio.default ?? languages[0];
  return languages.map((language) => {
    const found = tracks.filter((t) => t.language !== undefined && sameLanguage(t.language, language));
    const pick = [...found].sort((a, b) => rank(a) - rank(b))[0];
    if (!pick && audio.missing === "fail") {
      const has = tracks.map((t) => t.language ?? "untagged").join(", ") || "no audio";
      throw new ReelError(
        "REEL_AUDIO_LANGUAGE_MISSING",
        `the source has no ${language} audio track (it has: ${has}); audio.missing is fail`,
      );
    }
    const kept = (pick?.dispositions ?? []).filter((d) => d !== "default");
    const dispositions: TrackDisposition[] = language === chosenDefault ? ["default", ...kept] : kept;
    return { ...(pick ? { source: pick.index } : {}), language, dispositions };
  });
}

/** Each track's loudness treatment for status (a silent stand-in: method none, no input). */
export function trackLoudness(tracks: readonly EncodeAudioTrack[]) {
  const finite = (n: number) => (Number.isFinite(n) ? n : undefined);
  return tracks.map((t) => {
    const l = t.sound.loudness;
    if (!l) return { language: t.language, method: "none" as const, gainDb: 0 };
    const input = JSON.parse(
      JSON.stringify({ integrated: finite(l.input.integrated), truePeak: finite(l.input.truePeak), lra: l.input.lra }),
    ) as { integrated?: number; truePeak?: number; lra?: number };
    return { language: t.language, method: l.method, gainDb: l.gainDb, input };
  });
}

/** A warning per asked language the source lacked (its track is silence), for the episode's status. */
export function silenceWarnings(
  tracks: readonly AudioTrackPlan[],
): { code: "REEL_AUDIO_LANGUAGE_MISSING"; message: string }[] {
  return tracks
    .filter((t) => t.source === undefined)
    .map((t) => ({
      code: "REEL_AUDIO_LANGUAGE_MISSING" as const,
      message: `the source has no ${t.language} audio track: a silent one stands in (audio.missing: silence)`,
    }));
}

/** The tags of each output audio track: its language and its dispositions (0 clears ffmpeg's own guess). */
export function audioTagArgs(tracks: readonly AudioTrackPlan[]): string[] {
  return tracks.flatMap((t, i) => [
    `-metadata:s:a:${i}`,
    `language=${t.language}`,
    `-disposition:a:${i}`,
    t.dispositions.length ? t.dispositions.join("+") : "0",
  ]);
}

/**
 * The inputs and output options of the planned tracks after the source (input 0): one silent
 * input of the episode's length when a track is silence (mapped once per silent track), each track
 * through its own layout and gain filter, AAC for all. Only the first normalised track carries the
 * loudness meter (two would interleave their summaries): status reports that track.
 */
export function audioTrackArgs(
  tracks: readonly EncodeAudioTrack[],
  o: { durationSecs: number; silentInput: number; codec: string[] },
): { inputs: string[]; maps: string[]; outputs: string[] } {
  const layout = tracks[0]?.sound.layout ?? "stereo";
  const silent = tracks.some((t) => t.source === undefined);
  // lavfi is an input we write ourselves, never user data; -t bounds it to the episode.
  const inputs = silent
    ? ["-t", o.durationSecs.toFixed(6), "-f", "lavfi", "-i", `anullsrc=r=${SAMPLE_RATE}:cl=${layout}`]
    : [];
  const maps = tracks.flatMap((t) => ["-map", t.source === undefined ? `${o.silentInput}:a:0` : `0:${t.source}`]);
  const outputs: string[] = [];
  const metered = tracks.findIndex((t) => t.sound.loudness);
  tracks.forEach((t, i) => {
    const filter = soundFilter(t.source === undefined ? { layout } : t.sound);
    outputs.push(`-filter:a:${i}`, i === metered ? filter : withoutMeter(filter));
  });
  outputs.push(...o.codec, ...audioTagArgs(tracks));
  return { inputs, maps, outputs };
}

/** A chain without its trailing ebur128 meter (two meters would interleave their summaries). */
function withoutMeter(filter: string): string {
  return filter.replace(/,ebur128=[^,]*$/, "");
}

/** The merge's track order: the job's languages, its default marked (undefined: every track the inputs have). */
export function mergeTrackChoices(
  audio: AudioSpec | undefined,
): { audioTracks: { language: string; default: boolean }[] } | undefined {
  const languages = audio?.languages;
  if (!languages?.length) return undefined;
  const chosenDefault = audio?.default ?? languages[0];
  return { audioTracks: languages.map((language) => ({ language, default: language === chosenDefault })) };
}
