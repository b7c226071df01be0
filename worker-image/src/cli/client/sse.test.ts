import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "./errors.ts";
import { Api } from "./http.ts";
import { readSse, type SseEvent, SseParser } from "./sse.ts";

const parseAll = (chunks: string[]) => {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...p.push(c));
  return { events: out, parser: p };
};

describe("SseParser", () => {
  it("dispatches an event at a blank line with its event, id and data fields", () => {
    const { events } = parseAll(['id: 7\nevent: status\ndata: {"a":1}\n\n']);
    expect(events).toEqual([{ type: "status", id: "7", data: '{"a":1}' }]);
  });

  it("joins several data lines with newlines, defaults the type to message and skips comments and unknown fields", () => {
    const { events } = parseAll([": keep-alive\ndata: one\nfoo: bar\ndata: two\ndata\n\n"]);
    expect(events).toEqual([{ type: "message", id: "", data: "one\ntwo\n" }]);
  });

  it("reads CR, LF and CRLF line ends, split anywhere across chunks", () => {
    const text = "id: 1\r\ndata: a\r\n\r\nid: 2\rdata: b\r\rid: 3\ndata: c\n\n";
    const whole = parseAll([text]).events;
    expect(whole.map((e) => [e.id, e.data])).toEqual([
      ["1", "a"],
      ["2", "b"],
      ["3", "c"],
    ]);
    // One character at a time: a CR at the end of a chunk and its LF at the start of the next are one line end.
    expect(parseAll([...text]).events).toEqual(whole);
    for (let cut = 1; cut < text.length; cut++) {
      expect(parseAll([text.slice(0, cut), text.slice(cut)]).events, `cut at ${cut}`).toEqual(whole);
    }
  });

  it("carries the last id to later events without one and ignores an id containing NUL", () => {
    const { events, parser } = parseAll(["id: 5\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\n"]);
    expect(events.map((e) => e.id)).toEqual(["5", "5", "5"]);
    expect(parser.lastEventId).toBe("5");
  });

  it("takes retry as the reconnection delay and dispatches nothing for an event without data", () => {
    const { events, parser } = parseAll(["retry: 1500\n\nid: 9\nevent: status\n\nretry: soon\n\n"]);
    expect(events).toEqual([]);
    expect(parser.retry).toBe(1500);
    expect(parser.lastEventId).toBe("9");
  });

  it("strips a leading byte order mark and only the first space after the colon", () => {
    const { events } = parseAll(["\uFEFFdata:  two spaces\n\n", "data:none\n\n"]);
    expect(events.map((e) => e.data)).toEqual([" two spaces", "none"]);
  });

  it("keeps an unfinished event until its blank line arrives", () => {
    const p = new SseParser();
    expect(p.push("data: half")).toEqual([]);
    expect(p.push("\n")).toEqual([]);
    expect(p.push("\n")).toEqual([{ type: "message", id: "", data: "half" }]);
  });
});

describe("readSse", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  /** A stream server whose handler is called per connection with its number and Last-Event-ID. */
  async function serve(handler: (n: number, lastId: string | undefined, res: ServerResponse) => void) {
    let n = 0;
    const server = createServer((req, res) => handler(++n, req.headers["last-event-id"] as string | undefined, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    close = () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    return new Api(
      { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, key: "k" },
      { timeoutMs: 2000 },
    );
  }
  const sse = (res: ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream" });

  it("reconnects after a drop with Last-Event-ID and goes on from there", async () => {
    const seen: (string | undefined)[] = [];
    const api = await serve((n, lastId, res) => {
      seen.push(lastId);
      sse(res);
      if (n === 1) {
        res.write("id: 1\ndata: a\n\nid: 2\ndata: b\n\n");
        setTimeout(() => res.socket?.destroy(), 20);
      } else res.write(`id: 3\ndata: c after ${lastId}\n\n`);
    });
    const got: string[] = [];
    const reconnects: string[] = [];
    for await (const item of readSse(api, "/events", { delayMs: 10, onReconnect: (r) => reconnects.push(r) })) {
      got.push(item.kind === "open" ? "open" : item.event.data);
      if (got.length === 5) break;
    }
    expect(got).toEqual(["open", "a", "b", "open", "c after 2"]);
    expect(seen).toEqual([undefined, "2"]);
    expect(reconnects).toHaveLength(1);
  });

  it("treats a stream that goes silent as a drop", async () => {
    const api = await serve((n, _lastId, res) => {
      sse(res);
      res.write(`id: ${n}\ndata: conn ${n}\n\n`); // then nothing, not even a comment
    });
    const got: string[] = [];
    for await (const item of readSse(api, "/events", { idleMs: 100, delayMs: 10 })) {
      if (item.kind === "event") got.push(item.event.data);
      if (got.length === 2) break;
    }
    expect(got).toEqual(["conn 1", "conn 2"]);
  });

  it("throws a 404 at once instead of retrying", async () => {
    let calls = 0;
    const api = await serve((_n, _lastId, res) => {
      calls++;
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "REEL_JOB_NOT_FOUND", message: "job x not found" } }));
    });
    const it = readSse(api, "/events", { delayMs: 10 });
    const err = await it.next().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("REEL_JOB_NOT_FOUND");
    expect(calls).toBe(1);
  });

  it("gives up with REEL_SHIM_UNREACHABLE when it cannot connect for longer than giveUpMs", async () => {
    const api = await serve((_n, _lastId, res) => {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "REEL_UNAVAILABLE", message: "redis down" } }));
    });
    const err = await readSse(api, "/events", { delayMs: 10, maxDelayMs: 20, giveUpMs: 150 })
      .next()
      .catch((e) => e);
    expect(err.code).toBe("REEL_SHIM_UNREACHABLE");
    expect(err.message).toMatch(/lost the event stream .*\/events for more than 0s: 503 REEL_UNAVAILABLE/);
  });

  it("refuses an answer that is not an event stream", async () => {
    const api = await serve((_n, _lastId, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>login</html>");
    });
    const err = await readSse(api, "/events")
      .next()
      .catch((e) => e);
    expect(err.code).toBe("REEL_SHIM_RESPONSE_INVALID");
  });
});
