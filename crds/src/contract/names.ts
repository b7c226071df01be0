// Names more than one process writes: the operator's field manager and the default chapter title.

/** The field manager (and app.kubernetes.io/managed-by) of everything the operator writes. */
export const FIELD_MANAGER = "reel-operator";

/** An episode's title when the manifest gives none: "Episode <n>", counted from 1. */
export const episodeTitle = (episode: { title?: string | undefined } | undefined, index: number): string =>
  episode?.title ?? `Episode ${index + 1}`;
