// The S3 side of tests that run against a real S3 server (versitygw, from @reel/e2e/services).
import { createServer, type IncomingHttpHeaders, request } from "node:http";
import type { AddressInfo } from "node:net";
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

/** One request that passed the recording proxy: what the server was asked, headers as sent. */
export interface SeenRequest {
  method: string;
  /** Path and query, path-style (`/bucket/key?…`). */
  path: string;
  headers: IncomingHttpHeaders;
}

export type S3RequestKind = "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" | "other";

/** What kind of S3 request a recorded one is (path-style URLs). */
export function s3RequestKind(r: Pick<SeenRequest, "method" | "path">): S3RequestKind {
  const q = new URL(r.path, "http://x").searchParams;
  if (r.method === "PUT" && q.has("partNumber") && q.has("uploadId")) return "UploadPart";
  if (r.method === "PUT" && !q.has("uploadId")) return "PutObject";
  if (r.method === "POST" && q.has("uploads")) return "CreateMultipartUpload";
  if (r.method === "POST" && q.has("uploadId")) return "CompleteMultipartUpload";
  return "other";
}

export interface RecordingS3 {
  s3: S3Server;
  /** A client straight to the server (not recorded). */
  client: S3Client;
  /** The proxy's endpoint: give it to the code under test. */
  endpoint: string;
  /** Every request the proxy forwarded, in order; tests may empty it (`seen.length = 0`). */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * An S3 server with one empty bucket behind a recording proxy: every request is forwarded unchanged
 * (Host included, so the SigV4 signature still verifies) and recorded with its headers, for tests
 * of what the code sends that the server does not keep (versitygw stores no storage class).
 */
export async function startRecordingS3(bucket: string): Promise<RecordingS3> {
  const { s3, client } = await startS3WithBucket(bucket);
  const upstream = new URL(s3.endpoint);
  const seen: SeenRequest[] = [];
  const proxy = createServer((req, res) => {
    seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", (e) => res.destroy(e));
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  return {
    s3,
    client,
    endpoint,
    seen,
    async close() {
      client.destroy();
      await new Promise((r) => proxy.close(r));
      await s3.stop();
    },
  };
}
