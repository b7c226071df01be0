// Lists a playlist with yt-dlp's flat listing (no entry is fetched), through the egress proxy like
// every yt-dlp run, and expands a manifest's `- playlist:` entries into episodes with the site's
// titles, in order. Done once, before any work: the list is what `reel run --dry-run` prints.
import { spawn } from "node:child_process";
import {
  type ExpandedEpisode,
  findPlaylists,
  MAX_EPISODES,
  type PlaylistAt,
  playlistEpisodes,
  ReelError,
  redactText,
  replacePlaylists,
  urlSecrets,
} from "@reel/crds";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEgressProxy } from "@reel/native";
import { guarded, guardMissed } from "../ffmpeg/guard.ts";
import { redact } from "./classify.ts";
import type { Cookies } from "./cookies.ts";
import { lines, SAFE_FLAGS } from "./ytdlp.ts";
import { classifyYtDlpFailure } from "./ytdlp-errors.ts";

export interface ListRequest {
  url: string;
  /** yt-dlp's item syntax ("1-12"); the first MAX_EPISODES + 1 when absent. */
  items?: string;
  /** http://127.0.0.1:PORT of the egress proxy. */
  proxy: string;
  socketTimeoutSecs?: number;
  /** A private copy of the cookies (cookies.ts) and their values, cut from messages. */
  cookies?: { path: string; values: readonly string[] };
}

export interface Listing {
  items: ExpandedEpisode[];
  /** How many items the playlist has, when the site says. */
  count?: number;
}

export function listArgs(r: ListRequest): string[] {
  return [
    ...SAFE_FLAGS,
    "--flat-playlist",
    "--proxy",
    r.proxy,
    "--socket-timeout",
    String(r.socketTimeoutSecs ?? 30),
    "--retries",
    "3",
    // More than the job may hold is enough to refuse it, whatever the playlist's length.
    "-I",
    r.items ?? `1:${MAX_EPISODES + 1}`,
    "--print",
    "REEL_ENTRY %(.{url,title,playlist_index})j",
    "--print",
    "playlist:REEL_PLAYLIST %(playlist_count)s",
    ...(r.cookies ? ["--cookies", r.cookies.path] : []),
    "--",
    r.url,
  ];
}

