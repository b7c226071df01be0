// The playlist listing between the operator and its list pod (`reel worker` with REEL_MODE=list):
// the pod's env (buildListEnv for the operator, parseListEnv for the pod) and what the pod leaves in
// the job's staging folder (LISTING_FILE: buildListing for the pod, parseListing for the operator).
// The operator never runs yt-dlp; it reads this file once and records the expansion in
// status.expansion, and plans from that record only.
//
// Env of a list pod (no credentials but the staging bucket's keys, by secretKeyRef):
//   REEL_MODE              list
//   REEL_VIDEOJOB, REEL_VIDEOJOB_UID, REEL_STAGING   as for every worker pod (worker-env.ts)
//   REEL_PLAYLISTS         JSON [{"at":1,"playlist":"https://…","items":"1-12","reverse":true}]
//   REEL_STAGING_ENDPOINT, REEL_STAGING_REGION  optional: the output bucket's S3 endpoint and region
//   REEL_EGRESS_ALLOW, REEL_CACHE_DIR  as for every worker pod
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  by secretKeyRef: the output's keys (staging writes)
import { z } from "zod";
import { PlaylistEpisodes } from "../schema.ts";
import type { EnvVar } from "./worker-env.ts";

/** The listing's name in the job's staging folder (contract/staging.ts). */
export const LISTING_FILE = "playlists.json";

export const ListedPlaylist = PlaylistEpisodes.extend({
  /** The entry's index in spec.episodes. */
  at: z.number().int().min(0),
});
export type ListedPlaylist = z.output<typeof ListedPlaylist>;

const ListedEpisode = z.object({ url: z.string().min(1).max(4096), title: z.string().max(200).optional() });

/** One entry's expansion: the episodes in the job's order (reverse and titles already applied). */
const ListedEntry = z.object({ at: z.number().int().min(0), episodes: z.array(ListedEpisode).min(1).max(501) });

/** What the list pod writes: every entry expanded, or the one coded error that stopped it. */
export const Listing = z.object({
  v: z.literal(1),
  uid: z.string().min(1),
  listedAt: z.string(),
  entries: z.array(ListedEntry).optional(),
  error: z.object({ code: z.string().regex(/^REEL_[A-Z0-9_]+$/), message: z.string().max(4000) }).optional(),
});
export type Listing = z.output<typeof Listing>;

/** The writer's side: the file's text. */
export function buildListing(l: Listing): string {
  return JSON.stringify(Listing.parse(l));
}

/**
 * The reader's side: the listing for `uid`, or undefined when the text is torn, of another job
 * (a VideoJob recreated under the same name), or has neither entries nor an error.
 */
export function parseListing(text: string, uid: string): Listing | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const l = Listing.safeParse(raw);
  if (!l.success || l.data.uid !== uid) return undefined;
  return l.data.entries || l.data.error ? l.data : undefined;
}

export interface ListPodEnv {
  videojob: string;
  uid: string;
  staging: string;
  playlists: ListedPlaylist[];
  egressAllow: string[];
  cacheDir: string;
  stagingEndpoint?: string;
  stagingRegion?: string;
}

/** The list pod's env, in a fixed order (the planned Job's hash depends on it). */
export function buildListEnv(x: ListPodEnv): EnvVar[] {
  const v = (name: string, value: string | undefined): EnvVar[] => (value === undefined ? [] : [{ name, value }]);
  return [
    ...v("REEL_MODE", "list"),
    ...v("REEL_VIDEOJOB", x.videojob),
    ...v("REEL_VIDEOJOB_UID", x.uid),
    ...v("REEL_STAGING", x.staging),
    ...v("REEL_PLAYLISTS", JSON.stringify(x.playlists)),
    ...v("REEL_STAGING_ENDPOINT", x.stagingEndpoint),
    ...v("REEL_STAGING_REGION", x.stagingRegion),
    ...v("REEL_EGRESS_ALLOW", x.egressAllow.join(",")),
    ...v("REEL_CACHE_DIR", x.cacheDir),
  ];
}

const ListVars = z.object({
  REEL_MODE: z.literal("list"),
  REEL_VIDEOJOB: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/),
  REEL_VIDEOJOB_UID: z.string().min(1),
  REEL_STAGING: z.string().regex(/^s3:\/\/[^/]+\/(.*\/)?$/, "must be s3://<bucket>/<prefix>/"),
  REEL_PLAYLISTS: z.string().min(1),
  REEL_STAGING_ENDPOINT: z.string().optional(),
  REEL_STAGING_REGION: z.string().optional(),
  REEL_EGRESS_ALLOW: z.string().default(""),
  REEL_CACHE_DIR: z.string().default("/scratch"),
});

/** The pod's side: every variable checked; throws an Error naming the bad ones. */
export function parseListEnv(env: Record<string, string | undefined>): ListPodEnv {
  const e = ListVars.safeParse(env);
  if (!e.success) {
    throw new Error(
      `bad list pod environment: ${e.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  let playlists: unknown;
  try {
    playlists = JSON.parse(e.data.REEL_PLAYLISTS);
  } catch (cause) {
    throw new Error(`REEL_PLAYLISTS: not JSON: ${(cause as Error).message}`);
  }
  const p = z.array(ListedPlaylist).min(1).max(500).safeParse(playlists);
  if (!p.success)
    throw new Error(`REEL_PLAYLISTS: ${p.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return {
    videojob: e.data.REEL_VIDEOJOB,
    uid: e.data.REEL_VIDEOJOB_UID,
    staging: e.data.REEL_STAGING,
    playlists: p.data,
    egressAllow: e.data.REEL_EGRESS_ALLOW.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    cacheDir: e.data.REEL_CACHE_DIR,
    ...(e.data.REEL_STAGING_ENDPOINT ? { stagingEndpoint: e.data.REEL_STAGING_ENDPOINT } : {}),
    ...(e.data.REEL_STAGING_REGION ? { stagingRegion: e.data.REEL_STAGING_REGION } : {}),
  };
}
