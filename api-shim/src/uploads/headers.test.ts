import { describe, expect, it } from "vitest";
import { FILENAME_MAX, uploadFilename, uploadLength } from "./headers.ts";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("uploadLength", () => {
  it("reads Upload-Length as bytes", () => {
    expect(uploadLength({ "upload-length": "0" })).toBe(0);
    expect(uploadLength({ "upload-length": "10485760" })).toBe(10_485_760);
  });

  it.each([
    [{}, /Upload-Length/],
    [{ "upload-length": "-1" }, /whole number/],
    [{ "upload-length": "1.5" }, /whole number/],
    [{ "upload-length": "12abc" }, /whole number/],
    [{ "upload-length": "9999999999999999" }, /too large/],
    [{ "upload-defer-length": "1" }, /Defer-Length is not accepted/],
    [{ "upload-defer-length": "1", "upload-length": "5" }, /Defer-Length is not accepted/],
  ])("refuses %j with REEL_INVALID_ARGUMENT", (headers, message) => {
    expect(() => uploadLength(headers as Record<string, string>)).toThrow(message);
    try {
      uploadLength(headers as Record<string, string>);
    } catch (e) {
      expect((e as { code: string }).code).toBe("REEL_INVALID_ARGUMENT");
    }
  });
});

describe("uploadFilename", () => {
  it("decodes filename (or name) from Upload-Metadata", () => {
    expect(uploadFilename(`filetype ${b64("video/mp4")},filename ${b64("ep1.mp4")}`)).toBe("ep1.mp4");
    expect(uploadFilename(`name ${b64("Épisode 2.mkv")}`)).toBe("Épisode 2.mkv");
  });

  it("drops control characters, cuts long names and ignores absent or empty ones", () => {
    expect(uploadFilename(`filename ${b64("a\nb\u202e.mp4")}`)).toBe("ab.mp4");
    expect([...(uploadFilename(`filename ${b64("x".repeat(400))}`) ?? "")]).toHaveLength(FILENAME_MAX);
    expect(uploadFilename(`filetype ${b64("video/mp4")}`)).toBeUndefined();
    expect(uploadFilename("filename")).toBeUndefined();
    expect(uploadFilename(undefined)).toBeUndefined();
  });
});
