// The uploads table (migration 0005): a tenant's bytes are reserved against its quota before any
// arrive, an upload is only ever found together with its tenant (another tenant's id is simply not
// there), and rows are marked complete or forgotten. No S3 here: that is tus.ts.
import { ReelError } from "@reel/crds";
import type { Sql } from "postgres";

export interface UploadRow {
  id: string;
  tenant: string;
  objectKey: string;
  length: number;
  filename: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface NewUpload {
  id: string;
  tenant: string;
  objectKey: string;
  length: number;
  filename?: string;
  createdBy: number;
}

export interface Usage {
  usedBytes: number;
  quotaBytes: number;
}

type Row = {
  id: string;
  tenant: string;
  object_key: string;
  length: number;
  filename: string | null;
  created_at: Date;
  completed_at: Date | null;
};

const toUpload = (r: Row): UploadRow => ({
  id: r.id,
  tenant: r.tenant,
  objectKey: r.object_key,
  length: r.length,
  filename: r.filename,
  createdAt: r.created_at.toISOString(),
  completedAt: r.completed_at ? r.completed_at.toISOString() : null,
});

/** The tenant's reserved bytes and its quota (its own, else `defaultQuota`). */
export async function uploadUsage(sql: Sql, tenant: string, defaultQuota: number): Promise<Usage> {
  const [u] = await sql<{ used: number; quota: number }[]>`
    SELECT coalesce((SELECT sum(length) FROM uploads WHERE tenant = t.name), 0)::bigint AS used,
      coalesce(t.upload_quota_bytes, ${defaultQuota}::bigint) AS quota
    FROM tenants t WHERE t.name = ${tenant}`;
  if (!u) throw new ReelError("REEL_TENANT_UNKNOWN", `tenant ${tenant} is not there any more`);
  return { usedBytes: u.used, quotaBytes: u.quota };
}

/**
 * Records the upload with its full length, or throws REEL_UPLOAD_QUOTA_EXCEEDED when that would
 * take the tenant past its quota. One tenant's reservations are serialised by an advisory lock, so
 * two uploads started at once cannot both fit into the last free bytes.
 */
export async function reserveUpload(sql: Sql, u: NewUpload, defaultQuota: number): Promise<Usage> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`reel_upload:${u.tenant}`}))`;
    const usage = await uploadUsage(tx as unknown as Sql, u.tenant, defaultQuota);
    if (usage.usedBytes + u.length > usage.quotaBytes) {
      throw new ReelError(
        "REEL_UPLOAD_QUOTA_EXCEEDED",
        `an upload of ${u.length} bytes would exceed tenant ${u.tenant}'s quota: ${usage.usedBytes} of ${usage.quotaBytes} bytes are in use`,
      );
    }
    await tx`INSERT INTO uploads (id, tenant, object_key, length, filename, created_by)
      VALUES (${u.id}, ${u.tenant}, ${u.objectKey}, ${u.length}, ${u.filename ?? null}, ${u.createdBy})`;
    return { ...usage, usedBytes: usage.usedBytes + u.length };
  });
}

/** The tenant's upload `id`; undefined for an unknown id and for another tenant's. */
export async function findUpload(sql: Sql, tenant: string, id: string): Promise<UploadRow | undefined> {
  const [r] = await sql<Row[]>`SELECT * FROM uploads WHERE id = ${id} AND tenant = ${tenant}`;
  return r ? toUpload(r) : undefined;
}

export async function listUploads(sql: Sql, tenant: string): Promise<UploadRow[]> {
  const rows = await sql<Row[]>`SELECT * FROM uploads WHERE tenant = ${tenant} ORDER BY created_at DESC, id`;
  return rows.map(toUpload);
}

export async function markUploadComplete(sql: Sql, id: string): Promise<void> {
  await sql`UPDATE uploads SET completed_at = now() WHERE id = ${id} AND completed_at IS NULL`;
}

/** Forgets the upload (its bytes leave the quota); false when it was not there. */
export async function forgetUpload(sql: Sql, tenant: string, id: string): Promise<boolean> {
  const r = await sql`DELETE FROM uploads WHERE id = ${id} AND tenant = ${tenant}`;
  return r.count > 0;
}

/** Forgets upload `id` stored under `objectKey` (retention: the job's namespace, not a caller's tenant). */
export async function forgetUploadByKey(sql: Sql, id: string, objectKey: string): Promise<void> {
  await sql`DELETE FROM uploads WHERE id = ${id} AND object_key = ${objectKey}`;
}

/**
 * Uploads the sweep may take: unfinished ones created before `unfinishedBefore`, finished ones
 * finished before `finishedBefore` (either undefined: none of that kind), oldest first.
 */
export async function sweepCandidates(
  sql: Sql,
  o: { unfinishedBefore?: Date | undefined; finishedBefore?: Date | undefined; limit: number },
): Promise<UploadRow[]> {
  const rows = await sql<Row[]>`SELECT * FROM uploads
    WHERE (completed_at IS NULL AND created_at < ${o.unfinishedBefore ?? null}::timestamptz)
      OR (completed_at IS NOT NULL AND completed_at < ${o.finishedBefore ?? null}::timestamptz)
    ORDER BY created_at LIMIT ${o.limit}`;
  return rows.map(toUpload);
}