/** yt-dlp marks a feed item's id onto its URL as a fragment; the URL itself is the episode. */
export function entryUrl(raw: string): string {
  return raw.replace(/#__youtubedl_smuggle=.*$/, "");
}

interface Listed {
  items: ExpandedEpisode[];
  count?: number;
  /** An entry without a playlist index: the URL is a single video. */
  single: boolean;
  stderr: string[];
}

function readEntry(seen: Listed, line: string): void {
  if (line.startsWith("REEL_PLAYLIST ")) {
    const n = Number(line.slice("REEL_PLAYLIST ".length));
    if (Number.isInteger(n) && n >= 0) seen.count = n;
    return;
  }
  if (!line.startsWith("REEL_ENTRY ")) return;
  let e: { url?: unknown; title?: unknown; playlist_index?: unknown };
  try {
    e = JSON.parse(line.slice("REEL_ENTRY ".length)) as typeof e;
  } catch {
    return; // yt-dlp writes these lines itself; one it garbled is an item we cannot use
  }
  if (e.playlist_index === undefined) seen.single = true;
  if (typeof e.url !== "string") return;
  seen.items.push({ url: entryUrl(e.url), ...(typeof e.title === "string" ? { title: e.title } : {}) });
}

/** One playlist's items, in the site's order, as yt-dlp lists them without fetching any. */
export async function listPlaylist(
  bin: string,
  req: ListRequest,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<Listing> {
  const seen: Listed = { items: [], single: false, stderr: [] };
  const code = await new Promise<number | null>((resolve, reject) => {
    const g = guarded(bin, listArgs(req));
    const child = spawn(g.command, g.args, { stdio: ["ignore", "pipe", "pipe"], signal, env });
    lines(child.stdout, (line) => {
      readEntry(seen, line);
      // Past the job's limit the rest of a chosen range changes nothing: it is refused either way.
      // Without a range yt-dlp stops there itself (-I) and still says the playlist's length.
      if (req.items && seen.items.length > MAX_EPISODES) child.kill("SIGTERM");
    });
    lines(child.stderr, (line) => {
      seen.stderr.push(line);
      seen.stderr.splice(0, Math.max(0, seen.stderr.length - 10));
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT")
        reject(new ReelError("REEL_YTDLP_MISSING", `yt-dlp not found at ${bin}`, { cause: err }));
      else if (err.name === "AbortError") reject(new ReelError("REEL_CANCELLED", "playlist listing cancelled"));
      else reject(new ReelError("REEL_YTDLP_FAILED", err.message, { cause: err }));
    });
    child.on("close", resolve);
  });
  return listed(req, code, seen, bin);
}

function listed(req: ListRequest, code: number | null, seen: Listed, bin: string): Listing {
  const where = redact(req.url);
  if (guardMissed(code, seen.stderr.join("\n")))
    throw new ReelError("REEL_YTDLP_MISSING", `yt-dlp not found at ${bin}`);
  if (seen.single) {
    throw new ReelError("REEL_PLAYLIST_NOT_A_PLAYLIST", `${where} is a single video: list it as \`- url: URL\``);
  }
  if (code !== 0 && seen.items.length <= MAX_EPISODES) {
    const found = classifyYtDlpFailure(seen.stderr);
    const detail = redactText(seen.stderr.join("\n"), [...urlSecrets(req.url), ...(req.cookies?.values ?? [])]);
    throw new ReelError(found.code, `listing the playlist ${where} failed (exit ${code}): ${detail}`);
  }
  if (!seen.items.length) {
    const of = seen.count !== undefined ? ` of its ${seen.count}` : "";
    throw new ReelError("REEL_PLAYLIST_EMPTY", `${where}: no items ${req.items ?? "at all"}${of}`);
  }
  return { items: seen.items, ...(seen.count !== undefined ? { count: seen.count } : {}) };
}

export interface ExpandOptions {
  ytDlp: string;
  env: NodeJS.ProcessEnv;
  /** CIDRs opened past the egress guard, as for the episodes themselves. */
  allow: string[];
  /** `reel run --cookies`: each listing gets a private copy, as each download does. */
  cookies?: Cookies;
  signal?: AbortSignal;
}

/**
 * The manifest with its playlist entries expanded (each listed once, through one egress proxy);
 * the manifest itself when it has none. More than MAX_EPISODES in all is refused, naming the count.
 */
export async function expandPlaylists(doc: object, o: ExpandOptions): Promise<object> {
  const playlists = findPlaylists(doc);
  if (!playlists.length) return doc;
  const expanded = await listEntries(playlists, o);
  return replacePlaylists(doc, ({ at }) => expanded.get(at) ?? []);
}

/**
 * Each playlist entry's episodes (reversed and titled as the job takes them), listed in turn
 * through one egress proxy: what `reel run`, `reel submit` and the cluster's list pod all use.
 */
export async function listEntries(playlists: PlaylistAt[], o: ExpandOptions): Promise<Map<number, ExpandedEpisode[]>> {
  const proxy = await startEgressProxy({ allow: o.allow });
  const expanded = new Map<number, ExpandedEpisode[]>();
  // yt-dlp writes its jar back at exit: a private copy in a private dir, gone afterwards.
  const dir = o.cookies ? await mkdtemp(join(tmpdir(), "reel-list-")) : undefined;
  try {
    for (const p of playlists) {
      const jar = dir ? await o.cookies?.privateCopy(dir) : undefined;
      const cookies = jar && o.cookies ? { path: jar.path, values: o.cookies.values } : undefined;
      try {
        expanded.set(p.at, await expandOne(p, proxy.url, o, cookies));
      } finally {
        await jar?.remove();
      }
    }
  } finally {
    proxy.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  return expanded;
}

async function expandOne(
  { at, entry }: PlaylistAt,
  proxy: string,
  o: ExpandOptions,
  cookies: ListRequest["cookies"],
): Promise<ExpandedEpisode[]> {
  const req = {
    url: entry.playlist,
    proxy,
    ...(entry.items ? { items: entry.items } : {}),
    ...(cookies ? { cookies } : {}),
  };
  try {
    const listing = await listPlaylist(o.ytDlp, req, o.env, o.signal);
    if (listing.items.length > MAX_EPISODES) {
      const n = listing.count && listing.count > MAX_EPISODES ? `${listing.count}` : `more than ${MAX_EPISODES}`;
      throw new ReelError(
        "REEL_TOO_MANY_EPISODES",
        `the playlist lists ${n} items; a job takes at most ${MAX_EPISODES} episodes: choose some with items:`,
      );
    }
    // A feed may list anything: only http(s) items become episodes (the egress guard checks hosts).
    const bad = listing.items.findIndex((it) => !/^https?:\/\//i.test(it.url));
    if (bad >= 0) {
      throw new ReelError(
        "REEL_UNSUPPORTED_SCHEME",
        `item ${bad + 1} of ${redact(entry.playlist)} is not an http(s) URL`,
      );
    }
    return playlistEpisodes(entry, listing.items);
  } catch (err) {
    const e = ReelError.from(err, "REEL_YTDLP_FAILED");
    throw new ReelError(e.code, `spec.episodes.${at}: ${e.message}`, { cause: err });
  }
}
