// Which route fetches a URL: the Rust HLS fetcher, the Rust parallel downloader, or yt-dlp for
// pages of the sites it understands. Decided from the URL alone, before any traffic.
import { ReelError } from "@reel/crds";

export type SourceKind = "hls" | "direct" | "page";

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
]);

export function classify(raw: string): SourceKind {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new ReelError("REEL_JOB_INVALID", `not a URL: ${redact(raw)}`, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ReelError("REEL_UNSUPPORTED_SCHEME", `only http and https URLs are accepted, got ${url.protocol}`);
  }
  const ext = url.pathname.toLowerCase().split(".").at(-1) ?? "";
  if (ext === "m3u8" || ext === "m3u") return "hls";
  if (MEDIA_EXTENSIONS.has(ext)) return "direct";
  return "page";
}

/** A URL safe to log: no userinfo, no query, no fragment (signed URLs carry secrets there). */
export function redact(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? "?…" : ""}`;
  } catch {
    return "<unparseable URL>";
  }
}
