// Burn-in (subtitles.burnIn): one language's subtitles drawn onto the picture. Text is first
// written by us as a plain ASS file — from the source's track opened the safe way (ffmpeg/input.ts)
// or from the cleaned sidecar — so ffmpeg's subtitles filter, which opens its file itself and
// would guess its format, only ever reads our file. Image subtitles (PGS, DVB, VobSub) are laid
// over the picture with the overlay filter, decoded from the source opened the safe way.
import { join } from "node:path";
import { ReelError, type VideoJobSpec } from "@reel/crds";
import { inputArgs } from "../ffmpeg/input.ts";
import { type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";
import type { SubtitleTrackTags } from "../probe/parse.ts";
import { sidecarInputArgs, type SidecarFile } from "./sidecar.ts";
import { sameLanguage } from "../encode/audio-tracks.ts";
import { textSubtitleCodecs } from "./tracks.ts";

/** Image subtitle codecs the overlay lays over the picture. */
const imageSubtitleCodecs: ReadonlySet<string> = new Set(["hdmv_pgs_subtitle", "dvb_subtitle", "dvd_subtitle", "xsub"]);

export type BurnChoice =
  | { kind: "sidecar"; file: SidecarFile }
  | { kind: "track"; stream: number }
  | { kind: "image"; stream: number }
  | { kind: "none"; warning: { code: "REEL_SUBTITLES_DROPPED"; message: string } };

/** What to burn in: the language's sidecar, else the source's text track of it; else why not. */
export function chooseBurnIn(
  source: readonly SubtitleTrackTags[],
  sidecars: readonly SidecarFile[],
  subtitles: VideoJobSpec["subtitles"],
): BurnChoice | undefined {
  const language = subtitles?.burnIn;
  if (!language) return undefined;
  const file = sidecars.find((s) => sameLanguage(s.language, language));
  if (file) return { kind: "sidecar", file };
  const ofLanguage = source.filter((t) => sameLanguage(t.language ?? "und", language));
  const text = ofLanguage.find((t) => textSubtitleCodecs.has(t.codec));
  if (text) return { kind: "track", stream: text.index };
  const image = ofLanguage.find((t) => imageSubtitleCodecs.has(t.codec));
  if (image) return { kind: "image", stream: image.index };
  const message = `no ${language} subtitles to burn in: not drawn`;
  return { kind: "none", warning: { code: "REEL_SUBTITLES_DROPPED", message } };
}

/** Writes the chosen subtitles to `out` as ASS (our own file for the subtitles filter to read). */
export async function writeBurnInAss(
  input: { path: string; demuxer: string },
  choice: Extract<BurnChoice, { kind: "sidecar" | "track" }>,
  out: string,
  o: { binaries?: FfmpegBinaries; signal?: AbortSignal },
): Promise<void> {
  const from =
    choice.kind === "sidecar"
      ? [...sidecarInputArgs(choice.file), "-map", "0:0"]
      : [...inputArgs({ path: input.path, demuxer: input.demuxer }), "-map", `0:${choice.stream}`];
  await runFfmpeg(["-y", ...from, "-c:s", "ass", "-f", "ass", `file:${out}`], {
    binaries: o.binaries,
    signal: o.signal,
    label: "subtitles for burn-in",
  });
}

/**
 * The filter that draws our ASS file. Its path is one we made (the episode's work folder); a path
 * with characters the filter graph would read as syntax is refused rather than escaped.
 */
export function burnFilter(assPath: string): string {
  if (!/^[A-Za-z0-9/._ +-]+$/.test(assPath)) {
    throw new ReelError("REEL_INTERNAL", `burn-in needs a work folder path of plain characters, not ${assPath}`);
  }
  return `subtitles=filename=${assPath}`;
}

/** The ASS file to burn in, written into `dir`, or the warning of why nothing is drawn; {} when not asked. */
export async function prepareBurnIn(
  input: { path: string; demuxer: string; subtitleTracks?: SubtitleTrackTags[] },
  sidecars: readonly SidecarFile[],
  subtitles: VideoJobSpec["subtitles"],
  dir: string,
  o: { binaries?: FfmpegBinaries; signal?: AbortSignal },
): Promise<{ burnIn?: string; burnInImage?: number; warning?: { code: "REEL_SUBTITLES_DROPPED"; message: string } }> {
  const choice = chooseBurnIn(input.subtitleTracks ?? [], sidecars, subtitles);
  if (!choice) return {};
  if (choice.kind === "none") return { warning: choice.warning };
  if (choice.kind === "image") return { burnInImage: choice.stream };
  const burnIn = join(dir, "burn-in.ass");
  await writeBurnInAss(input, choice, burnIn, o);
  return { burnIn };
}
