// Subtitles a page's site gave through yt-dlp (spec.subtitles on a page episode): each file named
// with the job's language code, held to the byte cap, and cleaned like an episode's own files.
import { stat } from "node:fs/promises";
import { ReelError } from "@reel/crds";
import { sameLanguage, toIso6392 } from "../encode/audio-tracks.ts";
import { prepareSidecar, type SidecarFile } from "./sidecar.ts";

/** yt-dlp's written files as sidecars, one per language (the first of each), in the order written. */
export async function siteSubtitles(
  written: readonly { tag: string; path: string }[],
  languages: readonly string[] | undefined,
  maxBytes: number,
): Promise<SidecarFile[]> {
  const files: SidecarFile[] = [];
  for (const w of written) {
    const code = toIso6392(w.tag);
    const language = languages ? languages.find((l) => code && sameLanguage(l, code)) : code;
    if (!language || files.some((f) => f.language === language)) continue;
    const { size } = await stat(w.path);
    if (size > maxBytes) {
      throw new ReelError("REEL_SOURCE_TOO_LARGE", `the site's ${w.tag} subtitles are ${size} bytes, over the cap`);
    }
    files.push(await prepareSidecar(w.path, `${w.path}.clean`, language));
  }
  return files;
}
