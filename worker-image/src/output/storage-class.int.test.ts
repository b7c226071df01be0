// The outputs' S3 storage class (REEL_S3_STORAGE_CLASS, `reel run --storage-class`) against the
// real S3 server of our tests (versitygw, POSIX backend), with the settings read from the
// environment as a merge pod and `reel run` read them.
//
// What versitygw does with a storage class (found by running it): it accepts x-amz-storage-class
// on PutObject and CreateMultipartUpload — any value, even one AWS does not know — stores nothing
// of it, and answers StorageClass STANDARD on HeadObject and in listings for every object. So the
// class at rest cannot be observed here. What this file proves instead, through a recording proxy
// between the worker's S3 client and versitygw: the header is on every object-creating request of
// an output (one-part and multipart), on none of the parts (AWS takes the class from the
// CreateMultipartUpload), never on staging, and the server accepts the requests under the SigV4
// signature that covers it. The HeadObject check below fails the day versitygw starts recording the
// class — then it can check the class at rest too.
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { parseVideoJob } from "@reel/crds";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RecordingS3, type SeenRequest, s3Client, s3RequestKind, startRecordingS3 } from "../testing/s3.ts";

interface Seen {
  method: string;
  path: string;
  storageClass?: string;
}

let rec: RecordingS3;
let dir: string;
/** Every request the server was asked, with the headers this file checks. */
const seen = (): Seen[] => rec.seen.map(pick);
function pick(r: SeenRequest): Seen {
  return {
    method: r.method,
    path: r.path,
    storageClass: r.headers["x-amz-storage-class"] as string | undefined,
  };
}

const kindOf = (r: Seen) => s3RequestKind(r);
/** [request kind, key, x-amz-storage-class] of every write that reached the server. */
const writes = () =>
  seen()
    .filter((r) => kindOf(r) !== "other")
    .map((r) => [kindOf(r), r.path.split("?")[0], r.storageClass]);

beforeAll(async () => {
  rec = await startRecordingS3("videos");
  dir = await mkdtemp(join(tmpdir(), "reel-storage-class-test-"));
  // The environment the operator gives a merge pod (and a user gives `reel run`), read by the
  // worker's config at import: hence the dynamic imports below.
  Object.assign(process.env, {
    REEL_S3_STORAGE_CLASS: "STANDARD_IA",
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
  const body = Buffer.alloc(bytes, 5);
  body.write(name, 0);
  const path = join(dir, name);
  await writeFile(path, body);
  return { path, sha256: createHash("sha256").update(body).digest("hex"), size: bytes };
}

const conn = () => ({
  endpoint: rec.endpoint,
  accessKeyId: rec.s3.accessKeyId,
  secretAccessKey: rec.s3.secretAccessKey,
});

describe("the outputs' storage class, REEL_S3_STORAGE_CLASS=STANDARD_IA in the environment", () => {
  it("the merge pod's output target asks STANDARD_IA for a one-part output, a poster and a multipart file, never on the parts", async () => {
    const { outputTarget } = await import("../worker/merge.ts");
    const job = parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "season-1" },
      spec: {
        episodes: [{ url: "https://cdn.example.com/1.mp4" }],
        output: { s3: { bucket: "videos", prefix: "season-1/", endpoint: rec.endpoint, credentialsSecret: "s3" } },
      },
    });
    const target = outputTarget({ job } as Parameters<typeof outputTarget>[0], conn());
    const poster = await file("Season 1.jpg", 2048);
    const merged = await file("Season 1.mp4", 17 * 1024 * 1024); // two parts of lib-storage's 16 MiB
    await target.put(poster.path, "Season 1.jpg", { sha256: poster.sha256, contentType: "image/jpeg" });
    await target.put(merged.path, "Season 1.mp4", { sha256: merged.sha256 });

    expect(writes()).toEqual([
      ["PutObject", "/videos/season-1/Season%201.jpg", "STANDARD_IA"],
      ["CreateMultipartUpload", "/videos/season-1/Season%201.mp4", "STANDARD_IA"],
      ["UploadPart", "/videos/season-1/Season%201.mp4", undefined],
      ["UploadPart", "/videos/season-1/Season%201.mp4", undefined],
      ["CompleteMultipartUpload", "/videos/season-1/Season%201.mp4", undefined],
    ]);
    // The server took both under the signature; versitygw records no class (see the header).
    const client = direct();
    const head = await client.send(new HeadObjectCommand({ Bucket: "videos", Key: "season-1/Season 1.mp4" }));
    expect(head.ContentLength).toBe(merged.size);
    expect(head.StorageClass ?? "STANDARD").toBe("STANDARD");
    client.destroy();
  });

  it("staged episodes and their records keep the bucket's default: no storage class on the wire", async () => {
    const { openStaging, putJson } = await import("../worker/staging.ts");
    const staging = openStaging({ kind: "s3", bucket: "videos", prefix: "season-1/.reel-staging/uid-1/" }, conn());
    const ep = await file("ep0.mp4", 4096);
    await staging.put(ep.path, "ep0.mp4", { sha256: ep.sha256 });
    await putJson(staging, dir, "ep0.json", { v: 1, sha256: ep.sha256 });

    expect(writes()).toEqual([
      ["PutObject", "/videos/season-1/.reel-staging/uid-1/ep0.mp4", undefined],
      ["PutObject", "/videos/season-1/.reel-staging/uid-1/ep0.json", undefined],
    ]);
  });

  it("reel run's --storage-class wins over the environment, and --storage-class '' sends none", async () => {
    const { targetFor } = await import("../local.ts");
    const job = parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "run" },
      spec: {
        episodes: [{ url: "https://cdn.example.com/1.mp4" }],
        output: { s3: { bucket: "videos", prefix: "run/", endpoint: rec.endpoint, credentialsSecret: "s3" } },
      },
    });
    const f = await file("run.mp4", 1024);
    await targetFor(job, undefined, "INTELLIGENT_TIERING").put(f.path, "a.mp4", { sha256: f.sha256 });
    await targetFor(job, undefined, "").put(f.path, "b.mp4", { sha256: f.sha256 });
    await targetFor(job).put(f.path, "c.mp4", { sha256: f.sha256 });
    expect(writes()).toEqual([
      ["PutObject", "/videos/run/a.mp4", "INTELLIGENT_TIERING"],
      ["PutObject", "/videos/run/b.mp4", undefined],
      ["PutObject", "/videos/run/c.mp4", "STANDARD_IA"],
    ]);
    expect(() => targetFor(job, undefined, "glacier")).toThrow(/--storage-class is "glacier"/);
  });
});
