// One POST to a webhook endpoint, through the Rust egress proxy (startEgressProxy in @reel/native).
// Every attempt opens a CONNECT tunnel: the proxy resolves the name, checks every address against
// the guard and dials only an address it checked, so a name that now resolves internally (DNS
// rebinding, a changed record) is refused here even though it passed at registration. CONNECT is
// used for http:// too: a refusal then comes from the proxy as the CONNECT answer, never confused
// with a 403 from the endpoint. Redirects are not followed (node:http never does).
import { request } from "node:http";
import { isIP, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { AttemptResult } from "./retry.ts";

export interface SendOptions {
  /** http://127.0.0.1:PORT of the egress proxy. */
  proxy: string;
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  /** Extra trust anchors for https endpoints (tests); the system store otherwise. */
  ca?: string | Buffer | (string | Buffer)[];
  signal?: AbortSignal;
}

/** The most of a response body read before the connection is dropped: the body is ignored. */
const MAX_BODY = 4 * 1024;

function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function post(
  target: URL,
  body: string,
  headers: Record<string, string>,
  opts: SendOptions,
): Promise<AttemptResult | "aborted"> {
  return new Promise<AttemptResult | "aborted">((resolve) => {
    const proxy = new URL(opts.proxy);
    const port = target.port || (target.protocol === "https:" ? "443" : "80");
    const authority = `${target.hostname}:${port}`;
    const sockets: (Socket | TLSSocket)[] = [];
    let done = false;
    let connectTimer: NodeJS.Timeout | undefined;
    let totalTimer: NodeJS.Timeout | undefined;
    const finish = (result: AttemptResult | "aborted") => {
      if (done) return;
      done = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      for (const s of sockets) s.destroy();
      resolve(result);
    };
    connectTimer = setTimeout(
      () => finish({ kind: "timeout", message: `no connection to ${authority} within ${opts.connectTimeoutMs} ms` }),
      opts.connectTimeoutMs,
    );
    totalTimer = setTimeout(
      () => finish({ kind: "timeout", message: `no answer from ${authority} within ${opts.totalTimeoutMs} ms` }),
      opts.totalTimeoutMs,
    );
    const onAbort = () => finish("aborted");
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    const send = (socket: Socket) => {
      clearTimeout(connectTimer);
      const auth =
        target.username || target.password
          ? {
              authorization: `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString("base64")}`,
            }
          : {};
      const req = request({
        method: "POST",
        path: `${target.pathname}${target.search}`,
        headers: {
          host: target.host,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "Reel-Webhooks/0.1",
          connection: "close",
          ...auth,
          ...headers,
        },
        createConnection: () => socket,
      });
      req.on("error", (err) => finish({ kind: "network", message: err.message }));
      req.on("response", (res) => {
        const status = res.statusCode ?? 0;
        const result: AttemptResult = { kind: "response", status };
        const after = retryAfterMs(res.headers["retry-after"]);
        if (after !== undefined) result.retryAfterMs = after;
        let read = 0;
        res.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read >= MAX_BODY) finish(result);
        });
        res.on("end", () => finish(result));
        res.on("error", () => finish(result));
        res.on("close", () => finish(result));
      });
      req.end(body);
    };

    const tunnel = request({
      host: proxy.hostname,
      port: proxy.port,
      method: "CONNECT",
      path: authority,
      headers: { host: authority },
    });
    tunnel.on("socket", (s) => sockets.push(s));
    tunnel.on("error", (err) => finish({ kind: "network", message: `egress proxy: ${err.message}` }));
    tunnel.on("connect", (res, socket, head) => {
      sockets.push(socket);
      if (res.statusCode !== 200) {
        // The proxy's body is the guard's message, e.g. "REEL_EGRESS_DENIED: address 127.0.0.1 is loopback".
        const said = head
          .toString("utf8")
          .slice(0, 300)
          .trim()
          .replace(/^REEL_[A-Z_]+: /, "");
        const detail = `${authority}: ${said || res.statusMessage || `egress proxy answered ${res.statusCode}`}`;
        if (res.statusCode === 403 && /egress policy/i.test(res.statusMessage ?? "")) {
          return finish({ kind: "denied", message: detail });
        }
        if (res.statusCode === 504) return finish({ kind: "timeout", message: detail });
        return finish({ kind: "network", message: detail });
      }
      if (target.protocol === "https:") {
        const host = target.hostname.replace(/^\[|\]$/g, "");
        const tls = tlsConnect({
          socket,
          // The certificate is checked against `host`; SNI takes a name, never an IP literal.
          host,
          servername: isIP(host) ? "" : host,
          ALPNProtocols: ["http/1.1"],
          ...(opts.ca ? { ca: opts.ca } : {}),
        });
        sockets.push(tls);
        tls.once("secureConnect", () => send(tls));
        tls.once("error", (err) => finish({ kind: "network", message: `TLS: ${err.message}` }));
      } else send(socket);
    });
    tunnel.end();
  });
}
