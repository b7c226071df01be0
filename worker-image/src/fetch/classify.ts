// Which route fetches a URL: the Rust HLS fetcher, the Rust parallel downloader, or yt-dlp for
// pages of the sites it understands. Decided from the URL alone, before any traffic (crds cookies.ts
// sourceRoute, which the operator uses too).
import { ReelError, type SourceRoute, sourceRoute } from "@reel/crds";

export type SourceKind = SourceRoute;

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
  // One rule for the worker and the operator (which mounts cookies only into pages' pods).
  return sourceRoute(url);
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
