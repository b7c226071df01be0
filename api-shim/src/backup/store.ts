// The backup bucket: a stream written as one multipart upload (parts held in memory one at a
// time, so a dump of any size needs partBytes of memory), listing, deletion and reading back.
// The object exists only once CompleteMultipartUpload succeeds, and that is called only after the
// producer (pg_dump) has exited 0: a dump cut short is aborted, never stored under a backup's name.
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { ReelError } from "@reel/crds";

export interface BackupS3 {
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function backupClient(o: BackupS3): S3Client {
  return new S3Client({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint, forcePathStyle: true } : {}),
    ...(o.accessKeyId ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } } : {}),
    maxAttempts: 5,
  });
}

const failed = (what: string, cause: unknown) =>
  new ReelError("REEL_STORAGE_FAILED", `${what}: ${(cause as Error).name ?? ""} ${(cause as Error).message}`, {
    cause,
  });

/**
 * Uploads `body` to bucket/key in parts of partBytes; `done` (the producer's exit) must resolve
 * before the upload is completed. Returns the bytes stored.
 */
export async function uploadStream(
  s3: S3Client,
  o: { bucket: string; key: string; partBytes: number },
  body: Readable,
  done: Promise<void>,
): Promise<number> {
  const where = `s3://${o.bucket}/${o.key}`;
  const { UploadId } = await s3
    .send(
      new CreateMultipartUploadCommand({
        Bucket: o.bucket,
        Key: o.key,
        ContentType: "application/octet-stream",
      }),
    )
    .catch((e) => Promise.reject(failed(`starting the upload of ${where}`, e)));
  const parts: { PartNumber: number; ETag: string | undefined }[] = [];
  let size = 0;
  try {
    const put = async (chunk: Buffer) => {
      const PartNumber = parts.length + 1;
      const r = await s3.send(
        new UploadPartCommand({ Bucket: o.bucket, Key: o.key, UploadId, PartNumber, Body: chunk }),
      );
      parts.push({ PartNumber, ETag: r.ETag });
      size += chunk.length;
    };
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const b of body as AsyncIterable<Buffer>) {
      pending.push(b);
      pendingBytes += b.length;
      if (pendingBytes >= o.partBytes) {
        await put(Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
      }
    }
    await done;
    // The last part may be short; an empty dump still gets one (empty) part, as S3 needs one.
    if (pendingBytes > 0 || parts.length === 0) await put(Buffer.concat(pending));
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId, MultipartUpload: { Parts: parts } }),
    );
    return size;
  } catch (e) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId })).catch(() => {});
    throw e instanceof ReelError ? e : failed(`uploading ${where}`, e);
  }
}

/** Every key under prefix (one level and below; the caller filters). */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3
      .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
      .catch((e) => Promise.reject(failed(`listing s3://${bucket}/${prefix}`, e)));
    for (const c of r.Contents ?? []) if (c.Key) keys.push(c.Key);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function deleteKey(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3
    .send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
    .catch((e) => Promise.reject(failed(`deleting s3://${bucket}/${key}`, e)));
}

/** The object's bytes as a stream, or REEL_NOT_FOUND. */
export async function readKey(s3: S3Client, bucket: string, key: string): Promise<Readable> {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return r.Body as Readable;
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (err.name === "NoSuchKey" || err.$metadata?.httpStatusCode === 404) {
      throw new ReelError(
        "REEL_NOT_FOUND",
        `s3://${bucket}/${key} does not exist: list the prefix for the backups there`,
      );
    }
    throw failed(`reading s3://${bucket}/${key}`, e);
  }
}
