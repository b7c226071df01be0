import { describe, expect, it } from "vitest";
import type { CachedJob } from "../jobs/cache.ts";
import { resolveUploadEpisodes, type UploadArea, uploadedEpisode, uploadEpisodes } from "./episodes.ts";
import { uploadsFreedBy } from "./retention.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";
const area: UploadArea = {
  bucket: "reel-uploads",
  prefix: "uploads/",
  endpoint: "http://s3.local:9000",
  region: "eu-west-1",
  credentialsSecret: "reel-uploads",
};
const done = (id: string, filename: string | null = "ep1.final.mp4") => ({
  id,
  filename,
  length: 10,
  completedAt: "2026-12-05T00:00:00.000Z",
});
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: { code: string; message: string }) => e,
  );

describe("upload episodes of a job being created", () => {
  it("finds the upload entries and refuses malformed ones naming the episode", () => {
    const body = { spec: { episodes: [{ url: "https://a/b.mp4" }, { upload: A, title: "Two" }, { upload: B }] } };
    expect(uploadEpisodes(body)).toEqual([
      { index: 1, id: A },
      { index: 2, id: B },
    ]);
    expect(uploadEpisodes({})).toEqual([]);
    expect(() => uploadEpisodes({ spec: { episodes: [{ upload: "../../other/x" }] } })).toThrow(
      "spec.episodes.0.upload is not an upload id",
    );
    expect(() => uploadEpisodes({ spec: { episodes: [{ upload: A, url: "s3://b/k" }] } })).toThrow("give one");
  });

  it("becomes the s3:// episode of the stored object in the tenant's area, titled by the file name", () => {
    expect(uploadedEpisode({ upload: A }, done(A), "media", area)).toEqual({
      url: `s3://reel-uploads/uploads/media/${A}`,
      title: "ep1.final",
      s3: { endpoint: "http://s3.local:9000", region: "eu-west-1", credentialsSecret: "reel-uploads" },
    });
    const own = uploadedEpisode({ upload: A, title: "Pilot" }, done(A), "media", area);
    expect(own.title).toBe("Pilot");
    expect(uploadedEpisode({ upload: A }, done(A, null), "media", area)).not.toHaveProperty("title");
  });

  it("rewrites the body in place and returns each id once", async () => {
    const body = { spec: { episodes: [{ upload: A }, { url: "https://a/b.mp4" }, { upload: A, title: "Again" }] } };
    const ids = await resolveUploadEpisodes(body, "media", area, async (id) => done(id));
    expect(ids).toEqual([A]);
    expect(body.spec.episodes.map((e) => (e as { url: string }).url)).toEqual([
      `s3://reel-uploads/uploads/media/${A}`,
      "https://a/b.mp4",
      `s3://reel-uploads/uploads/media/${A}`,
    ]);
  });

  it("refuses an id not in the tenant, an unfinished upload, and uploads where none are taken", async () => {
    const body = () => ({ spec: { episodes: [{ upload: A }] } });
    const missing = await codeOf(resolveUploadEpisodes(body(), "media", area, async () => undefined));
    expect(missing).toMatchObject({
      code: "REEL_JOB_INVALID",
      message: `spec.episodes.0.upload: no upload ${A} in your tenant`,
    });
    const unfinished = await codeOf(
      resolveUploadEpisodes(body(), "media", area, async (id) => ({ ...done(id), completedAt: null })),
    );
    expect(unfinished).toMatchObject({ code: "REEL_UPLOAD_INCOMPLETE" });
    const off = await codeOf(resolveUploadEpisodes(body(), "media", undefined, async (id) => done(id)));
    expect(off).toMatchObject({ code: "REEL_JOB_INVALID", message: expect.stringContaining("takes no uploads") });
  });
});

describe("uploadsFreedBy", () => {
  const job = (uid: string, uploads?: string) =>
    ({
      metadata: { uid, name: uid, ...(uploads ? { annotations: { "reel.dev/uploads": uploads } } : {}) },
    }) as unknown as CachedJob;

  it("frees the deleted job's uploads that no other job names", () => {
    const gone = job("j1", `${A},${B}`);
    expect(uploadsFreedBy(gone, [gone, job("j2", B), job("j3")])).toEqual([A]);
    expect(uploadsFreedBy(gone, [])).toEqual([A, B]);
    expect(uploadsFreedBy(job("j4"), [])).toEqual([]);
    expect(uploadsFreedBy(job("j5", "not-an-id,../x"), [])).toEqual([]);
  });
});
