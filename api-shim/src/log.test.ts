import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactUrl } from "./log.ts";

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
