// Which link answers GET /api/v1/jobs/:id/outputs/:n/download, decided from the job alone: the
// installation's public URL of the file, or what to presign (bucket, key, lifetime, the Secret with
// the keys). Pure; sign.ts reads the Secret and signs.
import { type Job, parseRetention, publicUrl, ReelError, storedFiles } from "@reel/crds";

/** S3's longest presigned lifetime (SigV4): 7 days. */
export const MAX_PRESIGN_SECS = 7 * 24 * 3600;
const DEFAULT_EXPIRY_SECS = 24 * 3600;

export interface PresignPlan {
  kind: "presign";
  bucket: string;
  key: string;
  expiresInSecs: number;
  region: string;
  endpoint?: string;
  /** The Secret (in the job's namespace) holding accessKeyId and secretAccessKey. */
  credentialsSecret: string;
}

export type LinkPlan = { kind: "public"; url: string } | PresignPlan;

/** `s3://bucket/key` as its parts; undefined for any other location. */
export function parseS3Location(location: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return m ? { bucket: m[1] as string, key: m[2] as string } : undefined;
}

/** spec.output.s3.urlExpiry in seconds (24h when absent or unreadable), never past S3's 7 days. */
export function linkLifetimeSecs(urlExpiry: string | undefined): number {
  let secs: number | undefined;
  try {
    secs = parseRetention("spec.output.s3.urlExpiry", urlExpiry ?? "");
  } catch {
    // A spec from history written before the schema checked it: the default.
  }
  return Math.min(secs ?? DEFAULT_EXPIRY_SECS, MAX_PRESIGN_SECS);
}

/**
 * The link of output `n` of `job` (its status.outputs, or status.output alone for a status without
 * them). Throws REEL_NOT_FOUND (no such output), REEL_OUTPUT_EXPIRED (deleted by retention),
 * REEL_OUTPUT_ON_VOLUME (not in S3) or REEL_OUTPUT_CREDENTIALS_MISSING (no S3 output in the spec).
 */
export function planOutputLink(job: Job, n: number, o: { publicBaseUrl?: string | undefined }): LinkPlan {
  const files = storedFiles(job.status);
  const file = Number.isSafeInteger(n) && n >= 0 ? files[n] : undefined;
  if (!file) {
    throw new ReelError(
      "REEL_NOT_FOUND",
      files.length
        ? `job ${job.id} has no output ${n}: its outputs are 0 to ${files.length - 1}`
        : `job ${job.id} has no stored output yet`,
    );
  }
  if (file.expiredAt) {
    throw new ReelError("REEL_OUTPUT_EXPIRED", `output ${n} of job ${job.id} was deleted at ${file.expiredAt}`);
  }
  const where = parseS3Location(file.location);
  if (!where) {
    throw new ReelError("REEL_OUTPUT_ON_VOLUME", `output ${n} of job ${job.id} is at ${file.location}, not in S3`);
  }
  if (o.publicBaseUrl) return { kind: "public", url: publicUrl(o.publicBaseUrl, where.key) };
  const s3 = job.spec.output?.s3;
  if (!s3) {
    throw new ReelError(
      "REEL_OUTPUT_CREDENTIALS_MISSING",
      `output ${n} of job ${job.id} is in S3 but the job's spec names no spec.output.s3.credentialsSecret`,
    );
  }
  return {
    kind: "presign",
    ...where,
    expiresInSecs: linkLifetimeSecs(s3.urlExpiry),
    region: s3.region ?? "us-east-1",
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    credentialsSecret: s3.credentialsSecret,
  };
}
