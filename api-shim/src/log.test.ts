import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { batchedDestination, createLogger, isoTime, logPath, redactUrl } from "./log.ts";

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
  it("writes the lines logged in one turn of the event loop together, in order, at the end of the turn", async () => {
    const file = join(tmpdir(), `reel-log-${process.pid}.jsonl`);
    const fd = openSync(file, "w");
    try {
      const log = createLogger("info", batchedDestination(fd));
      for (let i = 0; i < 3; i++) log.info({ i }, "request");
      expect(readFileSync(file, "utf8")).toBe("");
      await new Promise((r) => setImmediate(r));
      const lines = readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
      expect(lines[0]).toMatchObject({ level: 30, component: "reel-shim", msg: "request" });
      expect(Date.parse(lines[0].time)).toBeGreaterThan(Date.now() - 60_000);
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
