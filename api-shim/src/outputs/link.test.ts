import { type Job, VideoJobSpec } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { linkLifetimeSecs, MAX_PRESIGN_SECS, planOutputLink } from "./link.ts";

const job = (status: Job["status"], s3: Record<string, unknown> = {}): Job => ({
  id: "s1",
  namespace: "media",
  createdAt: "2026-01-02T03:04:05Z",
  spec: VideoJobSpec.parse({
    episodes: [{ url: "https://cdn.example.com/a.mp4" }],
    output: { s3: { bucket: "videos", credentialsSecret: "s3-creds", ...s3 } },
  }),
  ...(status ? { status } : {}),
  tags: [],
});
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return "no error";
};

describe("planOutputLink", () => {
  const files = {
    outputs: [
      { location: "s3://videos/s1/Episode 1.mp4", episode: 0 },
      { location: "s3://videos/s1/b.mp4", episode: 1, expiredAt: "2026-02-01T00:00:00Z" },
      { location: "pvc://media-out/s1/c.mp4", episode: 2 },
    ],
  };

  it("presigns file n of status.outputs with the job's region, endpoint, Secret and urlExpiry", () => {
    expect(planOutputLink(job(files, { endpoint: "http://127.0.0.1:9000", urlExpiry: "2h" }), 0, {})).toEqual({
      kind: "presign",
      bucket: "videos",
      key: "s1/Episode 1.mp4",
      expiresInSecs: 7200,
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9000",
      credentialsSecret: "s3-creds",
    });
  });

  it("links the installation's public base URL instead when one is set", () => {
    expect(planOutputLink(job(files), 0, { publicBaseUrl: "https://cdn.example.com/v" })).toEqual({
      kind: "public",
      url: "https://cdn.example.com/v/s1/Episode%201.mp4",
    });
  });

  it("takes status.output as file 0 of a status without outputs", () => {
    const plan = planOutputLink(job({ output: { location: "s3://videos/s1/all.mp4", chapters: 2 } }), 0, {});
    expect(plan).toMatchObject({ kind: "presign", key: "s1/all.mp4", expiresInSecs: 24 * 3600 });
  });

  it.each([
    ["a file past the last", 3, "REEL_NOT_FOUND"],
    ["a malformed index", -1, "REEL_NOT_FOUND"],
    ["a file deleted by retention", 1, "REEL_OUTPUT_EXPIRED"],
    ["a file on a volume", 2, "REEL_OUTPUT_ON_VOLUME"],
  ])("refuses %s", (_, n, code) => {
    expect(codeOf(() => planOutputLink(job(files), n, {}))).toBe(code);
  });

  it("refuses a job with nothing stored yet", () => {
    expect(codeOf(() => planOutputLink(job({ phase: "Processing" }), 0, {}))).toBe("REEL_NOT_FOUND");
  });
});

describe("linkLifetimeSecs", () => {
  it("is the job's urlExpiry, 24h by default, never past S3's 7 days", () => {
    expect(linkLifetimeSecs("30m")).toBe(1800);
    expect(linkLifetimeSecs(undefined)).toBe(86_400);
    expect(linkLifetimeSecs("30d")).toBe(MAX_PRESIGN_SECS);
    expect(linkLifetimeSecs("soon")).toBe(86_400);
  });
});
