import { describe, expect, it } from "vitest";
import { classify, redact } from "./classify.ts";

describe("classify", () => {
  it.each([
    ["https://cdn.example.com/show/ep1.mp4", "direct"],
    ["https://cdn.example.com/show/ep1.MKV?sig=abc", "direct"],
    ["https://archive.example.com/cam/A001C003.mxf", "direct"],
    ["https://archive.example.com/tapes/reel-12.dv", "direct"],
    ["https://archive.example.com/playout/clip.GXF", "direct"],
    ["https://archive.example.com/dvd/VTS_01_1.VOB", "direct"],
    ["https://cdn.example.com/ep3/master.m3u8", "hls"],
    ["https://cdn.example.com/ep3/index.m3u8?token=x", "hls"],
    ["https://www.youtube.com/watch?v=abc", "page"],
    ["https://vimeo.com/12345", "page"],
    ["https://example.com/video", "page"],
  ])("routes %s to %s", (url, kind) => {
    expect(classify(url)).toBe(kind);
  });

  it.each(["file:///etc/passwd", "ftp://example.com/a.mp4", "data:video/mp4;base64,AAAA", "gopher://x/"])(
    "refuses %s with REEL_UNSUPPORTED_SCHEME",
    (url) => {
      expect(() => classify(url)).toThrow(expect.objectContaining({ code: "REEL_UNSUPPORTED_SCHEME" }));
    },
  );

  it("refuses something that is not a URL", () => {
    expect(() => classify("not a url")).toThrow(expect.objectContaining({ code: "REEL_JOB_INVALID" }));
  });
});

describe("redact", () => {
  it("drops userinfo and query strings, which can carry secrets", () => {
    expect(redact("https://user:pw@cdn.example.com/a.mp4?X-Amz-Signature=s3cr3t#t=1")).toBe(
      "https://cdn.example.com/a.mp4?…",
    );
    expect(redact("https://cdn.example.com/a.mp4")).toBe("https://cdn.example.com/a.mp4");
  });
});
