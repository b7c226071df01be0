// Names more than one process writes: the operator's field manager, the default chapter title and
// the seek-thumbnail, poster and subtitle files stored beside an output (the worker writes them, the
// operator lists them, the shim links them, retention deletes them).

/** The field manager (and app.kubernetes.io/managed-by) of everything the operator writes. */
export const FIELD_MANAGER = "reel-operator";

/** An episode's title when the manifest gives none: "Episode <n>", counted from 1. */
export const episodeTitle = (episode: { title?: string | undefined } | undefined, index: number): string =>
  episode?.title ?? `Episode ${index + 1}`;

/** The WebVTT index of a file's seek thumbnails, beside it: `<stem>-thumbs.vtt`. */
export const thumbnailsVttName = (stem: string): string => `${stem}-thumbs.vtt`;

/** Sheet `n` (from 1) of those thumbnails, which the index's cues name: `<stem>-thumbs-001.jpg`. */
export const thumbnailSheetName = (stem: string, n: number): string =>
  `${stem}-thumbs-${String(n).padStart(3, "0")}.jpg`;

/** A subtitle language's WebVTT file beside an output: `<stem>-subtitles-<language>.vtt`. */
export const subtitlesVttName = (stem: string, language: string): string => `${stem}-subtitles-${language}.vtt`;

/** Every sheet's location, from the index's location (s3://…/x-thumbs.vtt) and the sheet count. */
export function thumbnailSheetLocations(vttLocation: string, sheets: number): string[] {
  const stem = vttLocation.replace(/-thumbs\.vtt$/, "");
  if (stem === vttLocation) return [];
  return Array.from({ length: sheets }, (_, i) => thumbnailSheetName(stem, i + 1));
}

/** An episode's poster beside its own file (merge off): `<stem>-poster.jpg`. */
export const posterName = (stem: string): string => `${stem}-poster.jpg`;

/** An episode's poster beside a merged file: `<stem>-ep001-poster.jpg`, the episode counted from 1. */
export const episodePosterName = (stem: string, index: number): string =>
  `${stem}-ep${String(index + 1).padStart(3, "0")}-poster.jpg`;

/**
 * Where episode `index`'s poster is, from the merged file's location (s3://…/x.mp4 → s3://…/x-ep001-poster.jpg);
 * undefined for a location that is not an .mp4 (no stem to name it by).
 */
export function episodePosterLocation(outputLocation: string, index: number): string | undefined {
  const stem = outputLocation.replace(/\.mp4$/, "");
  return stem === outputLocation ? undefined : episodePosterName(stem, index);
}

/** Where the poster of an episode stored on its own is, from that file's location (x.mp4 → x-poster.jpg). */
export function posterLocation(outputLocation: string): string | undefined {
  const stem = outputLocation.replace(/\.mp4$/, "");
  return stem === outputLocation ? undefined : posterName(stem);
}
