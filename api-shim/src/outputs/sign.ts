// Presigned GETs for planned links (link.ts), signed with the job's own S3 keys: the Secret its
// spec.output.s3.credentialsSecret names, in its namespace, as the operator opens the bucket
// (operator/src/reconcile/staging.ts jobBucket). withJobBucket is the one place that reads that
// Secret and opens the client; signing is local, reading (thumbnails.ts) goes to S3.
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { type OutputLink, ReelError } from "@reel/crds";
import type { PresignPlan } from "./link.ts";

/** A Secret's data, decoded; undefined when there is no such Secret. */
export type ReadSecret = (namespace: string, name: string) => Promise<Record<string, string> | undefined>;

/** `attachment` with the key's last segment as the file name (RFC 6266: ASCII fallback and UTF-8). */
export function attachment(key: string): string {
  const name = key.slice(key.lastIndexOf("/") + 1) || "output.mp4";
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Runs `use` with an S3 client holding the job's keys; REEL_OUTPUT_CREDENTIALS_MISSING without them. */
export async function withJobBucket<T>(
  plan: PresignPlan,
  namespace: string,
  readSecret: ReadSecret,
  use: (client: S3Client) => Promise<T>,
): Promise<T> {
  const data = await readSecret(namespace, plan.credentialsSecret);
  const accessKeyId = data?.accessKeyId ?? "";
  const secretAccessKey = data?.secretAccessKey ?? "";
  if (!accessKeyId || !secretAccessKey) {
    throw new ReelError(
      "REEL_OUTPUT_CREDENTIALS_MISSING",
      `Secret ${namespace}/${plan.credentialsSecret} is ${data ? "missing accessKeyId or secretAccessKey" : "not there"}`,
    );
  }
  const client = new S3Client({
    region: plan.region,
    ...(plan.endpoint ? { endpoint: plan.endpoint, forcePathStyle: true } : {}),
    credentials: { accessKeyId, secretAccessKey },
  });
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/**
 * A GET of `key` in the plan's bucket, valid from `now` for the plan's lifetime (the signature's
 * time is `now`, so the link lasts the whole lifetime from this request on). `disposition` false
 * leaves the object's own (a thumbnail sheet is shown, not saved).
 */
export async function signGet(
  client: S3Client,
  plan: PresignPlan,
  key: string,
  now: Date,
  disposition = true,
): Promise<OutputLink> {
  const url = await getSignedUrl(
    client,
    new GetObjectCommand({
      Bucket: plan.bucket,
      Key: key,
      ...(disposition ? { ResponseContentDisposition: attachment(key) } : {}),
    }),
    { expiresIn: plan.expiresInSecs, signingDate: now },
  );
  return { url, expiresAt: new Date(now.getTime() + plan.expiresInSecs * 1000).toISOString() };
}

export async function presignOutput(
  plan: PresignPlan,
  namespace: string,
  readSecret: ReadSecret,
  now = new Date(),
): Promise<OutputLink> {
  return withJobBucket(plan, namespace, readSecret, (client) => signGet(client, plan, plan.key, now));
}
