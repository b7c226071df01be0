// A loopback file server that counts how many requests it is answering at once (the connections a
// client has in use), sending each body slowly so that concurrent ones overlap. Tests only: the
// politeness tests check the most it saw against the job's connectionsPerHost.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface CountingSite {
  origin: string;
  /** Requests being answered now, the most at once so far, and all requests. */
  now: number;
  most: number;
  requests: number;
  close(): Promise<void>;
}

/** Serves `body` at every path (Range honoured), 32 KiB every `delayMs`, on `host`. */
const CHUNK = 32 * 1024;

export async function serveCounting(body: Buffer, host = "127.0.0.2", delayMs = 10): Promise<CountingSite> {
  const site = { origin: "", now: 0, most: 0, requests: 0 } as CountingSite;
  const server = createServer(async (req, res) => {
    site.requests++;
    site.now++;
    site.most = Math.max(site.most, site.now);
    // Counted until the client closes it or its last bytes leave: a client that has them all may
    // start its next request at once, and must not be seen as holding two.
    let open = true;
    const done = () => {
      if (open) site.now--;
      open = false;
    };
    res.on("close", done);
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    const end = m?.[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
    const head = { "content-type": "video/mp4", "accept-ranges": "bytes", "content-length": end - start + 1 };
    if (m) res.writeHead(206, { ...head, "content-range": `bytes ${start}-${end}/${body.length}` });
    else res.writeHead(200, head);
    if (req.method === "HEAD") {
      done();
      return void res.end();
    }
    for (let at = start; at <= end && open; at += CHUNK) {
      const chunk = body.subarray(at, Math.min(end + 1, at + CHUNK));
      if (at + CHUNK > end) {
        done();
        res.end(chunk);
      } else {
        res.write(chunk);
        await sleep(delayMs);
      }
    }
  });
  await new Promise<void>((ok) => server.listen(0, host, ok));
  site.origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  site.close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return site;
}
