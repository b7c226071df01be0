import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";

describe("the operator's output and retention settings", () => {
  it("are unset by default: presigned URLs, no SSE, nothing deleted", () => {
    const c = parseConfig({});
    expect(c.installation).toEqual({ maxSourceBytes: 50 * 2 ** 30 });
    expect(c.retention).toEqual({});
  });

  it("reads what the chart sets", () => {
    const c = parseConfig({
      REEL_S3_SSE: "aws:kms",
      REEL_S3_SSE_KMS_KEY_ID: "alias/reel",
      REEL_OUTPUT_PUBLIC_BASE_URL: "https://cdn.example.com/videos/",
      REEL_OUTPUT_RETENTION: "7d",
      REEL_FINISHED_RETENTION: "720h",
      REEL_S3_STORAGE_CLASS: "INTELLIGENT_TIERING",
    });
    expect(c.installation).toEqual({
      maxSourceBytes: 50 * 2 ** 30,
      sse: "aws:kms",
      kmsKeyId: "alias/reel",
      publicBaseUrl: "https://cdn.example.com/videos",
      storageClass: "INTELLIGENT_TIERING",
    });
    expect(c.retention).toEqual({ outputsSecs: 7 * 86400, finishedSecs: 720 * 3600 });
  });

  it.each([
    [{ REEL_S3_SSE: "aws-kms" }, /^REEL_S3_SSE is "aws-kms"/],
    [{ REEL_S3_STORAGE_CLASS: "GLACIER" }, /^REEL_S3_STORAGE_CLASS is "GLACIER": archived objects/],
    [{ REEL_S3_STORAGE_CLASS: "standard-ia" }, /^REEL_S3_STORAGE_CLASS is "standard-ia".*did you mean STANDARD_IA/],
    [{ REEL_S3_SSE_KMS_KEY_ID: "k" }, /^REEL_S3_SSE_KMS_KEY_ID is set but REEL_S3_SSE is ""/],
    [{ REEL_OUTPUT_PUBLIC_BASE_URL: "http://cdn.example.com" }, /^REEL_OUTPUT_PUBLIC_BASE_URL must be https/],
    [{ REEL_OUTPUT_RETENTION: "30" }, /^REEL_OUTPUT_RETENTION is "30"/],
    [{ REEL_FINISHED_RETENTION: "1w" }, /^REEL_FINISHED_RETENTION is "1w"/],
    [{ REEL_MAX_SOURCE_BYTES: "lots" }, /^REEL_MAX_SOURCE_BYTES is "lots"/],
    [{ REEL_WORKER_MEMORY_LIMIT: "8GB" }, /^REEL_WORKER_MEMORY_LIMIT is "8GB"/],
    [
      { REEL_WORKER_MEMORY_REQUEST: "4Gi", REEL_WORKER_MEMORY_LIMIT: "2Gi" },
      /^REEL_WORKER_MEMORY_REQUEST \(4Gi\) is above/,
    ],
    [{ REEL_WORKER_CPU_REQUEST: "one" }, /^REEL_WORKER_CPU_REQUEST is "one"/],
    [
      { REEL_MAX_SOURCE_BYTES: "20Gi", REEL_WORKER_SCRATCH_LIMIT: "21Gi" },
      /^REEL_WORKER_SCRATCH_LIMIT \(21Gi\) cannot hold a source at REEL_MAX_SOURCE_BYTES \(20Gi\)/,
    ],
  ])("refuses %j with REEL_CONFIG_INVALID", (env, message) => {
    expect(() => parseConfig(env)).toThrow(message);
    expect(() => parseConfig(env)).toThrow(expect.objectContaining({ code: "REEL_CONFIG_INVALID" }));
  });

  it("sizes the worker pods from what the chart sets, and passes the byte cap on to them", () => {
    const c = parseConfig({
      REEL_MAX_SOURCE_BYTES: "20Gi",
      REEL_WORKER_CPU_REQUEST: "500m",
      REEL_WORKER_MEMORY_REQUEST: "2Gi",
      REEL_WORKER_MEMORY_LIMIT: "6Gi",
      REEL_WORKER_SCRATCH_REQUEST: "30Gi",
      REEL_WORKER_SCRATCH_LIMIT: "60Gi",
    });
    expect(c.installation.maxSourceBytes).toBe(20 * 2 ** 30);
    expect(c.resources).toEqual({
      cpuRequest: "500m",
      memoryRequest: "2Gi",
      memoryLimit: "6Gi",
      scratchRequestBytes: 30 * 2 ** 30,
      scratchLimitBytes: 60 * 2 ** 30,
    });
    expect(parseConfig({}).resources).toEqual({
      cpuRequest: "1",
      memoryRequest: "1Gi",
      memoryLimit: "8Gi",
      scratchRequestBytes: 10 * 2 ** 30,
    });
  });

  it("passes the OTLP endpoint it exports to on to its pods (the traces one wins)", () => {
    expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318" }).installation).toEqual({
      maxSourceBytes: 50 * 2 ** 30,
      otlpEndpoint: "http://otel:4318",
    });
    expect(
      parseConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t/v1/traces",
      }).installation,
    ).toEqual({ maxSourceBytes: 50 * 2 ** 30, otlpTracesEndpoint: "http://t/v1/traces" });
  });

  it("stops the process at start with the code, the message and exit 2", async () => {
    const main = join(import.meta.dirname, "main.ts");
    const r = await promisify(execFile)(process.execPath, [main], {
      env: { PATH: process.env.PATH, REEL_OUTPUT_RETENTION: "soon" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({ code: 2 });
    expect((r as { stderr: string }).stderr).toBe(
      'REEL_CONFIG_INVALID: REEL_OUTPUT_RETENTION is "soon": use a duration such as 30d, 720h or 1h30m ("" keeps forever)\n',
    );
  });
});
