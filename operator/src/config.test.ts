import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.ts";

describe("the operator's output and retention settings", () => {
  it("are unset by default: presigned URLs, no SSE, nothing deleted", () => {
    const c = parseConfig({});
    expect(c.installation).toEqual({});
    expect(c.retention).toEqual({});
  });

  it("reads what the chart sets", () => {
    const c = parseConfig({
      REEL_S3_SSE: "aws:kms",
      REEL_S3_SSE_KMS_KEY_ID: "alias/reel",
      REEL_OUTPUT_PUBLIC_BASE_URL: "https://cdn.example.com/videos/",
      REEL_OUTPUT_RETENTION: "7d",
      REEL_FINISHED_RETENTION: "720h",
    });
    expect(c.installation).toEqual({
      sse: "aws:kms",
      kmsKeyId: "alias/reel",
      publicBaseUrl: "https://cdn.example.com/videos",
    });
    expect(c.retention).toEqual({ outputsSecs: 7 * 86400, finishedSecs: 720 * 3600 });
  });

  it.each([
    [{ REEL_S3_SSE: "aws-kms" }, /^REEL_S3_SSE is "aws-kms"/],
    [{ REEL_S3_SSE_KMS_KEY_ID: "k" }, /^REEL_S3_SSE_KMS_KEY_ID is set but REEL_S3_SSE is ""/],
    [{ REEL_OUTPUT_PUBLIC_BASE_URL: "http://cdn.example.com" }, /^REEL_OUTPUT_PUBLIC_BASE_URL must be https/],
    [{ REEL_OUTPUT_RETENTION: "30" }, /^REEL_OUTPUT_RETENTION is "30"/],
    [{ REEL_FINISHED_RETENTION: "1w" }, /^REEL_FINISHED_RETENTION is "1w"/],
  ])("refuses %j with REEL_CONFIG_INVALID", (env, message) => {
    expect(() => parseConfig(env)).toThrow(message);
    expect(() => parseConfig(env)).toThrow(expect.objectContaining({ code: "REEL_CONFIG_INVALID" }));
  });

  it("passes the OTLP endpoint it exports to on to its pods (the traces one wins)", () => {
    expect(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318" }).installation).toEqual({
      otlpEndpoint: "http://otel:4318",
    });
    expect(
      parseConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t/v1/traces",
      }).installation,
    ).toEqual({ otlpTracesEndpoint: "http://t/v1/traces" });
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
