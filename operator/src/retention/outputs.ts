// Deletes a finished job's output from S3 for retention: the output object (or, with merge off, the
// staged episodes that are the output), and the staging it was made from. The job's own Secret
// gives the credentials, as for the finalizer's cleanup.
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import type { VideoJob } from "@reel/crds";
import type { KubeApi } from "../kube/api.ts";
import { stagingLocation } from "../plan/jobs.ts";
import { deletePrefix, jobBucket } from "../reconcile/staging.ts";

export interface RemovedOutput {
  /** Objects deleted (a missing object counts as deleted: S3 answers the same). */
  removed: number;
}

export async function removeOutput(api: KubeApi, vj: VideoJob): Promise<RemovedOutput> {
  const location = vj.status?.output?.location ?? "";
  const open = await jobBucket(api, vj);
  if ("skipped" in open) throw new Error(open.skipped);
  const { client, bucket } = open;
  const inBucket = (loc: string) =>
    loc.startsWith(`s3://${bucket}/`) ? loc.slice(`s3://${bucket}/`.length) : undefined;
  const key = inBucket(location);
  if (!key) throw new Error(`${location} is not in the job's bucket ${bucket}`);
  const staging = stagingLocation(vj);
  const stagingKey = typeof staging === "string" ? inBucket(staging) : undefined;
  try {
    let removed = 0;
    // Only the job's own staging prefix is deleted as a prefix; any other location is one object.
    if (key !== stagingKey) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      removed++;
    }
    if (stagingKey) removed += await deletePrefix(client, bucket, stagingKey);
    return { removed };
  } finally {
    client.destroy();
  }
}
