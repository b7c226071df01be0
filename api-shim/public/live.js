// Live events of one job: the WebSocket first (browsers cannot set its headers, so the key goes as
// ?access_token=), then SSE read through fetch (EventSource cannot send Authorization either), then
// polling the status. Every reconnect passes the last event id, so nothing in between is missed.
import { ApiError, getStatus, session } from "./api.js";

const POLL_MS = 3000;
const MAX_BACKOFF_MS = 15_000;

/**
 * @param {string} id the job's id
 * @param {{ onEvent: (e: object) => void,
 *   onMode: (mode: "websocket" | "sse" | "polling" | "reconnecting" | "stopped") => void,
 *   onError: (e: Error) => void }} handlers
 * @returns {{ stop(): void }}
 */
export function follow(id, { onEvent, onMode, onError }) {
  let lastEventId;
  let stopped = false;
  let ws;
  let abort;
  let timer;
  let failures = 0;
  const base = `/api/v1/jobs/${encodeURIComponent(id)}`;

  // The server ends a stream whose access ended (key revoked, user moved, token expired) with a
  // last SSE event {"error"} or a WebSocket close code 4401/4403: not reconnected, the reason handed
  // on. One it could not check again (REEL_UNAVAILABLE, 4503) is reconnected.
  const ended = (status, error) => {
    stop();
    onError(new ApiError(status, error ?? {}));
  };
  const deliver = (e) => {
    if (e?.error?.code) {
      const how = streamEnd(e.error);
      if (how !== "reconnect") return ended(how, e.error);
      // Dropping this stream is what reconnects it (the read or the socket ends, then backs off).
      ws?.close();
      abort?.abort();
      return;
    }
    // Ids are opaque cursors, valid on every shim replica; one a replica cannot place gets a fresh
    // snapshot, so no de-duplication is needed here.
    if (typeof e?.id === "string") lastEventId = e.id;
    onEvent(e);
    if (e?.type === "deleted") stop();
  };
  const later = (fn, ms) => {
    if (!stopped) timer = setTimeout(fn, ms);
  };
  const backoff = () => Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(failures++, 4));

  function websocket() {
    if (typeof WebSocket === "undefined") return sse();
    const url = new URL(`${base}/ws`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("access_token", session.token);
    if (lastEventId !== undefined) url.searchParams.set("lastEventId", String(lastEventId));
    let opened = false;
    ws = new WebSocket(url);
    ws.addEventListener("open", () => {
      opened = true;
      failures = 0;
      onMode("websocket");
    });
    ws.addEventListener("message", (m) => {
      try {
        deliver(JSON.parse(m.data));
      } catch {
        // a message that is not a JobEvent is skipped
      }
    });
    ws.addEventListener("close", (c) => {
      if (stopped) return;
      if (c.code === 4401 || c.code === 4403) return ended(c.code - 4000, { message: c.reason });
      // A socket that never opened (no WebSocket route, a proxy in between) is not retried: try SSE.
      if (!opened) return sse();
      onMode("reconnecting");
      later(websocket, backoff());
    });
  }

  async function sse() {
    abort = new AbortController();
    let res;
    try {
      const headers = { accept: "text/event-stream", authorization: `Bearer ${session.token}` };
      if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId);
      res = await fetch(`${base}/events`, { headers, signal: abort.signal });
    } catch {
      if (!stopped) polling();
      return;
    }
    if (!res.ok || !res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) {
      res.body?.cancel();
      if (!stopped) polling();
      return;
    }
    failures = 0;
    onMode("sse");
    try {
      await readEvents(res.body, deliver);
    } catch {
      // the stream broke; reconnect below
    }
    if (stopped) return;
    onMode("reconnecting");
    later(sse, backoff());
  }

  function polling() {
    onMode("polling");
    const tick = async () => {
      try {
        const status = await getStatus(id);
        onEvent({ type: "status", job: id, status });
      } catch (e) {
        if (e?.status === 404) return onEvent({ type: "deleted", job: id });
        if (e?.status === 401 || e?.status === 403) {
          onError(e);
          return stop();
        }
      }
      later(tick, POLL_MS);
    };
    tick();
  }

  function stop() {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    ws?.close();
    abort?.abort();
    onMode("stopped");
  }

  websocket();
  return { stop };
}

/**
 * What a stream's last event means: 401 (the credential is gone: sign in again), 403 (it may no
 * longer read this job: the live view ends, saying why) or "reconnect" (the server could not check
 * again, or the stream reached its longest life).
 * @param {{ code?: string }} error
 * @returns {401 | 403 | "reconnect"}
 */
export function streamEnd(error) {
  if (error?.code === "REEL_UNAVAILABLE") return "reconnect";
  return error?.code === "REEL_FORBIDDEN" ? 403 : 401;
}

/**
 * Server-sent events from a byte stream (the text/event-stream format): `data` lines joined, the
 * `id` kept; each complete event's data is parsed as JSON and handed on.
 * @param {ReadableStream<Uint8Array>} body
 * @param {(e: object) => void} onData
 */
export async function readEvents(body, onData) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl = buf.search(/\r\n|\r|\n/);
    while (nl >= 0) {
      // A \r that ends the chunk may be the first half of \r\n: wait for the next chunk.
      if (buf[nl] === "\r" && nl === buf.length - 1) break;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (data.length) {
          try {
            onData(JSON.parse(data.join("\n")));
          } catch {
            // not JSON: skipped
          }
        }
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(5).replace(/^ /, ""));
      }
      nl = buf.search(/\r\n|\r|\n/);
    }
  }
}
