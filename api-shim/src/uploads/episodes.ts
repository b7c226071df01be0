// `upload: <id>` episodes of a job being created: each is checked against the caller's own tenant
// (there and complete) and written into the VideoJob as the s3:// episode of the object the shim
// stored, with the upload area's endpoint and the tenant's upload Secret — so the operator and the
// worker read it exactly as any other S3 source (crds s3-source.ts, worker fetch/s3.ts). The ids
// go on the VideoJob (UPLOADS_ANNOTATION) so the uploads are removed with it (retention.ts).
import { isUploadId, ReelError, UPLOADS_ANNOTATION, uploadObjectKey } from "@reel/crds";
import { RequestError } from "../api/errors.ts";
import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config.ts";
import type { ShimDeps } from "../deps.ts";
import { findUpload, type UploadRow } from "./store.ts";

/** Where uploads are, as a worker reads them. */
export interface UploadArea {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
  /** The Secret in the tenant's namespace holding the keys (REEL_UPLOAD_SOURCE_SECRET). */
  credentialsSecret: string;
}

type RawEpisode = Record<string, unknown> & { upload?: unknown };

/** The indexes and ids of a request body's upload episodes; REEL_JOB_INVALID for a malformed one. */
export function uploadEpisodes(body: unknown): { index: number; id: string }[] {
  const episodes = (body as { spec?: { episodes?: unknown } } | undefined)?.spec?.episodes;
  if (!Array.isArray(episodes)) return [];
  const found: { index: number; id: string }[] = [];
  episodes.forEach((e: RawEpisode, index) => {
    if (!e || typeof e !== "object" || !("upload" in e)) return;
    const path = `spec.episodes.${index}`;
    if (typeof e.upload !== "string" || !isUploadId(e.upload))
      throw new RequestError("REEL_JOB_INVALID", `${path}.upload is not an upload id`, [
        { path: `${path}.upload`, message: "must be the 32-hex id POST /api/v1/uploads gave" },
      ]);
    if ("url" in e || "s3" in e)
      throw new RequestError("REEL_JOB_INVALID", `${path} names an upload and a url; give one`, [
        { path, message: "either upload or url (with s3), not both" },
      ]);
    found.push({ index, id: e.upload });
  });
  return found;
}

/** The episode as the VideoJob carries it: the stored object, titled by the file's name unless given. */
export function uploadedEpisode(
  episode: RawEpisode,
  row: Pick<UploadRow, "id" | "filename">,
  namespace: string,
  area: UploadArea,
): Record<string, unknown> {
  const { upload: _, ...rest } = episode;
  const stem = row.filename?.replace(/\.[^.]{1,5}$/, "").slice(0, 200);
  return {
    ...rest,
    url: `s3://${area.bucket}/${uploadObjectKey(area.prefix, namespace, row.id)}`,
    ...(rest.title === undefined && stem ? { title: stem } : {}),
    s3: {
      ...(area.endpoint ? { endpoint: area.endpoint } : {}),
      region: area.region,
      credentialsSecret: area.credentialsSecret,
    },
  };
}

/**
 * Rewrites the body's upload episodes in place (before the body is parsed as a job) and returns
 * the ids. `find` looks an id up in the caller's tenant: an unknown or another tenant's id is
 * REEL_JOB_INVALID naming the episode, an unfinished one REEL_UPLOAD_INCOMPLETE.
 */
export async function resolveUploadEpisodes(
  body: unknown,
  namespace: string,
  area: UploadArea | undefined,
  find: (id: string) => Promise<Pick<UploadRow, "id" | "filename" | "completedAt" | "length"> | undefined>,
): Promise<string[]> {
  const wanted = uploadEpisodes(body);
  if (!wanted.length) return [];
  if (!area)
    throw new RequestError("REEL_JOB_INVALID", "this installation takes no uploads (no upload bucket is configured)");
  const episodes = (body as { spec: { episodes: RawEpisode[] } }).spec.episodes;
  for (const { index, id } of wanted) {
    const row = await find(id);
    const path = `spec.episodes.${index}.upload`;
    if (!row)
      throw new RequestError("REEL_JOB_INVALID", `${path}: no upload ${id} in your tenant`, [
        { path, message: "no such upload in your tenant" },
      ]);
    if (!row.completedAt)
      throw new ReelError(
        "REEL_UPLOAD_INCOMPLETE",
        `${path}: upload ${id} has not received all its ${row.length} bytes`,
      );
    episodes[index] = uploadedEpisode(episodes[index] as RawEpisode, row, namespace, area);
  }
  return [...new Set(wanted.map((w) => w.id))];
}

/** The installation's upload area, or undefined where uploads are off. */
export function uploadArea(c: Config): UploadArea | undefined {
  if (!c.REEL_UPLOAD_S3_BUCKET) return undefined;
  return {
    bucket: c.REEL_UPLOAD_S3_BUCKET,
    prefix: c.REEL_UPLOAD_S3_PREFIX,
    ...(c.REEL_UPLOAD_S3_ENDPOINT ? { endpoint: c.REEL_UPLOAD_S3_ENDPOINT } : {}),
    region: c.REEL_UPLOAD_S3_REGION,
    credentialsSecret: c.REEL_UPLOAD_SOURCE_SECRET,
  };
}

/** The jobs route's hook: resolves the body's uploads in the caller's tenant; the ids used. */
export function jobUploads(deps: ShimDeps, p: Principal, namespace: string, body: unknown): Promise<string[]> {
  return resolveUploadEpisodes(body, namespace, uploadArea(deps.config), (id) =>
    p.tenant ? findUpload(deps.db.db, p.tenant, id) : Promise.resolve(undefined),
  );
}

/** Names the uploads on the VideoJob about to be created (retention.ts removes them with it). */
export function annotateUploads(obj: { metadata: { annotations?: Record<string, string> } }, ids: string[]): void {
  if (ids.length) obj.metadata.annotations = { ...obj.metadata.annotations, [UPLOADS_ANNOTATION]: ids.join(",") };
}
