// Server-side encryption and the public base URL against the real S3 server of our tests
// (versitygw v1.8.0, POSIX backend), with the settings taken from the environment as a worker pod
// and `reel run` take them.
//
// What versitygw does with SSE (found by running it; its posix backend has no SSE code): it accepts
// x-amz-server-side-encryption AES256 and aws:kms (with or without a KMS key id) on PutObject and
// CreateMultipartUpload, refuses neither, stores nothing of it and answers no ServerSideEncryption
// on PutObject or HeadObject. So encryption at rest cannot be observed here. What can be, and what
// this file proves: the requests that reach the server carry the SSE headers — a recording proxy
// sits between the worker's S3 client and versitygw — on every object-creating request of every
// write path (staged episodes and records through worker/staging.ts, outputs through S3Target and
// `reel run`'s targetFor), none on UploadPart (AWS takes SSE from the CreateMultipartUpload), and
// the server accepts them under the SigV4 signature that covers them. Whether AWS or MinIO then
// encrypts, and whether a KMS key exists and may be used, only a real AWS/KMS account can show.
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { parseVideoJob } from "@reel/crds";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RecordingS3, type SeenRequest, s3Client, s3RequestKind, startRecordingS3 } from "../testing/s3.ts";

const KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000";

interface Seen {
  method: string;
  path: string;
  sse?: string;
  kmsKeyId?: string;
}

let rec: RecordingS3;
let dir: string;
/** Every request the server was asked, with the headers this file checks. */
const seen = (): Seen[] => rec.seen.map(pick);
function pick(r: SeenRequest): Seen {
  return {
    method: r.method,
    path: r.path,
    sse: r.headers["x-amz-server-side-encryption"] as string | undefined,
    kmsKeyId: r.headers["x-amz-server-side-encryption-aws-kms-key-id"] as string | undefined,
  };
}

const kindOf = (r: Seen) => s3RequestKind(r);
const writes = () => seen().filter((r) => kindOf(r) === "PutObject" || kindOf(r) === "CreateMultipartUpload");

beforeAll(async () => {
  rec = await startRecordingS3("videos");
  dir = await mkdtemp(join(tmpdir(), "reel-sse-test-"));
  // The environment the operator gives a pod (and a user gives `reel run`), read by the worker's
  // config at import: hence the imports below come after it.
  Object.assign(process.env, {
    REEL_S3_SSE: "aws:kms",
    REEL_S3_SSE_KMS_KEY_ID: KMS_KEY,
    REEL_OUTPUT_PUBLIC_BASE_URL: "https://cdn.example.com/media/",
    AWS_ACCESS_KEY_ID: rec.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rec.s3.secretAccessKey,
  });
}, 600_000);

afterAll(async () => {
  await rec?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  rec.seen.length = 0;
});

const direct = () => s3Client(rec.s3);

async function file(name: string, bytes: number) {
  const body = Buffer.alloc(bytes, 3);
  body.write(name, 0);
  const path = join(dir, name);
  await writeFile(path, body);
  return { path, sha256: createHash("sha256").update(body).digest("hex"), body };
}

describe("S3 writes with REEL_S3_SSE=aws:kms and a KMS key from the environment", () => {
  it("stages an episode and its record with the SSE headers on every write (worker/staging.ts)", async () => {
    const { openStaging, putJson } = await import("../worker/staging.ts");
    const conn = { endpoint: rec.endpoint, accessKeyId: rec.s3.accessKeyId, secretAccessKey: rec.s3.secretAccessKey };
    const staging = openStaging({ kind: "s3", bucket: "videos", prefix: "season-1/.reel-staging/uid-1/" }, conn);
    const ep = await file("ep0.mp4", 2 * 1024 * 1024);
    await staging.put(ep.path, "ep0.mp4", { sha256: ep.sha256 });
    await putJson(staging, dir, "ep0.json", { v: 1, sha256: ep.sha256 });

    expect(writes().map((r) => [kindOf(r), r.path.split("?")[0], r.sse, r.kmsKeyId])).toEqual([
      ["PutObject", "/videos/season-1/.reel-staging/uid-1/ep0.mp4", "aws:kms", KMS_KEY],
      ["PutObject", "/videos/season-1/.reel-staging/uid-1/ep0.json", "aws:kms", KMS_KEY],
    ]);
    // The server took them (the SigV4 signature covers the SSE headers) and serves the bytes.
    expect(await staging.readJson("ep0.json")).toEqual({ v: 1, sha256: ep.sha256 });
  });

  it("uploads a multipart output for `reel run` with SSE on CreateMultipartUpload, none on the parts, and reports <base>/<key>", async () => {
    const { targetFor } = await import("../local.ts");
    const job = parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "season-1" },
      spec: {
        episodes: [{ url: "https://cdn.example.com/1.mp4" }],
        output: { s3: { bucket: "videos", prefix: "season-1/", endpoint: rec.endpoint, credentialsSecret: "s3" } },
      },
    });
    // 17 MiB: two parts of lib-storage's 16 MiB.
    const out = await file("Season 1.mp4", 17 * 1024 * 1024);
    const stored = await targetFor(job).put(out.path, "Season 1.mp4", { sha256: out.sha256 });

    const kinds = seen()
      .map(kindOf)
      .filter((k) => k !== "other");
    expect(kinds).toEqual(["CreateMultipartUpload", "UploadPart", "UploadPart", "CompleteMultipartUpload"]);
    for (const r of seen()) {
      if (kindOf(r) === "CreateMultipartUpload") expect([r.sse, r.kmsKeyId]).toEqual(["aws:kms", KMS_KEY]);
      else expect([kindOf(r), r.sse, r.kmsKeyId]).toEqual([kindOf(r), undefined, undefined]);
    }
    // No presigning with a public base URL: the key's segments percent-encoded, nothing expires.
    expect(stored.url).toBe("https://cdn.example.com/media/season-1/Season%201.mp4");
    expect(stored.urlExpiresAt).toBeUndefined();

    const client = direct();
    const head = await client.send(new HeadObjectCommand({ Bucket: "videos", Key: "season-1/Season 1.mp4" }));
    expect(head.ContentLength).toBe(out.body.length);
    // versitygw keeps no SSE: if this starts failing, the server learned SSE and this file can
    // check encryption at rest too.
    expect(head.ServerSideEncryption).toBeUndefined();
    const got = await client.send(new GetObjectCommand({ Bucket: "videos", Key: "season-1/Season 1.mp4" }));
    const bytes = Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(out.sha256);
    client.destroy();
  });
});

describe("S3 writes with explicit settings", () => {
  it.each([
    ["AES256: x-amz-server-side-encryption AES256 on the wire", { sse: "AES256" as const }, "AES256"],
    ["no SSE (the bucket's default): no SSE header on the wire", {}, undefined],
  ])("%s", async (_, settings, want) => {
    const { S3Target } = await import("./s3.ts");
    const t = new S3Target({
      bucket: "videos",
      prefix: "plain/",
      endpoint: rec.endpoint,
      accessKeyId: rec.s3.accessKeyId,
      secretAccessKey: rec.s3.secretAccessKey,
      urlExpirySecs: 60,
      settings,
    });
    const f = await file("x.mp4", 1024);
    const stored = await t.put(f.path, "x.mp4", { sha256: f.sha256 });
    expect(writes().map((r) => [r.sse, r.kmsKeyId])).toEqual([[want, undefined]]);
    // Without a public base URL, the presigned URL as before.
    expect(stored.url).toMatch(/X-Amz-Signature=/);
    expect(stored.urlExpiresAt).toBeDefined();
  });
});
