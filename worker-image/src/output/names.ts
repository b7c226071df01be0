// File and object names built from user text (job names, episode titles) must never escape the
// output directory or prefix: no path separators, no "..", no control characters. Names are cut
// between grapheme clusters, so the name on disk, in S3 and in the JSON result is one string.
import { episodePosterName, posterName, thumbnailsVttName } from "@reel/crds";

/** Longest name part in UTF-16 units (as before), and the most bytes a file name may have. */
const MAX_UNITS = 120;
const MAX_FILE_NAME_BYTES = 255;
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * The longest prefix of `text` made of whole grapheme clusters within `maxUnits` UTF-16 units and
 * `maxBytes` UTF-8 bytes: a cut inside a surrogate pair would leave a lone surrogate, which the
 * file system stores as U+FFFD (a file the result's location does not name).
 */
function cut(text: string, maxUnits: number, maxBytes: number): string {
  if (text.length <= maxUnits && Buffer.byteLength(text) <= maxBytes) return text;
  let units = 0;
  let bytes = 0;
  let end = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    units += segment.length;
    bytes += Buffer.byteLength(segment);
    if (units > maxUnits || bytes > maxBytes) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
}

export function safeName(
  text: string,
  fallback = "output",
  maxBytes = MAX_FILE_NAME_BYTES,
  maxUnits = MAX_UNITS,
): string {
  const cleaned = cut(
    text
      .normalize("NFC")
      // Cs: lone surrogates (a well-formed pair is one code point and does not match).
      .replace(/[\p{Cc}\p{Cf}\p{Cs}]/gu, "")
      .replace(/[/\\:*?"<>|]+/g, "-")
      .replace(/\.{2,}/g, ".")
      .replace(/^[.\-\s]+|[.\-\s]+$/g, "")
      .replace(/\s+/g, " "),
    maxUnits,
    maxBytes,
  ).trim();
  return cleaned || fallback;
}

/**
 * The name a target stores a file under: cleaned like any name, but cut only at the file system's
 * 255 bytes — the names made here already fit and must keep their extension (cutting them again at
 * 120 characters stored a long-titled episode without its `.mp4`).
 */
export function storedName(name: string): string {
  return safeName(name, "output", MAX_FILE_NAME_BYTES, Number.POSITIVE_INFINITY);
}

/** The merged output's file name, as `reel run` and the merge pod store it. */
export function mergedFileName(jobName: string): string {
  return `${safeName(jobName, "output", MAX_FILE_NAME_BYTES - 4)}.mp4`;
}

/**
 * The files made beside a stored output for people to look at, named after it: `<stem>-poster.jpg`
 * (an episode's own file), `<stem>-ep001-poster.jpg` (an episode of a merged file), and the merged
 * file's seek thumbnails `<stem>-thumbs.vtt` with its sheets `<stem>-thumbs-001.jpg`, all well
 * within 255 bytes.
 */
export function previewNames(outputFile: string) {
  const stem = safeName(outputFile.replace(/\.mp4$/, ""), "output", 200, Number.POSITIVE_INFINITY);
  return {
    stem,
    poster: posterName(stem),
    episodePoster: (index: number) => episodePosterName(stem, index),
    thumbsVtt: thumbnailsVttName(stem),
  };
}

/** One episode's file name when merge is off: `<job>-<001>-<title>.mp4`, within 255 bytes. */
export function episodeFileName(jobName: string, index: number, title: string): string {
  const head = `${safeName(jobName, "output", 120)}-${String(index + 1).padStart(3, "0")}-`;
  return `${head}${safeName(title, "output", MAX_FILE_NAME_BYTES - Buffer.byteLength(head) - 4)}.mp4`;
}
