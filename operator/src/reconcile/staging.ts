// The job's bucket, opened with the credentials Secret the job names, and what the operator deletes
// there: a deleted VideoJob's staged episodes (the finalizer's work) and, for retention, its outputs
// (retention/outputs.ts). A volume's staging directory is only reachable from a pod that mounts
// it; the merge worker clears it after a merge, and a deleted job's leftovers are reported in an Event.
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { VideoJob } from "@reel/crds";
import type { KubeApi, KubeObject } from "../kube/api.ts";

export interface CleanupResult {
  removed: number;
  /** Why nothing could be removed, when so. */
  skipped?: string;
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/**
 * An S3 client for the job's output bucket, with the credentials of the Secret the job names (the
 * operator holds none of its own), or why there is none. The caller destroys the client.
 */
export async function jobBucket(
  api: KubeApi,
  vj: VideoJob,
): Promise<{ client: S3Client; bucket: string } | { skipped: string }> {
  const s3 = vj.spec.output.s3;
  if (!s3) return { skipped: "the output is not on S3" };
  const client = await s3ClientFor(api, vj.metadata.namespace, { ...s3, secret: s3.credentialsSecret });
  return "skipped" in client ? client : { client, bucket: s3.bucket };
}

/**
 * An S3 client with the keys of a Secret in `namespace` (accessKeyId, secretAccessKey), or why there
 * is none. The caller destroys the client.
 */
export async function s3ClientFor(
  api: KubeApi,
  namespace: string | undefined,
  at: { secret: string; endpoint?: string | undefined; region?: string | undefined },
): Promise<S3Client | { skipped: string }> {
  const secret = await api.find<Secret>("v1", "Secret", namespace, at.secret);
  const decode = (k: string) => (secret?.data?.[k] ? Buffer.from(secret.data[k], "base64").toString("utf8") : "");
  const accessKeyId = decode("accessKeyId");
  const secretAccessKey = decode("secretAccessKey");
  if (!accessKeyId || !secretAccessKey) {
    return { skipped: `Secret ${at.secret} is missing or lacks accessKeyId/secretAccessKey` };
  }
  return new S3Client({
    region: at.region ?? "us-east-1",
    ...(at.endpoint ? { endpoint: at.endpoint, forcePathStyle: true } : {}),
    credentials: { accessKeyId, secretAccessKey },
  });
}

/** Deletes every object under `prefix` (a non-empty prefix: never a whole bucket); answers how many. */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<number> {
  if (!prefix) throw new Error(`refusing to delete everything in bucket ${bucket}`);
  let removed = 0;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key ?? "" })).filter((k) => k.Key);
    if (keys.length) {
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      removed += keys.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return removed;
}

export async function cleanupStaging(api: KubeApi, vj: VideoJob, staging: string): Promise<CleanupResult> {
  if (!vj.spec.output.s3 || !staging.startsWith("s3://")) {
    return { removed: 0, skipped: "staging on a volume is cleared by the merge worker" };
  }
  const open = await jobBucket(api, vj);
  if ("skipped" in open) return { removed: 0, skipped: open.skipped };
  try {
    return { removed: await deletePrefix(open.client, open.bucket, staging.slice(`s3://${open.bucket}/`.length)) };
  } finally {
    open.client.destroy();
  }
}
