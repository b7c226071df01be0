// Deletes a finished job's outputs from S3 for retention: every stored file (the merged file, or one
// per episode with merge off) with the previews beside it, and whatever staging is left. The job's own Secret gives the
// credentials, as for the finalizer's cleanup.
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { type StoredFileStatus, thumbnailSheetLocations, type VideoJob, type VideoJobStatus } from "@reel/crds";
import type { KubeApi } from "../kube/api.ts";
import { stagingLocation } from "../plan/jobs.ts";
import { deletePrefix, jobBucket } from "../reconcile/staging.ts";
import { storedFiles } from "./due.ts";

export interface RemovedOutput {
  /** Objects deleted (a missing object counts as deleted: S3 answers the same). */
  removed: number;
}

/** The seek thumbnails (WebVTT index and sheets) and subtitle WebVTT files stored beside a file: they go with it. */
function previewKeys(
  o: Pick<StoredFileStatus, "thumbnails" | "subtitles">,
  inBucket: (loc: string) => string | undefined,
): string[] {
  const thumbs = o.thumbnails
    ? [o.thumbnails.vtt, ...thumbnailSheetLocations(o.thumbnails.vtt, o.thumbnails.sheets)]
    : [];
  const subtitles = (o.subtitles ?? []).map((s) => s.vtt);
  return [...thumbs, ...subtitles].flatMap((loc) => inBucket(loc) ?? []);
}

/**
 * Every object key stored for the job in `bucket`: each stored file with its previews, and the
 * episodes' posters (episodes[].poster, beside the merged file). A stored file elsewhere is refused.
 */
export function outputKeys(status: VideoJobStatus | undefined, bucket: string): string[] {
  const inBucket = (loc: string) =>
    loc.startsWith(`s3://${bucket}/`) ? loc.slice(`s3://${bucket}/`.length) : undefined;
  const keys = storedFiles(status).flatMap((o) => {
    const key = inBucket(o.location);
    if (!key) throw new Error(`${o.location} is not in the job's bucket ${bucket}`);
    return [key, ...previewKeys(o, inBucket)];
  });
  if (!keys.length) return [];
  const posters = (status?.episodes ?? []).flatMap((e) => (e.poster ? (inBucket(e.poster) ?? []) : []));
  return [...keys, ...posters];
}

export async function removeOutput(api: KubeApi, vj: VideoJob): Promise<RemovedOutput> {
  const open = await jobBucket(api, vj);
  if ("skipped" in open) throw new Error(open.skipped);
  const { client, bucket } = open;
  const inBucket = (loc: string) =>
    loc.startsWith(`s3://${bucket}/`) ? loc.slice(`s3://${bucket}/`.length) : undefined;
  const keys = outputKeys(vj.status, bucket);
  if (!keys.length) throw new Error("the job has no stored output");
  const staging = stagingLocation(vj);
  const stagingKey = typeof staging === "string" ? inBucket(staging) : undefined;
  try {
    let removed = 0;
    // Only the job's own staging prefix is deleted as a prefix; an output is one object each.
    for (const key of keys) {
      if (key === stagingKey) continue;
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      removed++;
    }
    if (stagingKey) removed += await deletePrefix(client, bucket, stagingKey);
    return { removed };
  } finally {
    client.destroy();
  }
}
