import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "./errors.ts";
import { Api, networkReason, parseRetryAfter } from "./http.ts";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => handler(req, res, ++n));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, calls: () => n };
}
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
/** The error a call ended with (the test fails if it succeeded). */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e as ApiError,
  );
const unavailable = { error: { code: "REEL_UNAVAILABLE", message: "postgres down", hint: "Retry shortly." } };

describe("Api", () => {
  it("sends the key as a Bearer token with a JSON body", async () => {
    let seen: IncomingMessage | undefined;
    let body = "";
    const s = await serve(async (req, res) => {
      seen = req;
      for await (const c of req) body += c;
      json(res, 201, { id: "a" });
    });
    const api = new Api({ server: s.url, key: "reel_secret" });
    expect(await api.post("/api/v1/jobs", { spec: {} })).toEqual({ id: "a" });
    expect(seen?.headers.authorization).toBe("Bearer reel_secret");
    expect(seen?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(body)).toEqual({ spec: {} });
  });

  it("does not show the key when the client is printed", () => {
    const api = new Api({ server: "http://x", key: "reel_secret" });
    expect(JSON.stringify(api)).not.toContain("reel_secret");
    expect(String(Object.values(api))).not.toContain("reel_secret");
  });

  it("retries a GET once after a 503, and answers the second error when that fails too", async () => {
    const s = await serve((_req, res, n) => (n === 1 ? json(res, 503, unavailable) : json(res, 200, { ok: n })));
    const api = new Api({ server: s.url, key: "k" }, { retryDelayMs: 10 });
    expect(await api.get("/x")).toEqual({ ok: 2 });

    const t = await serve((_req, res) => json(res, 503, unavailable));
    const err = await failure(new Api({ server: t.url, key: "k" }, { retryDelayMs: 10 }).get("/x"));
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 503, code: "REEL_UNAVAILABLE", hint: "Retry shortly." });
    expect(t.calls()).toBe(2);
  });

  it("never retries a POST (it may have been applied)", async () => {
    const s = await serve((_req, res) => json(res, 503, unavailable));
    await expect(new Api({ server: s.url, key: "k" }, { retryDelayMs: 10 }).post("/x", {})).rejects.toMatchObject({
      code: "REEL_UNAVAILABLE",
    });
    expect(s.calls()).toBe(1);
  });

  it("does not retry a 4xx, and waits out a short 429 on a GET", async () => {
    const s = await serve((_req, res, n) =>
      n === 1
        ? json(res, 429, { error: { code: "REEL_RATE_LIMITED", message: "slow" } }, { "retry-after": "0" })
        : json(res, 200, {}),
    );
    expect(await new Api({ server: s.url, key: "k" }).get("/x")).toEqual({});
    const t = await serve((_req, res) =>
      json(res, 404, { error: { code: "REEL_JOB_NOT_FOUND", message: "job a not found" } }),
    );
    await expect(new Api({ server: t.url, key: "k" }).get("/x")).rejects.toMatchObject({ status: 404 });
    expect(t.calls()).toBe(1);
  });

  it("maps connection refused to REEL_SHIM_UNREACHABLE naming the server, after one retry", async () => {
    const s = await serve(() => {});
    await close?.();
    close = undefined;
    const err = await failure(new Api({ server: s.url, key: "k" }, { retryDelayMs: 10 }).get("/x"));
    expect(err.code).toBe("REEL_SHIM_UNREACHABLE");
    expect(err.message).toBe(`cannot reach ${s.url}: connection refused (ECONNREFUSED)`);
  });

  it("times out a request that gets no answer", async () => {
    const s = await serve(() => {}); // never answers
    const started = Date.now();
    const err = await failure(new Api({ server: s.url, key: "k" }, { timeoutMs: 100, retryDelayMs: 10 }).get("/x"));
    expect(err.code).toBe("REEL_SHIM_UNREACHABLE");
    expect(err.message).toContain("no answer within 0.1s");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("calls a page that is not the API REEL_SHIM_RESPONSE_INVALID", async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>hello</html>");
    });
    const err = await failure(new Api({ server: s.url, key: "k" }).get("/api/v1/me"));
    expect(err.code).toBe("REEL_SHIM_RESPONSE_INVALID");
    expect(err.message).toMatch(
      /answered 200 OK with a body that is not JSON \(text\/html\); is http:.* the Reel shim\?/,
    );
    const t = await serve((_req, res) => {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<html>not found</html>");
    });
    expect((await failure(new Api({ server: t.url, key: "k" }).get("/api/v1/me"))).code).toBe(
      "REEL_SHIM_RESPONSE_INVALID",
    );
  });

  it("follows no redirect, so the key never goes where a redirect points", async () => {
    let elsewhere = 0;
    const target = createServer((_req, res) => {
      elsewhere++;
      res.end("{}");
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    const s = await serve((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${(target.address() as AddressInfo).port}/steal` });
      res.end();
    });
    const err = await failure(new Api({ server: s.url, key: "k" }, { retryDelayMs: 10 }).get("/x"));
    target.close();
    expect(err.code).toBe("REEL_SHIM_UNREACHABLE");
    expect(err.message).toContain("redirect");
    expect(elsewhere).toBe(0);
  });
});

describe("helpers", () => {
  it("parses Retry-After as seconds or a date", () => {
    expect(parseRetryAfter("12")).toBe(12);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThanOrEqual(4);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it("names the system error behind a failed fetch", () => {
    const err = Object.assign(new TypeError("fetch failed"), { cause: { code: "ENOTFOUND" } });
    expect(networkReason(err, 1000)).toBe("host not found (ENOTFOUND)");
  });
});
