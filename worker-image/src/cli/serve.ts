// A small static file server with Range support, bound to loopback: the demo serves its sample
// episodes with it, and tests use it as a source that behaves like a CDN.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".mkv": "video/x-matroska",
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
};

export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Loopback address to bind (tests use 127.0.0.2 to keep 127.0.0.1 denied). */
  host?: string;
  /** Paths answered with a 302 to the given URL. */
  redirects?: Record<string, string>;
  /** Send a strong ETag made of the file's size and mtime, as many CDNs and nginx do. */
  etag?: boolean;
}

export async function serveDir(root: string, opts: ServeOptions = {}): Promise<StaticServer> {
  const host = opts.host ?? "127.0.0.1";
  const server = createServer(async (req, res) => {
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    const redirect = opts.redirects?.[pathname];
    if (redirect) return void res.writeHead(302, { location: redirect }).end();
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    if (!path.startsWith(root + sep)) return void res.writeHead(403).end();
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) return void res.writeHead(404).end();
    const type = TYPES[extname(path)] ?? "application/octet-stream";
    const validators = {
      "last-modified": info.mtime.toUTCString(),
      ...(opts.etag ? { etag: `"${info.size.toString(16)}-${info.mtimeMs.toString(16)}"` } : {}),
    };
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
    let start = 0;
    let end = info.size - 1;
    if (m && (m[1] || m[2])) {
      start = m[1] ? Number(m[1]) : Math.max(0, info.size - Number(m[2]));
      end = m[1] && m[2] ? Math.min(Number(m[2]), end) : end;
      if (start > end) return void res.writeHead(416, { "content-range": `bytes */${info.size}` }).end();
      res.writeHead(206, {
        "content-type": type,
        "content-length": end - start + 1,
        "content-range": `bytes ${start}-${end}/${info.size}`,
        "accept-ranges": "bytes",
        ...validators,
      });
    } else {
      res.writeHead(200, {
        "content-type": type,
        "content-length": info.size,
        "accept-ranges": "bytes",
        ...validators,
      });
    }
    if (req.method === "HEAD") return void res.end();
    createReadStream(path, { start, end }).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
