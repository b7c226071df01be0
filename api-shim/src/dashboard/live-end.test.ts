// The job page's live view when the server ends its stream (issue 13): public/live.js follow() over
// SSE, fed the shim's own last event (live/routes.ts closedEvent) by a hand-written fetch. Access
// lost ends the view with the reason (no reconnect, no sign-out), a revoked key signs out, and a
// stream the shim could not check again is reconnected.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { follow, streamEnd } from "../../public/live.js";
import type { StreamEnd } from "../live/access.ts";
import { closedEvent } from "../live/routes.ts";

/** Each stream opened: the last event id it passed. */
const opened: (string | undefined)[] = [];
const saved = { fetch: globalThis.fetch, WebSocket: globalThis.WebSocket };

/** Each GET …/events answers one status event, then the shim's closing event for `why`. */
function serve(why: StreamEnd) {
  globalThis.fetch = (async (_url: string, init?: { headers?: Record<string, string> }) => {
    opened.push(init?.headers?.["last-event-id"]);
    const text = `id: 1\ndata: ${JSON.stringify({ id: "1", type: "status", job: "s1", status: { phase: "Processing" } })}\n\n${closedEvent(why)}`;
    return new Response(text, { headers: { "content-type": "text/event-stream" } });
  }) as typeof fetch;
}

function followUntil(done: (modes: string[], errors: { status?: number; code?: string }[]) => boolean) {
  const modes: string[] = [];
  const errors: { status?: number; code?: string; message?: string; hint?: string }[] = [];
  const events: unknown[] = [];
  let live: { stop(): void } | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    const check = () => done(modes, errors) && resolve();
    setTimeout(() => reject(new Error(`not done: modes ${modes} errors ${JSON.stringify(errors)}`)), 5000);
    live = follow("s1", {
      onEvent: (e: unknown) => events.push(e),
      onMode: (m: string) => {
        modes.push(m);
        check();
      },
      onError: (e: { status?: number; code?: string; message?: string; hint?: string }) => {
        errors.push(e);
        check();
      },
    });
  });
  return { finished: finished.finally(() => live?.stop()), modes, errors, events };
}

beforeEach(() => {
  opened.length = 0;
  // No WebSocket: follow() goes to SSE, as behind a proxy that refuses upgrades.
  (globalThis as { WebSocket?: unknown }).WebSocket = undefined;
  (globalThis as { sessionStorage?: unknown }).sessionStorage = { getItem: () => "reel_k", removeItem() {} };
});

afterEach(() => {
  globalThis.fetch = saved.fetch;
  globalThis.WebSocket = saved.WebSocket;
});

describe("a live stream the shim ends", () => {
  it("reads the shim's closing event as sign in again, end the view, or reconnect", () => {
    expect(streamEnd({ code: "REEL_AUTH_INVALID" })).toBe(401);
    expect(streamEnd({ code: "REEL_FORBIDDEN" })).toBe(403);
    expect(streamEnd({ code: "REEL_UNAVAILABLE" })).toBe("reconnect");
  });

  it("ends the live view with REEL_FORBIDDEN and its message when access to the job's tenant is lost", async () => {
    serve({ code: "REEL_FORBIDDEN", message: "this credential no longer belongs to the job's tenant" });
    const run = followUntil((modes) => modes.includes("stopped"));
    await run.finished;
    expect(run.events).toHaveLength(1);
    expect(run.errors).toMatchObject([
      { status: 403, code: "REEL_FORBIDDEN", message: "this credential no longer belongs to the job's tenant" },
    ]);
    expect(run.modes).toEqual(["sse", "stopped"]);
    await new Promise((r) => setTimeout(r, 1200));
    expect(opened).toHaveLength(1);
  });

  it("hands a revoked key on as 401 with the shim's hint, and does not reconnect", async () => {
    serve({ code: "REEL_AUTH_INVALID", message: "API key reel_abcdefgh was revoked" });
    const run = followUntil((modes) => modes.includes("stopped"));
    await run.finished;
    expect(run.errors).toMatchObject([{ status: 401, code: "REEL_AUTH_INVALID" }]);
    expect(run.errors[0]?.hint).toBeTruthy();
    await new Promise((r) => setTimeout(r, 1200));
    expect(opened).toHaveLength(1);
  });

  it("reconnects, with the last event id, a stream the shim could not check again", async () => {
    serve({ code: "REEL_UNAVAILABLE", message: "access could not be checked again; reconnect" });
    const run = followUntil(() => opened.length >= 2);
    await run.finished;
    expect(run.errors).toEqual([]);
    expect(run.modes.slice(0, 2)).toEqual(["sse", "reconnecting"]);
    expect(opened.slice(0, 2)).toEqual([undefined, "1"]);
  });
});
