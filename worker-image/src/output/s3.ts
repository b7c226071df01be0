// The S3 target: multipart upload with SHA-256 checksums per part (the server verifies each part
// and the whole), then a HEAD to confirm size, then a presigned GET that expires — or, when the
// installation sets a public base URL (a CDN in front of the bucket), `<base>/<key>`. Works with
// AWS, MinIO, SeaweedFS and versitygw (path-style addressing when an endpoint is given).
//
// This is the one place the worker writes to S3 (outputs, staged episodes and their records all go
// through S3Target.put), so the installation's server-side encryption is asked here, on every write,
// and its storage class on every output write (staging opts out: worker/staging.ts).
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import {
  GetObjectCommand,
  HeadObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  type ServerSideEncryption,
  type StorageClass,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { type OutputSettings, parsePublicBaseUrl, parseSse, parseStorageClass, publicUrl, ReelError } from "@reel/crds";
import { config } from "../config.ts";
import { CircuitBreaker } from "../resilience/breaker.ts";
import { storedName } from "./names.ts";
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
  /** SSE, storage class and public base URL; from the environment (REEL_S3_SSE, …) when absent. */
  settings?: OutputSettings;
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

/**
 * The installation's output settings from the environment (REEL_S3_SSE, REEL_S3_SSE_KMS_KEY_ID,
 * REEL_OUTPUT_PUBLIC_BASE_URL, REEL_S3_STORAGE_CLASS): set by the operator on its pods, by hand
 * (or --storage-class) for `reel run`. Throws REEL_CONFIG_INVALID naming the variable.
 */
export function outputSettingsFromEnv(
  env: Pick<
    typeof config,
    "REEL_S3_SSE" | "REEL_S3_SSE_KMS_KEY_ID" | "REEL_OUTPUT_PUBLIC_BASE_URL" | "REEL_S3_STORAGE_CLASS"
  > = config,
): OutputSettings {
  const publicBaseUrl = parsePublicBaseUrl(env.REEL_OUTPUT_PUBLIC_BASE_URL);
  const storageClass = parseStorageClass(env.REEL_S3_STORAGE_CLASS);
  return {
    ...parseSse(env.REEL_S3_SSE, env.REEL_S3_SSE_KMS_KEY_ID),
    ...(publicBaseUrl ? { publicBaseUrl } : {}),
    ...(storageClass ? { storageClass } : {}),
  };
}

/** The SSE request parameters of a write (PutObject and CreateMultipartUpload take the same). */
export function sseParams(s: OutputSettings): { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } {
  if (!s.sse) return {};
  return { ServerSideEncryption: s.sse, ...(s.sse === "aws:kms" && s.kmsKeyId ? { SSEKMSKeyId: s.kmsKeyId } : {}) };
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
  readonly #settings: OutputSettings;

  constructor(o: S3TargetOptions) {
    this.#o = o;
    this.#settings = o.settings ?? outputSettingsFromEnv();
    this.#breaker = o.breaker ?? new CircuitBreaker({ threshold: 3, cooldownMs: 30_000 });
    this.#client = s3Client(o);
  }

  key(name: string): string {
    const prefix = this.#o.prefix && !this.#o.prefix.endsWith("/") ? `${this.#o.prefix}/` : this.#o.prefix;
    return `${prefix}${storedName(name)}`;
  }

  async put(localPath: string, name: string, opts: PutOptions): Promise<StoredObject> {
    const key = this.key(name);
    const { size } = await stat(localPath);
    const where = `s3://${this.#o.bucket}/${key}`;
    await this.#breaker.run(`s3:${this.#o.endpoint ?? "aws"}/${this.#o.bucket}`, async () => {
      const upload = new Upload({
        client: this.#client,
        params: uploadParams(
          { bucket: this.#o.bucket, key, contentType: opts.contentType, sha256: opts.sha256 },
          this.#settings,
          createReadStream(localPath),
        ),
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

  /**
   * The download URL of a stored name (also of an object stored by an earlier attempt): a fresh
   * expiring presigned GET, or `<publicBaseUrl>/<key>` (nothing signed, nothing expires) when the
   * installation sets one.
   */
  async presign(name: string): Promise<{ url: string; urlExpiresAt?: string }> {
    const base = this.#settings.publicBaseUrl;
    if (base) return { url: publicUrl(base, this.key(name)), urlExpiresAt: undefined };
    const expiresIn = Math.min(this.#o.urlExpirySecs, MAX_PRESIGN_SECS);
    const url = await getSignedUrl(
      this.#client,
      new GetObjectCommand({ Bucket: this.#o.bucket, Key: this.key(name) }),
      { expiresIn },
    );
    return { url, urlExpiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() };
  }
}

/**
 * The parameters of one write: lib-storage sends them with PutObject (one part) or with
 * CreateMultipartUpload (UploadPart needs no SSE headers: the upload's own settings apply).
 */
export function uploadParams(
  o: { bucket: string; key: string; contentType?: string; sha256: string },
  settings: OutputSettings,
  body: PutObjectCommandInput["Body"],
): PutObjectCommandInput {
  return {
    Bucket: o.bucket,
    Key: o.key,
    Body: body,
    ContentType: o.contentType ?? "video/mp4",
    ChecksumAlgorithm: "SHA256",
    Metadata: { "reel-sha256": o.sha256 },
    ...sseParams(settings),
    // Like SSE, sent on PutObject / CreateMultipartUpload only; the parts inherit the upload's.
    ...(settings.storageClass ? { StorageClass: settings.storageClass as StorageClass } : {}),
  };
}
