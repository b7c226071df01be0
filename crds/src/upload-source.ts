// What an uploaded file is called everywhere: its id (the shim's /api/v1/uploads/:id and a job's
// `upload: <id>` episode) and the S3 key the shim writes it under in the installation's upload
// area, `<prefix><namespace>/<id>`. The shim, the operator and the worker all derive the key here.
import { ReelError } from "./errors.ts";

/** 128 random bits as hex: not guessable, and the same tenant prefix is part of the key anyway. */
export const UPLOAD_ID_PATTERN = /^[0-9a-f]{32}$/;

export function isUploadId(id: string): boolean {
  return UPLOAD_ID_PATTERN.test(id);
}

/** The upload area's default prefix in the bucket (chart uploads.prefix). */
export const DEFAULT_UPLOAD_PREFIX = "uploads/";

/** The S3 key of upload `id` of the tenant in `namespace`; REEL_JOB_INVALID for a malformed id. */
export function uploadObjectKey(prefix: string, namespace: string, id: string): string {
  if (!isUploadId(id)) throw new ReelError("REEL_JOB_INVALID", `upload id ${JSON.stringify(id)} is not 32 hex digits`);
  return `${prefix}${namespace}/${id}`;
}

/** The created VideoJob's annotation listing the uploads its episodes read (comma-separated ids). */
export const UPLOADS_ANNOTATION = "reel.dev/uploads";

/** The ids an annotation value lists (malformed entries are skipped: it is only ever written by the shim). */
export function uploadsOf(annotation: string | undefined): string[] {
  return (annotation ?? "").split(",").filter(isUploadId);
}
