// A loopback HTTP server for the binding tests: serves one buffer with Range support, optionally
// throttled per connection, and counts requests.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface TestServer {
  url: string;
  requests: number;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Bytes per second per connection; unthrottled when absent. */
  rate?: number;
  status?: number;
}

export async function serve(body: Buffer, opts: ServeOptions = {}): Promise<TestServer> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    if (opts.status) {
      res.writeHead(opts.status).end();
      return;
    }
    let start = 0;
    let end = body.length - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const headers: Record<string, string | number> = { "accept-ranges": "bytes", etag: '"v1"' };
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(Number(range[2]), end);
      headers["content-range"] = `bytes ${start}-${end}/${body.length}`;
    }
    headers["content-length"] = end - start + 1;
    res.writeHead(range ? 206 : 200, headers);
    const slice = body.subarray(start, end + 1);
    if (!opts.rate) {
      res.end(slice);
      return;
    }
    // Throttle: one piece every 10 ms.
    const piece = Math.max(1, Math.floor(opts.rate / 100));
    let off = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      const next = slice.subarray(off, off + piece);
      off += next.length;
      if (off >= slice.length) {
        clearInterval(timer);
        res.end(next);
      } else {
        res.write(next);
      }
    }, 10);
    res.on("close", () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/file.bin`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function randomBytes(size: number, seed = 42): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}
