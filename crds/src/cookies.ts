// A job's cookies for signed-in sites (spec.ytdlp.cookiesSecret) between the operator and the
// worker: where the Secret's key is mounted (read-only), which pods get it (only an episode fetched
// by yt-dlp: a page, not a direct file, an HLS playlist or an s3:// object; never the merge), and
// how the file is named in messages (the Secret and key, never the content). The route of a URL
// is decided here once, for both: the worker's fetch/classify.ts uses the same rule.
import { isS3Url } from "./s3-source.ts";
import type { VideoJobSpec } from "./schema.ts";

/** The directory the operator mounts the cookies Secret at; the worker reads COOKIES_PATH. */
export const COOKIES_DIR = "/var/run/reel/cookies";
export const COOKIES_FILE = "cookies.txt";
export const COOKIES_PATH = `${COOKIES_DIR}/${COOKIES_FILE}`;

/** How a source is fetched: the Rust HLS fetcher, the Rust downloader, or yt-dlp for a page. */
export type SourceRoute = "hls" | "direct" | "page";

const MEDIA_EXTENSIONS = new Set([
  "mp4",
  "m4v",
  "mov",
  "mkv",
  "webm",
  "ts",
  "m2ts",
  "mts",
  "avi",
  "flv",
  "mpg",
  "mpeg",
  "wmv",
  "ogv",
  "3gp",
  "3g2",
  "f4v",
  "asf",
  "vob",
  "m2t",
  // broadcast and archive containers (worker-image ffmpeg/input.ts opens them with their demuxers)
  "mxf",
  "dv",
  "gxf",
]);

/** The route of an http(s) URL, from its path's extension alone, before any traffic. */
export function sourceRoute(url: URL): SourceRoute {
  const ext = url.pathname.toLowerCase().split(".").at(-1) ?? "";
  if (ext === "m3u8" || ext === "m3u") return "hls";
  if (MEDIA_EXTENSIONS.has(ext)) return "direct";
  return "page";
}

/** True when episode `index` of `spec` is a page that yt-dlp fetches and the job gives cookies. */
export function episodeNeedsCookies(spec: Pick<VideoJobSpec, "episodes" | "ytdlp">, index: number): boolean {
  const url = spec.episodes[index]?.url;
  if (!spec.ytdlp?.cookiesSecret || !url || isS3Url(url)) return false;
  try {
    const u = new URL(url);
    return (u.protocol === "http:" || u.protocol === "https:") && sourceRoute(u) === "page";
  } catch {
    return false;
  }
}

/** The cookies' Secret as messages name it: "Secret <name> key <key>". */
export function cookiesSecretName(ref: { name: string; key: string }): string {
  return `Secret ${ref.name} key ${ref.key}`;
}
