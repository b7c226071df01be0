// An episode pod (`reel worker`, through workerMain with the env the operator's Job sets) whose
// episode is an s3:// object read with its own Secret's keys (REEL_SOURCE_AWS_*, operator
// plan/jobs.ts s3KeyRefs), on a real S3 server (versitygw) that also holds the job's staging.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { S3Server } from "@reel/e2e/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { startS3WithBucket } from "../testing/s3.ts";
import { type PodRun, podRunner } from "../testing/worker-pod.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let s3: S3Server;
let client: S3Client;
let clipBytes: number;
type Result = { phase: string; staged?: string; bytesDownloaded?: number; error?: { code: string; message: string } };
let pod: (env: NodeJS.ProcessEnv) => Promise<PodRun<Result>>;

beforeAll(async () => {
  tmp = await makeTempDir("reel-s3-pod-");
  ({ s3, client } = await startS3WithBucket("videos"));
  await client.send(new CreateBucketCommand({ Bucket: "media" }));
  const clip = join(tmp.dir, "ep.mp4");
  await makeTestClip(clip, { seconds: 2 });
  const body = await readFile(clip);
  clipBytes = body.length;
  await client.send(new PutObjectCommand({ Bucket: "media", Key: "shows/ep 1.mp4", Body: body }));
  // The output's keys (AWS_*) write staging; versitygw listens on 127.0.0.1, opened for the source.
  pod = podRunner(tmp.dir, {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    REEL_EGRESS_ALLOW: "127.0.0.1/32",
  });
}, 600_000);

afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  await tmp?.cleanup();
});

const episode = { url: "s3://media/shows/ep 1.mp4", s3: { credentialsSecret: "media-keys" } };

function episodePod(uid: string, env: NodeJS.ProcessEnv) {
  const spec = {
    episodes: [episode],
    quality: "480p",
    compression: { preset: "fast", level: 6 },
    output: { s3: { bucket: "videos", prefix: "out/", endpoint: s3.endpoint, credentialsSecret: "s3-creds" } },
    sources: { s3: { endpoint: s3.endpoint } },
  };
  return pod({
    REEL_MODE: "episode",
    REEL_VIDEOJOB: "media/from-s3",
    REEL_VIDEOJOB_UID: uid,
    REEL_EPISODE_INDEX: "0",
    REEL_EPISODE_URL: episode.url,
    REEL_SPEC: JSON.stringify(spec),
    REEL_STAGING: `s3://videos/out/.reel-staging/${uid}/`,
    ...env,
  });
}

describe("reel worker with an s3:// episode", () => {
  it("downloads it with the source's own keys and stages the encode", async () => {
    const p = await episodePod("uid-s3-1", {
      REEL_SOURCE_AWS_ACCESS_KEY_ID: s3.accessKeyId,
      REEL_SOURCE_AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    expect(p.code, p.raw + p.logs).toBe(0);
    expect(p.result).toMatchObject({ phase: "Completed", staged: "s3://videos/out/.reel-staging/uid-s3-1/ep0.mp4" });
    expect(p.result.bytesDownloaded).toBe(clipBytes);
    const staged = await client.send(
      new HeadObjectCommand({ Bucket: "videos", Key: "out/.reel-staging/uid-s3-1/ep0.mp4" }),
    );
    expect(staged.ContentLength).toBeGreaterThan(1000);
    for (const secret of [s3.secretAccessKey, s3.accessKeyId, "X-Amz-Signature=", "X-Amz-Credential="]) {
      expect(p.logs + p.raw).not.toContain(secret);
    }
  }, 180_000);

  it("fails with REEL_SOURCE_FORBIDDEN naming the variables when the source's Secret is not mounted", async () => {
    const p = await episodePod("uid-s3-2", {});
    expect(p.code).not.toBe(0);
    expect(p.result.error?.code, p.raw).toBe("REEL_SOURCE_FORBIDDEN");
    expect(p.result.error?.message).toContain("REEL_SOURCE_AWS_ACCESS_KEY_ID");
    expect(p.result.error?.message).toContain("Secret media-keys");
  }, 180_000);
});
