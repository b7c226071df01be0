import { ReelError, redactText, type S3SourceRef } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { explainS3Error, presignSource, signingHour, sourceKeys } from "./s3.ts";

const ref: S3SourceRef = {
  bucket: "media",
  key: "season 1/ep1.mp4",
  endpoint: "http://10.0.0.5:9000",
  credentialsSecret: "media-keys",
  credentialsEnv: "REEL_SOURCE_AWS",
};
const keys = { accessKeyId: "AKIAEXAMPLEEXAMPLE01", secretAccessKey: "s3cr3t-s3cr3t-s3cr3t-s3cr3t" };

describe("S3 sources", () => {
  it("reads the keys from the env pair the source names, and names that pair when unset", () => {
    const c = {
      AWS_ACCESS_KEY_ID: "out-id",
      AWS_SECRET_ACCESS_KEY: "out-secret",
      REEL_SOURCE_AWS_ACCESS_KEY_ID: "src-id",
      REEL_SOURCE_AWS_SECRET_ACCESS_KEY: "src-secret",
    };
    expect(sourceKeys(ref, c)).toEqual({ accessKeyId: "src-id", secretAccessKey: "src-secret" });
    expect(sourceKeys({ ...ref, credentialsEnv: "AWS" }, c)).toEqual({
      accessKeyId: "out-id",
      secretAccessKey: "out-secret",
    });
    expect(() => sourceKeys(ref, { ...c, REEL_SOURCE_AWS_SECRET_ACCESS_KEY: undefined })).toThrow(
      /REEL_SOURCE_AWS_ACCESS_KEY_ID and REEL_SOURCE_AWS_SECRET_ACCESS_KEY \(from Secret media-keys/,
    );
  });

  it("signs the same URL within an hour and a new one the next hour, path-style at the endpoint", async () => {
    const at = (iso: string) => presignSource(ref, keys, new Date(iso));
    const a = await at("2026-12-05T10:05:00Z");
    expect(a.startsWith("http://10.0.0.5:9000/media/season%201/ep1.mp4?")).toBe(true);
    expect(await at("2026-12-05T10:55:00Z")).toBe(a);
    expect(await at("2026-12-05T11:00:00Z")).not.toBe(a);
    expect(signingHour(new Date("2026-12-05T10:55:12Z")).toISOString()).toBe("2026-12-05T10:00:00.000Z");
  });

  it("keeps no key or signature in the redacted URL", async () => {
    const url = await presignSource(ref, keys);
    expect(url).toContain("X-Amz-Signature=");
    const shown = redactText(`GET ${url} failed`);
    expect(shown).toBe("GET http://10.0.0.5:9000/media/season%201/ep1.mp4?… failed");
    expect(shown).not.toContain(keys.accessKeyId);
  });

  it("names the object and, for a refused endpoint, the allowlist", () => {
    const denied = explainS3Error(
      new ReelError(
        "REEL_EGRESS_DENIED",
        "address 10.0.0.5 is private; internal addresses are refused unless allowlisted",
      ),
      ref,
    ) as ReelError;
    expect(denied.code).toBe("REEL_EGRESS_DENIED");
    expect(denied.message).toMatch(
      /^s3:\/\/media\/season 1\/ep1\.mp4 at http:\/\/10\.0\.0\.5:9000: address 10\.0\.0\.5/,
    );
    expect(denied.message).toContain("--allow CIDR or the installation's REEL_EGRESS_ALLOW");
    const other = new ReelError("REEL_SOURCE_TIMEOUT", "slow");
    expect(explainS3Error(other, ref)).toBe(other);
  });
});
