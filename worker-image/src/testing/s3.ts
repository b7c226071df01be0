// The S3 side of tests that run against a real S3 server (versitygw, from @reel/e2e/services).
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { type S3Server, startS3 } from "@reel/e2e/services";

/** A client for the test's S3 server. Path-style: a loopback endpoint has no per-bucket host names. */
export function s3Client(s3: S3Server): S3Client {
  return new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** Starts an S3 server holding one empty bucket, and a client for it. */
export async function startS3WithBucket(bucket: string): Promise<{ s3: S3Server; client: S3Client }> {
  const s3 = await startS3();
  const client = s3Client(s3);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return { s3, client };
}
