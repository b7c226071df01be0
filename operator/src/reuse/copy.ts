// Copies a finished staged episode of one VideoJob into another's staging, inside one bucket: the
// encoded file by a server-side copy, then its record rewritten for the new job (written last, as
// the worker does: the merge pod trusts nothing without it). Each job then owns its own copy, so
// deleting or expiring the first job never takes the second one's episode with it.
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type EpisodeRecord, type EpisodeStatus, type OutputSettings, staged } from "@reel/crds";

export interface CopyFrom {
  staging: string;
  index: number;
}

export interface CopyTo {
  staging: string;
  index: number;
  /** namespace/name and uid of the VideoJob the copy belongs to. */
  videojob: string;
  uid: string;
}

const keyIn = (bucket: string, staging: string, file: string) => {
  const prefix = `s3://${bucket}/`;
  if (!staging.startsWith(prefix)) throw new Error(`${staging} is not in bucket ${bucket}`);
  return `${staging.slice(prefix.length)}${file}`;
};

async function readRecord(client: S3Client, bucket: string, key: string): Promise<EpisodeRecord | undefined> {
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await r.Body?.transformToString("utf8")) ?? "";
    return JSON.parse(text) as EpisodeRecord;
  } catch {
    return undefined; // gone (staging cleared, job deleted) or unreadable: nothing to reuse
  }
}

/**
 * Copies `from` into `to` when its record says Completed and was made from a source with exactly
 * `validator`; answers the copied episode's status (as the record has it), else undefined.
 */
export async function copyStagedEpisode(
  client: S3Client,
  bucket: string,
  from: CopyFrom,
  to: CopyTo,
  validator: string,
  sse: Pick<OutputSettings, "sse" | "kmsKeyId"> = {},
): Promise<EpisodeStatus | undefined> {
  // The installation's SSE on every object written, as the worker pods do.
  const encryption = {
    ...(sse.sse ? { ServerSideEncryption: sse.sse } : {}),
    ...(sse.sse === "aws:kms" && sse.kmsKeyId ? { SSEKMSKeyId: sse.kmsKeyId } : {}),
  };
  const record = await readRecord(client, bucket, keyIn(bucket, from.staging, staged.episodeRecord(from.index)));
  if (record?.status?.phase !== "Completed" || !record.sha256) return undefined;
  if (!record.sourceValidator || record.sourceValidator !== validator) return undefined;
  const source = keyIn(bucket, from.staging, staged.episode(from.index));
  await client.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: keyIn(bucket, to.staging, staged.episode(to.index)),
      CopySource: `${bucket}/${source.split("/").map(encodeURIComponent).join("/")}`,
      ...encryption,
    }),
  );
  const copied: EpisodeRecord = {
    ...record,
    videojob: to.videojob,
    uid: to.uid,
    index: to.index,
    status: { ...record.status, index: to.index },
  };
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: keyIn(bucket, to.staging, staged.episodeRecord(to.index)),
      Body: JSON.stringify(copied),
      ContentType: "application/json",
      ...encryption,
    }),
  );
  return record.status;
}
