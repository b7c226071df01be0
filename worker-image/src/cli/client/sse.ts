// Server-sent events over fetch: a parser for the text/event-stream format (event, data, id, retry
// fields; comments; CR, LF or CRLF line ends, split anywhere across chunks) and a reader that
// reconnects after a drop with Last-Event-ID, so the shim replays what was missed.
import { ReelError } from "@reel/crds";
import { ApiError } from "./errors.ts";
import type { Api } from "./http.ts";

export interface SseEvent {
  /** The `event:` field, "message" when absent. */
  type: string;
  data: string;
  /** The last event id at dispatch (ids carry over to later events without one). */
  id: string;
}

/** Incremental parser; see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation */
export class SseParser {
  lastEventId = "";
  /** Reconnection delay asked for by the server (`retry:`), in ms. */
  retry: number | undefined;
  #buf = "";
  #data: string[] = [];
  #type = "";
  #skipLf = false;
  #started = false;

  push(chunk: string): SseEvent[] {
    let s = chunk;
    if (!this.#started && s.length) {
      this.#started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    if (this.#skipLf && s.length) {
      this.#skipLf = false;
      if (s[0] === "\n") s = s.slice(1);
    }
    const buf = this.#buf + s;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(buf.slice(start, i), out);
      if (c === 13) {
        // CRLF counts as one line end; a CR at the end of a chunk may be followed by the LF in the next.
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 10) i++;
        } else this.#skipLf = true;
      }
      start = i + 1;
    }
    this.#buf = buf.slice(start);
    return out;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.#data.length)
        out.push({ type: this.#type || "message", data: this.#data.join("\n"), id: this.lastEventId });
      this.#data = [];
      this.#type = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#type = value;
    else if (field === "id") {
      if (!value.includes("\0")) this.lastEventId = value;
    } else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

export type SseItem = { kind: "open" } | { kind: "event"; event: SseEvent };

export interface SseOptions {
  /** Resume after this id (sent as Last-Event-ID on the first connection too). */
  lastEventId?: string;
  signal?: AbortSignal;
  /** No byte (not even a comment) for this long counts as a drop. */
  idleMs?: number;
  /** First wait before reconnecting; doubled per failure up to maxDelayMs; `retry:` replaces it. */
  delayMs?: number;
  maxDelayMs?: number;
  /** Failing to connect for this long ends the stream with REEL_SHIM_UNREACHABLE. */
  giveUpMs?: number;
  onReconnect?: (reason: string, delayMs: number) => void;
}

/**
 * Yields `open` after every (re)connection, then the events; reconnects with Last-Event-ID when
 * the stream ends, errors or goes idle. Refusals that a retry cannot fix (401, 403, 404, a body
 * that is not an event stream) are thrown. Breaking out of the loop closes the connection.
 */
export async function* readSse(api: Api, path: string, opts: SseOptions = {}): AsyncGenerator<SseItem> {
  const idleMs = opts.idleMs ?? 60_000;
  const maxDelayMs = opts.maxDelayMs ?? 5_000;
  const giveUpMs = opts.giveUpMs ?? 60_000;
  let baseDelay = opts.delayMs ?? 500;
  let delay = baseDelay;
  let lastId = opts.lastEventId ?? "";
  let failingSince: number | undefined;
  while (!opts.signal?.aborted) {
    const conn = new AbortController();
    const signal = opts.signal ? AbortSignal.any([conn.signal, opts.signal]) : conn.signal;
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(new DOMException(`no data for ${idleMs / 1000}s`, "TimeoutError")), idleMs);
    };
    let reason = "the server closed the stream";
    try {
      const res = await api.stream(
        path,
        { accept: "text/event-stream", "cache-control": "no-cache", ...(lastId ? { "last-event-id": lastId } : {}) },
        signal,
      );
      const type = res.headers.get("content-type") ?? "";
      if (!type.startsWith("text/event-stream") || !res.body) {
        await res.body?.cancel();
        throw new ReelError(
          "REEL_SHIM_RESPONSE_INVALID",
          `GET ${api.url(path)} answered ${type || "no content-type"} instead of text/event-stream`,
        );
      }
      failingSince = undefined;
      delay = baseDelay;
      touch();
      yield { kind: "open" };
      const parser = new SseParser();
      parser.lastEventId = lastId;
      for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
        touch();
        for (const event of parser.push(chunk)) {
          lastId = event.id;
          yield { kind: "event", event };
        }
        if (parser.retry !== undefined) baseDelay = delay = parser.retry;
      }
    } catch (err) {
      if (opts.signal?.aborted) return;
      if (!retryable(err)) throw err;
      if (err instanceof ApiError && err.retryAfter !== undefined) delay = err.retryAfter * 1000;
      failingSince ??= Date.now();
      reason = describe(err);
      if (Date.now() - failingSince > giveUpMs) {
        throw new ReelError(
          "REEL_SHIM_UNREACHABLE",
          `lost the event stream ${api.url(path)} for more than ${Math.round(giveUpMs / 1000)}s: ${reason}`,
          { cause: err },
        );
      }
    } finally {
      clearTimeout(idle);
      conn.abort();
    }
    opts.onReconnect?.(reason, delay);
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, maxDelayMs);
  }
}

function retryable(err: unknown): boolean {
  if (err instanceof ApiError) return err.status >= 500 || err.status === 429 || err.status === 408;
  if (err instanceof ReelError) return err.code === "REEL_SHIM_UNREACHABLE";
  return true; // a body read that broke off: network, idle timeout
}

function describe(err: unknown): string {
  if (err instanceof ApiError) return `${err.status} ${err.code}`;
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
