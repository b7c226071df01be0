// Episodes entries that stand for a playlist (`- playlist: URL`): found and checked in a manifest
// before it is validated, then replaced by the episodes they expand to, in place and in order. The
// listing itself (yt-dlp through the egress proxy) is the caller's; this file has no I/O. In a cluster
// the listing is recorded once in status.expansion (recordExpansion) and planned from (applyExpansion).
import type { z } from "zod";
import type { ListedPlaylist, Listing } from "./contract/listing.ts";
import { isErrorCode, ReelError } from "./errors.ts";
import { VideoJobInvalidError } from "./parse.ts";
import { PlaylistEpisodes, type PlaylistExpansion } from "./schema.ts";

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

/** A manifest's playlist entries, as the list pod is told them (contract/listing.ts). */
export function listedPlaylists(doc: unknown): ListedPlaylist[] {
  return findPlaylists(doc).map(({ at, entry }) => ({ at, ...entry }));
}

/**
 * The expansion to record in status (once): each playlist entry with the episodes the listing gave
 * it. Refused with the listing's own error, with REEL_PLAYLIST_EMPTY for an entry the listing has no
 * episodes for, and with REEL_TOO_MANY_EPISODES (naming the count) past MAX_EPISODES in all.
 */
export function recordExpansion(doc: unknown, listing: Listing): PlaylistExpansion[] {
  if (listing.error) {
    const code = isErrorCode(listing.error.code) ? listing.error.code : "REEL_YTDLP_FAILED";
    throw new ReelError(code, listing.error.message);
  }
  const listed = new Map((listing.entries ?? []).map((e) => [e.at, e.episodes]));
  const record = findPlaylists(doc).map(({ at, entry }): PlaylistExpansion => {
    const episodes = listed.get(at);
    if (!episodes?.length) throw new ReelError("REEL_PLAYLIST_EMPTY", `spec.episodes.${at}: the listing has no items`);
    return {
      at,
      playlist: entry.playlist,
      ...(entry.items ? { items: entry.items } : {}),
      reverse: entry.reverse,
      episodes: episodes.slice(0, MAX_EPISODES + 1),
      listedAt: listing.listedAt,
    };
  });
  replacePlaylists(doc as object, ({ at }) => record.find((r) => r.at === at)?.episodes ?? []);
  return record.map((r) => ({ ...r, episodes: r.episodes.slice(0, MAX_EPISODES) }));
}

/**
 * The manifest with its playlist entries replaced by their recorded episodes, or undefined while an
 * entry has no record (the listing has not been read yet). The record is all that is read: a page
 * that changed since is never looked at again.
 */
export function applyExpansion(doc: object, expansion: readonly PlaylistExpansion[] | undefined): object | undefined {
  const playlists = findPlaylists(doc);
  if (!playlists.length) return doc;
  const byAt = new Map((expansion ?? []).map((e) => [e.at, e]));
  if (playlists.some(({ at, entry }) => byAt.get(at)?.playlist !== entry.playlist)) return undefined;
  return replacePlaylists(doc, ({ at }) => byAt.get(at)?.episodes ?? []);
}
