// The tus 1.0 server behind /api/v1/uploads: @tus/server over @tus/s3-store, which writes each
// upload as an S3 multipart upload into the installation's upload area. The tus id is the S3 key
// `<prefix><namespace>/<id>`, built from what the route checked (the caller's tenant and the id it
// reserved or found), never from the URL alone: a request reaches only its own tenant's keys.
//
// Every shim replica may serve any request of one upload, so nothing of an upload lives in one
// replica's memory: its state is S3's (the .info object, the multipart upload's parts, the .part
// object of a short tail), read again on every request, and its write lock is a Redis lease.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { ReelError, uploadObjectKey } from "@reel/crds";
import { type MetadataValue, S3Store } from "@tus/s3-store";
import { type KvStore, Server } from "@tus/server";
import type { Redis } from "ioredis";
import type { Config } from "../config.ts";
import { redisLocker } from "./lock.ts";

/** What the route decided for one request: whose upload, under which id. */
export interface UploadTarget {
  namespace: string;
  id: string;
}

export interface TusOptions {
  /** The route prefix the Location header is built from (/api/v1/uploads). */
  path: string;
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  partBytes: number;
  /** The largest Upload-Length accepted; 0: no limit here (the quota still applies). */
  maxBytes: number;
  /** tus expiration: an upload is refused (410) and its Upload-Expires passed this long after creation. */
  expiryMs?: number;
  /** The replicas' shared Redis, where each upload's write lock is a lease of `lockLeaseMs`. */
  redis: Redis;
  lockLeaseMs: number;
  /** Called once an upload's last byte is stored, before the client's PATCH is answered. */
  onComplete: (id: string) => Promise<void>;
}

/** The options the shim's settings give (routes.ts; tests that build a second TusUploads). */
export function tusOptionsOf(config: Config, redis: Redis, onComplete: (id: string) => Promise<void>): TusOptions {
  return {
    path: "/api/v1/uploads",
    bucket: config.REEL_UPLOAD_S3_BUCKET,
    prefix: config.REEL_UPLOAD_S3_PREFIX,
    ...(config.REEL_UPLOAD_S3_ENDPOINT ? { endpoint: config.REEL_UPLOAD_S3_ENDPOINT } : {}),
    region: config.REEL_UPLOAD_S3_REGION,
    accessKeyId: config.REEL_UPLOAD_S3_ACCESS_KEY_ID,
    secretAccessKey: config.REEL_UPLOAD_S3_SECRET_ACCESS_KEY,
    partBytes: config.REEL_UPLOAD_PART_BYTES,
    maxBytes: config.REEL_UPLOAD_MAX_BYTES,
    ...(config.REEL_UPLOAD_EXPIRY ? { expiryMs: config.REEL_UPLOAD_EXPIRY } : {}),
    redis,
    lockLeaseMs: config.REEL_UPLOAD_LOCK_LEASE_MS,
    onComplete,
  };
}

export interface TusUploads {
  /** Hands the request to tus for `target`; resolves once the answer is sent. */
  handle(req: IncomingMessage, res: ServerResponse, target: UploadTarget): Promise<void>;
  /** The key of an upload, as tus stores it. */
  key(target: UploadTarget): string;
  /**
   * Deletes what the upload left in S3 (the file, tus's .info and .part objects). tus cannot
   * terminate a finished upload on S3 (aborting a completed multipart upload is NoSuchUpload).
   */
  remove(target: UploadTarget): Promise<void>;
  /**
   * Aborts the S3 multipart upload under `key` (its parts go), then deletes every object of it.
   * Works without the .info object (an upload whose creation failed half way).
   */
  abortKey(key: string): Promise<void>;
  /** The Redis key of the upload's write lock (sweep.ts takes it before touching an upload). */
  lockKey(key: string): string;
  close(): void;
}

const LOCK_PREFIX = "reel:upload-lock:";

/** A KvStore that keeps nothing: every request reads the upload's .info from S3. */
const noCache: KvStore<MetadataValue> = {
  get: async () => undefined,
  set: async () => {},
  delete: async () => {},
};

type NodeCarrier = { runtime?: { node?: { req?: IncomingMessage } } };

export function createTusUploads(o: TusOptions): TusUploads {
  // tus hands its hooks a web Request; srvx keeps the Node request it wraps on runtime.node.req.
  const targets = new WeakMap<IncomingMessage, UploadTarget>();
  const targetOf = (req: unknown): UploadTarget => {
    const raw = (req as NodeCarrier).runtime?.node?.req;
    const t = raw && targets.get(raw);
    // Only requests the route bound get here; anything else is a wiring mistake, not a client's.
    if (!t) throw new ReelError("REEL_INTERNAL", "tus request without an upload target");
    return t;
  };
  const key = (t: UploadTarget) => uploadObjectKey(o.prefix, t.namespace, t.id);
  const s3Config = {
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint, forcePathStyle: true } : {}),
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
  };
  const store = new S3Store({
    partSize: o.partBytes,
    s3ClientConfig: { bucket: o.bucket, ...s3Config },
    // A replica's cached .info would outlive a sweep or a DELETE served by another replica.
    cache: noCache,
    ...(o.expiryMs ? { expirationPeriodInMilliseconds: o.expiryMs } : {}),
    // Expired uploads are the sweep's (sweep.ts), not a bucket lifecycle rule's: no object tags.
    useTags: false,
  });
  const client = new S3Client(s3Config);
  const deleteObjects = async (k: string) => {
    await client.send(
      new DeleteObjectsCommand({
        Bucket: o.bucket,
        Delete: { Objects: [{ Key: k }, { Key: `${k}.info` }, { Key: `${k}.part` }], Quiet: true },
      }),
    );
  };
  // A HEAD waits a moment for a write to end, to answer the offset it leaves; a second PATCH or
  // DELETE is refused at once (tus: 423), so two never write one upload.
  const reading = redisLocker(o.redis, o.lockLeaseMs, { waitMs: 5_000, prefix: LOCK_PREFIX });
  const writing = redisLocker(o.redis, o.lockLeaseMs, { prefix: LOCK_PREFIX });
  const server = new Server({
    path: o.path,
    datastore: store,
    maxSize: o.maxBytes,
    locker: (req) => (req.method === "HEAD" ? reading : writing),
    namingFunction: (req) => key(targetOf(req)),
    getFileIdFromRequest: (req) => key(targetOf(req)),
    // The client sees its id only; the tenant part of the key stays the shim's business.
    generateUrl: (_req, { path }) => `${path}/${targetOf(_req).id}`,
    onUploadFinish: async (req) => {
      await o.onComplete(targetOf(req).id);
      return {};
    },
  });
  return {
    key,
    remove: (target) => deleteObjects(key(target)),
    async abortKey(k) {
      const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: o.bucket, Prefix: k }));
      for (const u of listed.Uploads ?? []) {
        if (u.Key !== k) continue;
        await client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: k, UploadId: u.UploadId }));
      }
      await deleteObjects(k);
    },
    lockKey: (k) => `${LOCK_PREFIX}${k}`,
    close: () => client.destroy(),
    async handle(req, res, target) {
      targets.set(req, target);
      await server.handle(req, res);
    },
  };
}
