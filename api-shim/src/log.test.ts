import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { batchedDestination, createLogger, isoTime, LazyChildLogger, logPath, redactUrl } from "./log.ts";

describe("request logs", () => {
  it("never carry the Authorization header or an access_token from the URL", () => {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger("info", out);
    log.info(
      {
        req: { method: "GET", url: "/api/v1/jobs/a/ws?x=1&access_token=reel_abcdefgh_secret&y=2", ip: "10.0.0.1" },
        headers: { authorization: "Bearer reel_abcdefgh_secret" },
      },
      "incoming request",
    );
    const text = lines.join("");
    expect(text).not.toContain("secret");
    expect(JSON.parse(text)).toMatchObject({
      req: { method: "GET", url: "/api/v1/jobs/a/ws?x=1&access_token=[REDACTED]&y=2", remoteAddress: "10.0.0.1" },
      headers: { authorization: "[REDACTED]" },
    });
  });

  it("cuts access_token wherever it sits in the query", () => {
    expect(redactUrl("/x?access_token=abc")).toBe("/x?access_token=[REDACTED]");
    expect(redactUrl("/x?a=1")).toBe("/x?a=1");
  });
});

describe("the log writer", () => {
  it("writes lines in batches, in order, within flushMs or once maxBytes are pending", async () => {
    const file = join(tmpdir(), `reel-log-${process.pid}.jsonl`);
    const fd = openSync(file, "w");
    const read = () =>
      readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    try {
      const log = createLogger("info", batchedDestination(fd, { flushMs: 20, maxBytes: 1000 }));
      for (let i = 0; i < 3; i++) log.info({ i }, "request");
      await new Promise((r) => setImmediate(r));
      expect(read()).toEqual([]);
      await new Promise((r) => setTimeout(r, 40));
      const lines = read();
      expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
      expect(lines[0]).toMatchObject({ level: 30, component: "reel-shim", msg: "request" });
      expect(Date.parse(lines[0].time)).toBeGreaterThan(Date.now() - 60_000);
      // Past maxBytes the batch leaves at once, without waiting for the timer.
      for (let i = 3; i < 20; i++) log.info({ i, pad: "x".repeat(100) }, "request");
      expect(read().length).toBeGreaterThan(3);
      await new Promise((r) => setTimeout(r, 40));
      expect(read().map((l) => l.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      closeSync(fd);
      rmSync(file, { force: true });
    }
  });

  it("stamps ISO times and logs paths without their query", () => {
    expect(isoTime()).toMatch(/^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
    expect(logPath("/api/v1/jobs/a/status?x=1")).toBe("/api/v1/jobs/a/status");
    expect(logPath("/api/v1/jobs/a&access_token=s3cret")).toBe("/api/v1/jobs/a&access_token=[REDACTED]");
  });
});

describe("a request's logger", () => {
  it("makes its child only when something logs through it, with the request's bindings", () => {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const root = createLogger("info", out);
    let children = 0;
    const parent = new Proxy(root, {
      get: (t, k) => {
        if (k !== "child") return Reflect.get(t, k);
        return (...a: Parameters<typeof root.child>) => {
          children++;
          return t.child(...a);
        };
      },
    });
    const quiet = new LazyChildLogger(parent, { traceId: "t1" });
    expect(quiet.level).toBe("info");
    expect(children).toBe(0);
    const used = new LazyChildLogger(parent, { traceId: "t2" });
    used.info({ videojob: "media/a" }, "job created");
    used.debug("not at info");
    expect(children).toBe(1);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ traceId: "t2", videojob: "media/a", msg: "job created", level: 30 }),
    ]);
  });
});
