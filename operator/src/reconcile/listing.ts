// Reads a VideoJob's playlist listing (crds contract/listing.ts) from its S3 staging, with the
// credentials Secret the job names, as the operator reads nothing else of a job's pods' files.
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { LISTING_FILE, type Listing, parseListing, type VideoJob } from "@reel/crds";
import type { KubeApi } from "../kube/api.ts";
import { jobBucket } from "./staging.ts";

/**
 * The listing the list pod left for `vj` under `staging` (s3://bucket/prefix/), or undefined when
 * there is none yet (or it is torn, or another job's). Any other failure (S3 down, a Secret
 * missing) is thrown: the reconcile is retried, never read as "no listing".
 */
export async function readListing(api: KubeApi, vj: VideoJob, staging: string): Promise<Listing | undefined> {
  const open = await jobBucket(api, vj);
  if ("skipped" in open) throw new Error(`cannot read the playlist listing: ${open.skipped}`);
  try {
    const key = `${staging.slice(`s3://${open.bucket}/`.length)}${LISTING_FILE}`;
    const got = await open.client.send(new GetObjectCommand({ Bucket: open.bucket, Key: key }));
    return parseListing((await got.Body?.transformToString("utf8")) ?? "", vj.metadata.uid ?? "");
  } catch (e) {
    if ((e as { name?: string }).name === "NoSuchKey") return undefined;
    throw e;
  } finally {
    open.client.destroy();
  }
}
