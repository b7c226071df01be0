// The S3 target: multipart upload with SHA-256 checksums per part (the server verifies each part
// and the whole), then a HEAD to confirm size, then a presigned GET that expires. Works with AWS,
// MinIO, SeaweedFS and versitygw (path-style addressing when an endpoint is given).
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ReelError } from "@reel/crds";
import { CircuitBreaker } from "../resilience/breaker.ts";
import { safeName } from "./names.ts";
import type { OutputTarget, PutOptions, StoredObject } from "./target.ts";

export interface S3TargetOptions {
  bucket: string;
  prefix: string;
  region?: string;
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Presigned URL lifetime in seconds (S3 allows at most 7 days). */
  urlExpirySecs: number;
  partSize?: number;
  queueSize?: number;
  breaker?: CircuitBreaker;
}

const MAX_PRESIGN_SECS = 7 * 24 * 3600;

/** "24h", "30m", "7d", "1h30m" in seconds. */
export function parseDuration(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) {
    total += Number(n) * { s: 1, m: 60, h: 3600, d: 86400 }[unit as "s" | "m" | "h" | "d"];
  }
  if (!total) throw new ReelError("REEL_JOB_INVALID", `bad duration ${JSON.stringify(text)}: use e.g. 30m, 24h, 7d`);
  return total;
}

export interface S3Connection {
  region?: string;
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** One client setup for outputs and staging: path-style when an endpoint is given, checksums on. */
export function s3Client(o: S3Connection): S3Client {
  return new S3Client({
    region: o.region ?? "us-east-1",
    ...(o.endpoint ? { endpoint: o.endpoint, forcePathStyle: true } : {}),
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
    requestChecksumCalculation: "WHEN_SUPPORTED",
    maxAttempts: 5,
  });
}

export class S3Target implements OutputTarget {
  readonly #o: S3TargetOptions;
  readonly #client: S3Client;
  readonly #breaker: CircuitBreaker;

  constructor(o: S3TargetOptions) {
    this.#o = o;
    this.#breaker = o.breaker ?? new CircuitBreaker({ threshold: 3, cooldownMs: 30_000 });
    this.#client = s3Client(o);
  }

  key(name: string): string {
    const prefix = this.#o.prefix && !this.#o.prefix.endsWith("/") ? `${this.#o.prefix}/` : this.#o.prefix;
    return `${prefix}${safeName(name)}`;
  }

  async put(localPath: string, name: string, opts: PutOptions): Promise<StoredObject> {
    const key = this.key(name);
    const { size } = await stat(localPath);
    const where = `s3://${this.#o.bucket}/${key}`;
    await this.#breaker.run(`s3:${this.#o.endpoint ?? "aws"}/${this.#o.bucket}`, async () => {
      const upload = new Upload({
        client: this.#client,
        params: {
          Bucket: this.#o.bucket,
          Key: key,
          Body: createReadStream(localPath),
          ContentType: opts.contentType ?? "video/mp4",
          ChecksumAlgorithm: "SHA256",
          Metadata: { "reel-sha256": opts.sha256 },
        },
        partSize: this.#o.partSize ?? 16 * 1024 * 1024,
        queueSize: this.#o.queueSize ?? 4,
        leavePartsOnError: false,
      });
      upload.on("httpUploadProgress", (p) => opts.onProgress?.(p.loaded ?? 0, size));
      const abort = () => void upload.abort();
      opts.signal?.addEventListener("abort", abort, { once: true });
      try {
        await upload.done();
      } catch (cause) {
        if (opts.signal?.aborted) throw new ReelError("REEL_CANCELLED", `upload to ${where} cancelled`, { cause });
        throw new ReelError("REEL_STORAGE_FAILED", `upload to ${where} failed: ${(cause as Error).message}`, {
          cause,
        });
      } finally {
        opts.signal?.removeEventListener("abort", abort);
      }
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#o.bucket, Key: key }));
      if (head.ContentLength !== size) {
        throw new ReelError(
          "REEL_STORAGE_FAILED",
          `${where} has ${head.ContentLength} bytes after upload, expected ${size}`,
        );
      }
    });
    return { location: where, ...(await this.presign(name)), sizeBytes: size, checksum: `sha256:${opts.sha256}` };
  }

  /** A fresh expiring GET URL for a stored name (also for an object stored by an earlier attempt). */
  async presign(name: string): Promise<{ url: string; urlExpiresAt: string }> {
    const expiresIn = Math.min(this.#o.urlExpirySecs, MAX_PRESIGN_SECS);
    const url = await getSignedUrl(
      this.#client,
      new GetObjectCommand({ Bucket: this.#o.bucket, Key: this.key(name) }),
      { expiresIn },
    );
    return { url, urlExpiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() };
  }
}
