// The tus 1.0 server behind /api/v1/uploads: @tus/server over @tus/s3-store, which writes each
// upload as an S3 multipart upload into the installation's upload area. The tus id is the S3 key
// `<prefix><namespace>/<id>`, built from what the route checked (the caller's tenant and the id it
// reserved or found), never from the URL alone: a request reaches only its own tenant's keys.
import type { IncomingMessage, ServerResponse } from "node:http";
import { DeleteObjectsCommand, S3Client } from "@aws-sdk/client-s3";
import { ReelError, uploadObjectKey } from "@reel/crds";
import { S3Store } from "@tus/s3-store";
import { Server } from "@tus/server";

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
  /** Called once an upload's last byte is stored, before the client's PATCH is answered. */
  onComplete: (id: string) => Promise<void>;
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
  close(): void;
}

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
  const store = new S3Store({ partSize: o.partBytes, s3ClientConfig: { bucket: o.bucket, ...s3Config } });
  const client = new S3Client(s3Config);
  const server = new Server({
    path: o.path,
    datastore: store,
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
    async remove(target) {
      const k = key(target);
      await client.send(
        new DeleteObjectsCommand({
          Bucket: o.bucket,
          Delete: { Objects: [{ Key: k }, { Key: `${k}.info` }, { Key: `${k}.part` }], Quiet: true },
        }),
      );
    },
    close: () => client.destroy(),
    async handle(req, res, target) {
      targets.set(req, target);
      await server.handle(req, res);
    },
  };
}
