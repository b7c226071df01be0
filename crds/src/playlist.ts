// Episodes entries that stand for a playlist (`- playlist: URL`): found and checked in a manifest
// before it is validated, then replaced by the episodes they expand to, in place and in order. The
// listing itself (yt-dlp through the egress proxy) is the caller's; this file has no I/O.
import type { z } from "zod";
import { ReelError } from "./errors.ts";
import { VideoJobInvalidError } from "./parse.ts";
import { PlaylistEpisodes } from "./schema.ts";

/** The most episodes a job may have, counted after its playlists are expanded. */
export const MAX_EPISODES = 500;

export type PlaylistEntry = z.output<typeof PlaylistEpisodes>;

export interface ExpandedEpisode {
  url: string;
  title?: string;
}

export interface PlaylistAt {
  /** The entry's index in spec.episodes. */
  at: number;
  entry: PlaylistEntry;
}

function entriesOf(doc: unknown): unknown[] | undefined {
  const spec = (doc as { spec?: { episodes?: unknown } } | null)?.spec;
  return Array.isArray(spec?.episodes) ? spec.episodes : undefined;
}

function isPlaylistEntry(e: unknown): boolean {
  return typeof e === "object" && e !== null && Object.hasOwn(e, "playlist");
}

/** The manifest's playlist entries, each checked (strictly: a misspelt field is named). */
export function findPlaylists(doc: unknown): PlaylistAt[] {
  const found: PlaylistAt[] = [];
  const issues: string[] = [];
  for (const [at, e] of (entriesOf(doc) ?? []).entries()) {
    if (!isPlaylistEntry(e)) continue;
    const parsed = PlaylistEpisodes.safeParse(e);
    if (parsed.success) found.push({ at, entry: parsed.data });
    else for (const i of parsed.error.issues) issues.push(`spec.episodes.${[at, ...i.path].join(".")}: ${i.message}`);
  }
  if (issues.length) throw new VideoJobInvalidError(issues);
  return found;
}

/**
 * The manifest with every playlist entry replaced by `episodesOf(entry)`, spliced in where the
 * entry stood. More than MAX_EPISODES in all is refused, naming the count.
 */
export function replacePlaylists(doc: object, episodesOf: (p: PlaylistAt) => ExpandedEpisode[]): object {
  const entries = entriesOf(doc);
  if (!entries) return doc;
  const episodes = entries.flatMap((e, at) =>
    isPlaylistEntry(e) ? episodesOf({ at, entry: PlaylistEpisodes.parse(e) }) : [e],
  );
  if (episodes.length > MAX_EPISODES) {
    throw new ReelError(
      "REEL_TOO_MANY_EPISODES",
      `the job has ${episodes.length} episodes once its playlists are expanded; at most ${MAX_EPISODES}`,
    );
  }
  const d = doc as { spec: object };
  return { ...d, spec: { ...d.spec, episodes } };
}

/** The manifest with one stand-in episode per playlist, to validate everything else before listing. */
export function withStandIns(doc: object): object {
  return replacePlaylists(doc, ({ entry }) => [{ url: entry.playlist }]);
}

/**
 * The items a listing answered, as episodes: `reverse` flips their order; titles are cut to the
 * schema's 200 characters and an empty one is left out.
 */
export function playlistEpisodes(entry: PlaylistEntry, items: readonly ExpandedEpisode[]): ExpandedEpisode[] {
  const ordered = entry.reverse ? [...items].reverse() : [...items];
  return ordered.map((it) => {
    const title = it.title?.trim().slice(0, 200);
    return title ? { url: it.url, title } : { url: it.url };
  });
}
