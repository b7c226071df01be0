// Removes a VideoJob's staged episodes when it is deleted (the finalizer's work): the S3 prefix,
// with the credentials Secret the job names. A volume's staging directory is only reachable from
// a pod that mounts it; the merge worker clears it after a merge, and a deleted job's leftovers
// are reported in an Event.
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

export async function cleanupStaging(api: KubeApi, vj: VideoJob, staging: string): Promise<CleanupResult> {
  const s3 = vj.spec.output.s3;
  if (!s3 || !staging.startsWith("s3://")) {
    return { removed: 0, skipped: "staging on a volume is cleared by the merge worker" };
  }
  const secret = await api.find<Secret>("v1", "Secret", vj.metadata.namespace, s3.credentialsSecret);
  const decode = (k: string) => (secret?.data?.[k] ? Buffer.from(secret.data[k], "base64").toString("utf8") : "");
  const accessKeyId = decode("accessKeyId");
  const secretAccessKey = decode("secretAccessKey");
  if (!accessKeyId || !secretAccessKey) {
    return { removed: 0, skipped: `Secret ${s3.credentialsSecret} is missing or lacks accessKeyId/secretAccessKey` };
  }
  const client = new S3Client({
    region: s3.region ?? "us-east-1",
    ...(s3.endpoint ? { endpoint: s3.endpoint, forcePathStyle: true } : {}),
    credentials: { accessKeyId, secretAccessKey },
  });
  const prefix = staging.slice(`s3://${s3.bucket}/`.length);
  let removed = 0;
  try {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key ?? "" })).filter((k) => k.Key);
      if (keys.length) {
        await client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: keys, Quiet: true } }));
        removed += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    client.destroy();
  }
  return { removed };
}
