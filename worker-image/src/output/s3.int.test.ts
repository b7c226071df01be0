// Against a real S3-compatible server process (versitygw), started for this file.
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { S3Server } from "@reel/e2e/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3WithBucket } from "../testing/s3.ts";
import { S3Target } from "./s3.ts";

let s3: S3Server;
let client: S3Client;
let dir: string;
beforeAll(async () => {
  ({ s3, client } = await startS3WithBucket("videos"));
  dir = await mkdtemp(join(tmpdir(), "reel-s3-test-"));
}, 600_000);
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const target = (over: Partial<ConstructorParameters<typeof S3Target>[0]> = {}) =>
  new S3Target({
    bucket: "videos",
    prefix: "season-1/",
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    urlExpirySecs: 3600,
    partSize: 5 * 1024 * 1024,
    ...over,
  });

describe("S3Target", () => {
  it("uploads in parts with checksums and answers a presigned URL that serves the same bytes", async () => {
    const body = Buffer.alloc(12 * 1024 * 1024 + 333, 7);
    body.write("reel", 1000);
    const path = join(dir, "season.mp4");
    await writeFile(path, body);
    const sha256 = createHash("sha256").update(body).digest("hex");
    const progress: number[] = [];
    const stored = await target().put(path, "Season 1.mp4", { sha256, onProgress: (d) => progress.push(d) });

    expect(stored.location).toBe("s3://videos/season-1/Season 1.mp4");
    expect(stored.sizeBytes).toBe(body.length);
    expect(stored.checksum).toBe(`sha256:${sha256}`);
    expect(progress.at(-1)).toBe(body.length);
    expect(new Date(stored.urlExpiresAt ?? 0).getTime()).toBeGreaterThan(Date.now() + 3500_000);

    const res = await fetch(stored.url ?? "");
    expect(res.status).toBe(200);
    const got = Buffer.from(await res.arrayBuffer());
    expect(createHash("sha256").update(got).digest("hex")).toBe(sha256);

    // A multipart object's ETag ends in -<parts>; its checksum is a checksum of part checksums.
    const head = await client.send(
      new HeadObjectCommand({ Bucket: "videos", Key: "season-1/Season 1.mp4", ChecksumMode: "ENABLED" }),
    );
    expect(head.ETag).toMatch(/-3"$/);
    expect(head.Metadata?.["reel-sha256"]).toBe(sha256);
  });

  it("keeps a title with ../ inside the prefix", () => {
    expect(target().key("../../other-bucket/x")).toBe("season-1/other-bucket-x");
  });

  it("fails with REEL_STORAGE_FAILED on a missing bucket, then opens the circuit", async () => {
    const path = join(dir, "small.mp4");
    await writeFile(path, "x");
    const t = target({ bucket: "no-such-bucket" });
    for (let i = 0; i < 3; i++) {
      await expect(t.put(path, "a.mp4", { sha256: "0".repeat(64) })).rejects.toMatchObject({
        code: "REEL_STORAGE_FAILED",
      });
    }
    await expect(t.put(path, "a.mp4", { sha256: "0".repeat(64) })).rejects.toMatchObject({ code: "REEL_CIRCUIT_OPEN" });
  });

  it("never leaves the secret key in an error message", async () => {
    const path = join(dir, "small2.mp4");
    await writeFile(path, "x");
    const err = await target({ bucket: "missing-2", secretAccessKey: "wrong-secret-abc" })
      .put(path, "a.mp4", { sha256: "0".repeat(64) })
      .catch((e: Error) => e);
    expect(String((err as Error).message)).not.toContain("wrong-secret-abc");
  });
});
