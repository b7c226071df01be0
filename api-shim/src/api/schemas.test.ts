import { describe, expect, it } from "vitest";
import { buildVideoJob } from "../jobs/videojob.ts";
import { toResponse } from "./errors.ts";
import { CreateJobInput } from "./schemas.ts";

const spec = {
  episodes: [{ url: "https://cdn.example.com/a.mp4" }],
  output: { s3: { bucket: "videos", credentialsSecret: "s3" } },
};

describe("the create input", () => {
  it("accepts a name and a spec, and nothing the shim sets itself", () => {
    expect(CreateJobInput.safeParse({ name: "a", spec }).success).toBe(true);
    expect(CreateJobInput.safeParse({ spec }).success).toBe(true);
    for (const extra of [
      { status: { phase: "Completed" } },
      { metadata: { namespace: "other" } },
      { namespace: "other" },
      { ownerReferences: [] },
      { spec: { ...spec, cancel: true } },
      { spec: { ...spec, status: {} } },
    ]) {
      expect(CreateJobInput.safeParse({ name: "a", spec, ...extra }).success, JSON.stringify(extra)).toBe(false);
    }
  });

  it("becomes a VideoJob in the tenant's namespace with defaults, creator and trace id", () => {
    const vj = buildVideoJob({ spec } as never, { namespace: "media", creator: "olga", traceId: "t".repeat(32) });
    expect(vj.metadata).toMatchObject({
      name: "",
      generateName: "job-",
      namespace: "media",
      annotations: { "reel.dev/created-by": "olga", "reel.dev/trace-id": "t".repeat(32) },
    });
    expect(vj.spec).toMatchObject({ quality: "720p", codec: "h264", cancel: false, tags: [] });
  });
});

describe("error answers", () => {
  it("map codes and framework errors to statuses with the error body", () => {
    expect(
      toResponse(Object.assign(new Error("too big"), { code: "FST_ERR_CTP_BODY_TOO_LARGE", statusCode: 413 })),
    ).toMatchObject({
      status: 413,
      body: { error: { code: "REEL_BODY_TOO_LARGE" } },
    });
    expect(toResponse(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })).status).toBe(503);
    expect(toResponse(new Error("boom"))).toMatchObject({
      status: 500,
      internal: true,
      body: { error: { code: "REEL_INTERNAL" } },
    });
  });
});
