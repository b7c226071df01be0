// S3 sources: an `s3://bucket/key` episode becomes a short-lived presigned GET, which the Rust
// downloader fetches like any direct URL (parallel ranges, byte cap, resume, retries, progress)
// through the egress guard. Signing is local — nothing reaches S3 from here — so the guard alone
// decides whether the endpoint may be reached. Keys come from this process's config only.
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { type ErrorCode, ReelError, type S3SourceRef } from "@reel/crds";
import type { Config } from "../config.ts";

export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

export type S3KeyConfig = Pick<
  Config,
  "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "REEL_SOURCE_AWS_ACCESS_KEY_ID" | "REEL_SOURCE_AWS_SECRET_ACCESS_KEY"
>;

/** The source's keys from the config (the env pair its ref names); REEL_SOURCE_FORBIDDEN naming the variables when unset. */
export function sourceKeys(ref: S3SourceRef, c: S3KeyConfig): S3Keys {
  const [accessKeyId, secretAccessKey] =
    ref.credentialsEnv === "AWS"
      ? [c.AWS_ACCESS_KEY_ID, c.AWS_SECRET_ACCESS_KEY]
      : [c.REEL_SOURCE_AWS_ACCESS_KEY_ID, c.REEL_SOURCE_AWS_SECRET_ACCESS_KEY];
  if (!accessKeyId || !secretAccessKey) {
    const secret = ref.credentialsSecret ? ` (from Secret ${ref.credentialsSecret} in a cluster)` : "";
    throw new ReelError(
      "REEL_SOURCE_FORBIDDEN",
      `s3://${ref.bucket}/${ref.key} needs ${ref.credentialsEnv}_ACCESS_KEY_ID and ${ref.credentialsEnv}_SECRET_ACCESS_KEY${secret}`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/** Long enough for a slow download with retries (at least 5 h left, see signingHour). */
export const SOURCE_URL_SECS = 6 * 3600;

/**
 * The signature's time: the start of the hour. The same object signed twice within an hour gets
 * the same URL, so a run killed mid-download resumes (the downloader's control file is bound to
 * the URL) instead of starting over.
 */
export function signingHour(now = new Date()): Date {
  return new Date(Math.floor(now.getTime() / 3600_000) * 3600_000);
}

/** A presigned GET of the object, path-style when an endpoint is given (as outputs are addressed). */
export async function presignSource(ref: S3SourceRef, keys: S3Keys, now = new Date()): Promise<string> {
  const client = new S3Client({
    region: ref.region ?? "us-east-1",
    ...(ref.endpoint ? { endpoint: ref.endpoint, forcePathStyle: true } : {}),
    credentials: keys,
  });
  try {
    return await getSignedUrl(client, new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }), {
      expiresIn: SOURCE_URL_SECS,
      signingDate: signingHour(now),
    });
  } finally {
    client.destroy();
  }
}

/**
 * The stable name of an S3 source (no signature): what partial downloads, the probe cache and the
 * encode cache key on, since every presigned URL differs.
 */
export function sourceName(ref: S3SourceRef): string {
  return `s3://${ref.bucket}/${ref.key}${ref.endpoint ? ` at ${ref.endpoint}` : ""}`;
}

const NEXT_STEP: Record<string, string> = {
  REEL_EGRESS_DENIED: "open its range with reel run --allow CIDR or the installation's REEL_EGRESS_ALLOW",
  REEL_SOURCE_NOT_FOUND: "check the bucket and key (versitygw also answers an unknown access key with 404)",
  REEL_SOURCE_FORBIDDEN: "check the keys (accessKeyId, secretAccessKey) and that they may read the bucket",
};

/**
 * A failed S3 download's error, naming the object and endpoint and, for a refused endpoint, the
 * allowlist that opens it; the downloader's own words kept (its URLs already lose their query).
 */
export function explainS3Error(err: unknown, ref: S3SourceRef): unknown {
  const code = (err as { code?: string } | null)?.code;
  const step = code ? NEXT_STEP[code] : undefined;
  if (!code || !step) return err;
  return new ReelError(code as ErrorCode, `${sourceName(ref)}: ${(err as Error).message}; ${step}`, { cause: err });
}
