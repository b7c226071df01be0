// A small "site" on loopback for yt-dlp's generic extractor, for the fetch tests: pages, podcast
// feeds and playlists as fixed routes, media files from a folder. Tests only.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/** Every response's Last-Modified: yt-dlp's generic extractor dates an upload by it. */
export const LAST_MODIFIED = "Mon, 02 Nov 2026 10:00:00 GMT";

export interface Route {
  type: string;
  /** The answer's status (200 when absent) and extra headers, e.g. a 429 with Retry-After. */
  status?: number;
  headers?: Record<string, string>;
  /** The body; or `file`, a name under the site's folder. */
  body?: string;
  file?: string;
}

export interface TestSite {
  origin: string;
  /** Every path requested, in order (to show what a run fetched and what it did not). */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `routes` on `host` (127.0.0.2 by default, so 127.0.0.1 stays behind the egress guard). */
export async function serveSite(dir: string, routes: Record<string, Route>, host = "127.0.0.2"): Promise<TestSite> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    const route = routes[path];
    if (!route) return void res.writeHead(404).end();
    const body = route.file ? await readFile(join(dir, route.file)) : Buffer.from(route.body ?? "");
    const head = { "content-type": route.type, "content-length": body.length, "last-modified": LAST_MODIFIED };
    res.writeHead(route.status ?? 200, { ...head, ...route.headers });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((ok) => server.listen(0, host, ok));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    requests,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

/** A podcast feed (RSS 2.0 with enclosures), which yt-dlp's generic extractor lists as a playlist. */
export function podcastFeed(title: string, items: { title: string; url: string; duration?: string }[]): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const entries = items.map(
    (it) =>
      `<item><title>${esc(it.title)}</title><enclosure url="${esc(it.url)}" type="video/mp4" length="1"/>` +
      (it.duration ? `<itunes:duration>${it.duration}</itunes:duration>` : "") +
      "</item>",
  );
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">' +
    `<channel><title>${esc(title)}</title>${entries.join("")}</channel></rss>\n`
  );
}
