import { describe, expect, it } from "vitest";
import { ReelError } from "./errors.ts";
import { redactText, redactUrls, urlSecrets } from "./redact.ts";

describe("redactUrls: every URL in a text loses its userinfo, query and fragment", () => {
  it.each([
    ["https://user:pw@cdn.example.com/a/ep1.mp4?sig=abc#t=1", "https://cdn.example.com/a/ep1.mp4?…#…"],
    ["get http://u@127.0.0.2:8080/x.m3u8 failed", "get http://127.0.0.2:8080/x.m3u8 failed"],
    // A query ends only at whitespace or a quote: cutting a trailing ")," is safer than leaking.
    ["(https://h/p?token=1), next", "(https://h/p?… next"],
    ['"https://h/p#frag"', '"https://h/p#…"'],
    ["two: https://a/x?s=1 and https://b/y?t=2", "two: https://a/x?… and https://b/y?…"],
    ["no URL here: 404 Not Found", "no URL here: 404 Not Found"],
    ["s3://bucket/key.mp4 stays", "s3://bucket/key.mp4 stays"],
    ["http://[::1]:80/a?x=y", "http://[::1]:80/a?…"],
  ])("%s", (text, want) => expect(redactUrls(text)).toBe(want));
});

describe("urlSecrets and redactText: known secret values go wherever they show", () => {
  const url = "https://alice:hunter2pw@cdn.example.com/show/nothere?sig=SIGsecret123&exp=1#frag_secret";

  it("names the userinfo, the query (whole and each value) and the fragment", () => {
    const s = urlSecrets(url);
    for (const part of ["alice", "hunter2pw", "sig=SIGsecret123&exp=1", "SIGsecret123", "frag_secret"])
      expect(s).toContain(part);
  });

  it("removes a secret quoted out of its URL (yt-dlp's generic extractor: `nothere?sig=…`)", () => {
    const text = "ERROR: [generic] nothere?sig=SIGsecret123&exp=1: Unable to download webpage: HTTP Error 404";
    const out = redactText(text, urlSecrets(url));
    expect(out).not.toContain("SIGsecret123");
    expect(out).toContain("Unable to download webpage");
  });

  it("removes percent-encoded forms and leaves short, common values alone", () => {
    const out = redactText("a%20b%2Fc and 1", ["a b/c", "1"]);
    expect(out).toBe("… and 1");
  });

  it("ReelError's message never carries a URL's secret parts", () => {
    const e = new ReelError("REEL_SOURCE_NOT_FOUND", `${url} answered HTTP 404`);
    expect(e.message).toBe("https://cdn.example.com/show/nothere?…#… answered HTTP 404");
  });
});
