import { describe, expect, it } from "vitest";
import { attachment, presignOutput } from "./sign.ts";

describe("presignOutput", () => {
  const plan = {
    kind: "presign",
    bucket: "videos",
    key: "s1/Épisode 1.mp4",
    expiresInSecs: 3600,
    region: "eu-west-1",
    credentialsSecret: "s3-creds",
  } as const;
  const now = new Date("2026-03-04T05:06:07Z");

  it("signs a GET valid from now for the planned lifetime, as an attachment, with the Secret's keys", async () => {
    const asked: string[] = [];
    const link = await presignOutput(
      plan,
      "media",
      async (ns, name) => {
        asked.push(`${ns}/${name}`);
        return { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret" };
      },
      now,
    );
    expect(asked).toEqual(["media/s3-creds"]);
    expect(link.expiresAt).toBe("2026-03-04T06:06:07.000Z");
    const u = new URL(link.url);
    expect(u.host).toBe("videos.s3.eu-west-1.amazonaws.com");
    expect(decodeURIComponent(u.pathname)).toBe("/s1/Épisode 1.mp4");
    expect(u.searchParams.get("X-Amz-Expires")).toBe("3600");
    expect(u.searchParams.get("X-Amz-Date")).toBe("20260304T050607Z");
    expect(u.searchParams.get("X-Amz-Credential")).toMatch(/^AKIAEXAMPLE\/20260304\/eu-west-1\/s3\/aws4_request$/);
    expect(u.searchParams.get("response-content-disposition")).toBe(attachment(plan.key));
  });

  it("refuses with REEL_OUTPUT_CREDENTIALS_MISSING when the Secret is gone or incomplete", async () => {
    await expect(presignOutput(plan, "media", async () => undefined)).rejects.toMatchObject({
      code: "REEL_OUTPUT_CREDENTIALS_MISSING",
      message: "Secret media/s3-creds is not there",
    });
    await expect(presignOutput(plan, "media", async () => ({ accessKeyId: "x" }))).rejects.toMatchObject({
      code: "REEL_OUTPUT_CREDENTIALS_MISSING",
    });
  });
});

describe("attachment", () => {
  it("names the file, with an ASCII fallback and the UTF-8 name", () => {
    expect(attachment('s1/Épisode "1".mp4')).toBe(
      `attachment; filename="_pisode _1_.mp4"; filename*=UTF-8''%C3%89pisode%20%221%22.mp4`,
    );
  });
});
