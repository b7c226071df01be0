import { storageClassEnv } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { outputSettingsFromEnv, S3Target, sseParams, uploadParams } from "./s3.ts";

const env = (over: Record<string, string> = {}) => ({
  REEL_S3_SSE: "",
  REEL_S3_SSE_KMS_KEY_ID: "",
  REEL_OUTPUT_PUBLIC_BASE_URL: "",
  REEL_S3_STORAGE_CLASS: "",
  ...over,
});

describe("uploadParams: what every write to S3 asks for", () => {
  const base = { bucket: "videos", key: "season-1/Season 1.mp4", sha256: "ab".repeat(32) };
  it.each([
    ["no SSE: the bucket's default applies (no header sent)", {}, {}],
    ["AES256", { sse: "AES256" as const }, { ServerSideEncryption: "AES256" }],
    ["aws:kms with the account's default key", { sse: "aws:kms" as const }, { ServerSideEncryption: "aws:kms" }],
    [
      "aws:kms with a key",
      { sse: "aws:kms" as const, kmsKeyId: "arn:aws:kms:eu-west-1:1:key/k" },
      { ServerSideEncryption: "aws:kms", SSEKMSKeyId: "arn:aws:kms:eu-west-1:1:key/k" },
    ],
    [
      "a key without aws:kms is never sent",
      { sse: "AES256" as const, kmsKeyId: "k" },
      { ServerSideEncryption: "AES256" },
    ],
  ])("%s", (_, settings, sse) => {
    const p = uploadParams(base, settings, "body");
    expect(p).toEqual({
      Bucket: "videos",
      Key: "season-1/Season 1.mp4",
      Body: "body",
      ContentType: "video/mp4",
      ChecksumAlgorithm: "SHA256",
      Metadata: { "reel-sha256": base.sha256 },
      ...sse,
    });
    expect(sseParams(settings)).toEqual(sse);
  });

  it("asks the storage class with SSE when the settings carry one, and none without", () => {
    const p = uploadParams(base, { sse: "AES256", storageClass: "STANDARD_IA" }, "body");
    expect([p.StorageClass, p.ServerSideEncryption]).toEqual(["STANDARD_IA", "AES256"]);
    expect("StorageClass" in uploadParams(base, {}, "body")).toBe(false);
  });

  it("keeps the content type of a record", () => {
    expect(uploadParams({ ...base, contentType: "application/json" }, {}, "{}").ContentType).toBe("application/json");
  });
});

describe("outputSettingsFromEnv", () => {
  it.each([
    [{}, {}],
    [{ REEL_S3_SSE: "AES256" }, { sse: "AES256" }],
    [
      { REEL_S3_SSE: "aws:kms", REEL_S3_SSE_KMS_KEY_ID: "alias/reel" },
      { sse: "aws:kms", kmsKeyId: "alias/reel" },
    ],
    [{ REEL_OUTPUT_PUBLIC_BASE_URL: "https://cdn.example.com/v/" }, { publicBaseUrl: "https://cdn.example.com/v" }],
    [{ REEL_S3_STORAGE_CLASS: "INTELLIGENT_TIERING" }, { storageClass: "INTELLIGENT_TIERING" }],
  ])("reads %j", (over, want) => {
    expect(outputSettingsFromEnv(env(over))).toEqual(want);
  });

  it.each([
    [{ REEL_S3_SSE: "KMS" }, /REEL_S3_SSE is "KMS"/],
    [{ REEL_OUTPUT_PUBLIC_BASE_URL: "http://cdn.example.com" }, /REEL_OUTPUT_PUBLIC_BASE_URL must be https/],
    [{ REEL_S3_STORAGE_CLASS: "standard_ia" }, /REEL_S3_STORAGE_CLASS is "standard_ia".*did you mean STANDARD_IA/],
  ])("refuses %j with REEL_CONFIG_INVALID", (over, message) => {
    expect(() => outputSettingsFromEnv(env(over))).toThrow(message);
    try {
      outputSettingsFromEnv(env(over));
    } catch (e) {
      expect((e as { code?: string }).code).toBe("REEL_CONFIG_INVALID");
    }
  });
});

describe("the storage class the operator writes (crds storageClassEnv) is the one the worker reads", () => {
  it.each([["ONEZONE_IA"], [undefined]])("%s", (storageClass) => {
    const written = Object.fromEntries(storageClassEnv(storageClass).map((v) => [v.name, v.value]));
    const settings = outputSettingsFromEnv(env(written));
    expect(settings.storageClass).toBe(storageClass);
    expect(uploadParams({ bucket: "b", key: "k", sha256: "00" }, settings, "x").StorageClass).toBe(storageClass);
  });
});

describe("S3Target.presign: the URL reported for an output", () => {
  const target = (publicBaseUrl?: string) =>
    new S3Target({
      bucket: "videos",
      prefix: "season-1/",
      endpoint: "http://127.0.0.1:1",
      accessKeyId: "a",
      secretAccessKey: "b",
      urlExpirySecs: 3600,
      settings: publicBaseUrl ? { publicBaseUrl } : {},
    });

  it("is <base>/<key> with the key's segments percent-encoded, unsigned and without expiry, with a public base URL", async () => {
    expect(await target("https://cdn.example.com/videos").presign("Season 1.mp4")).toEqual({
      url: "https://cdn.example.com/videos/season-1/Season%201.mp4",
      urlExpiresAt: undefined,
    });
  });

  it("is a presigned GET that expires, without one", async () => {
    const r = await target().presign("Season 1.mp4");
    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:1\/videos\/season-1\/Season%201\.mp4\?.*X-Amz-Signature=/);
    expect(Date.parse(r.urlExpiresAt ?? "")).toBeGreaterThan(Date.now() + 3500_000);
  });
});
