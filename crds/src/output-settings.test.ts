import { describe, expect, it } from "vitest";
import { isBadInput } from "./errors.ts";
import { parsePublicBaseUrl, parseRetention, parseSse, publicUrl } from "./output-settings.ts";

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
  return undefined;
};

describe("parseSse", () => {
  it.each([
    ["", "", {}],
    ["AES256", "", { sse: "AES256" }],
    ["aws:kms", "", { sse: "aws:kms" }],
    ["aws:kms", "arn:aws:kms:eu-west-1:1:key/k", { sse: "aws:kms", kmsKeyId: "arn:aws:kms:eu-west-1:1:key/k" }],
    [" AES256 ", " ", { sse: "AES256" }],
  ])("takes REEL_S3_SSE=%j with key %j", (sse, key, want) => {
    expect(parseSse(sse, key)).toEqual(want);
  });

  it.each([
    ["aes256", "", /REEL_S3_SSE is "aes256": use "" \(the bucket's default\), AES256 or aws:kms/],
    ["aws:kms:dsse", "", /REEL_S3_SSE is "aws:kms:dsse"/],
    ["AES256", "k", /REEL_S3_SSE_KMS_KEY_ID is set but REEL_S3_SSE is "AES256"/],
    ["", "k", /REEL_S3_SSE_KMS_KEY_ID is set but REEL_S3_SSE is ""/],
    ["aws:kms", "a key", /must not contain spaces/],
  ])("refuses REEL_S3_SSE=%j with key %j as REEL_CONFIG_INVALID", (sse, key, message) => {
    const r = refusal(() => parseSse(sse, key));
    expect(r?.code).toBe("REEL_CONFIG_INVALID");
    expect(r?.message).toMatch(message);
  });
});

describe("parsePublicBaseUrl", () => {
  it.each([
    ["", undefined],
    ["https://cdn.example.com", "https://cdn.example.com"],
    ["https://cdn.example.com/", "https://cdn.example.com"],
    ["https://cdn.example.com/videos/", "https://cdn.example.com/videos"],
    ["https://cdn.example.com:8443/a/b", "https://cdn.example.com:8443/a/b"],
    ["http://127.0.0.1:9000/videos", "http://127.0.0.1:9000/videos"],
    ["http://localhost:9000", "http://localhost:9000"],
    ["http://[::1]:9000", "http://[::1]:9000"],
  ])("takes %j as %j", (text, want) => {
    expect(parsePublicBaseUrl(text)).toBe(want);
  });

  it.each([
    ["cdn.example.com", /is not a URL/],
    ["http://cdn.example.com", /must be https:\/\/ \(http:\/\/ only on loopback\)/],
    ["http://10.0.0.1", /must be https/],
    ["ftp://cdn.example.com", /must be https/],
    ["https://user:pw@cdn.example.com", /must not hold credentials/],
    ["https://cdn.example.com/?sig=1", /must not have a query or fragment/],
    ["https://cdn.example.com/?", /must not have a query or fragment/],
    ["https://cdn.example.com/#x", /must not have a query or fragment/],
  ])("refuses %j as REEL_CONFIG_INVALID", (text, message) => {
    const r = refusal(() => parsePublicBaseUrl(text));
    expect(r?.code).toBe("REEL_CONFIG_INVALID");
    expect(r?.message).toMatch(/^REEL_OUTPUT_PUBLIC_BASE_URL/);
    expect(r?.message).toMatch(message);
  });
});

describe("publicUrl", () => {
  it.each([
    ["https://cdn.example.com", "season-1/Season 1.mp4", "https://cdn.example.com/season-1/Season%201.mp4"],
    ["https://cdn.example.com/v", "a/b/c.mp4", "https://cdn.example.com/v/a/b/c.mp4"],
    ["https://cdn.example.com", "é/#?%.mp4", "https://cdn.example.com/%C3%A9/%23%3F%25.mp4"],
  ])("%s + %s -> %s", (base, key, want) => {
    expect(publicUrl(base, key)).toBe(want);
  });
});

describe("parseRetention", () => {
  it.each([
    ["", undefined],
    ["2s", 2],
    ["30d", 30 * 86400],
    ["720h", 720 * 3600],
    ["1h30m", 5400],
  ])("takes %j as %j seconds", (text, want) => {
    expect(parseRetention("REEL_OUTPUT_RETENTION", text)).toBe(want);
  });

  it.each(["30", "1w", "-1d", "0s", "1.5h", "30 d"])(
    "refuses %j as REEL_CONFIG_INVALID naming the variable",
    (text) => {
      const r = refusal(() => parseRetention("REEL_FINISHED_RETENTION", text));
      expect(r?.code).toBe("REEL_CONFIG_INVALID");
      expect(r?.message).toMatch(/^REEL_FINISHED_RETENTION is/);
    },
  );

  it("is bad input: a pod with a bad setting fails at once instead of retrying", () => {
    expect(isBadInput("REEL_CONFIG_INVALID")).toBe(true);
  });
});
