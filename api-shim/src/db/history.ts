// Finished jobs, kept after their VideoJobs are gone so listings survive garbage collection.
import type { Sql } from "postgres";

export interface HistoryRow {
  namespace: string;
  name: string;
  uid: string | null;
  createdAt: Date;
  finishedAt: Date | null;
  deletedAt: Date | null;
  phase: string | null;
  tags: string[];
  traceId: string | null;
  createdBy: string | null;
  spec: Record<string, unknown>;
  status: Record<string, unknown> | null;
}

const cols = (sql: Sql) => sql`namespace, name, uid, created_at AS "createdAt", finished_at AS "finishedAt",
  deleted_at AS "deletedAt", phase, tags, trace_id AS "traceId", created_by AS "createdBy", spec, status`;

export async function upsertHistory(sql: Sql, h: Omit<HistoryRow, "deletedAt"> & { deleted: boolean }): Promise<void> {
  await sql`INSERT INTO job_history (namespace, name, uid, created_at, finished_at, deleted_at, phase, tags, trace_id,
      created_by, spec, status)
    VALUES (${h.namespace}, ${h.name}, ${h.uid}, ${h.createdAt}, ${h.finishedAt}, ${h.deleted ? sql`now()` : null},
      ${h.phase}, ${h.tags}, ${h.traceId}, ${h.createdBy}, ${sql.json(h.spec as never)},
      ${h.status ? sql.json(h.status as never) : null})
    ON CONFLICT (namespace, name) DO UPDATE SET uid = excluded.uid, created_at = excluded.created_at,
      finished_at = coalesce(excluded.finished_at, job_history.finished_at),
      deleted_at = coalesce(excluded.deleted_at, CASE WHEN job_history.uid = excluded.uid THEN job_history.deleted_at END),
      phase = excluded.phase, tags = excluded.tags, trace_id = excluded.trace_id, created_by = excluded.created_by,
      spec = excluded.spec, status = excluded.status`;
}

export async function getHistory(sql: Sql, namespace: string, name: string): Promise<HistoryRow | undefined> {
  const [row] = await sql<HistoryRow[]>`SELECT ${cols(sql)} FROM job_history
    WHERE namespace = ${namespace} AND name = ${name}`;
  return row;
}

/** A page in (created_at DESC, name DESC) order, after `after` when given. */
export async function listHistory(
  sql: Sql,
  q: { namespace: string; phase?: string; tag?: string; after?: { createdAt: Date; name: string }; limit: number },
): Promise<HistoryRow[]> {
  return sql<HistoryRow[]>`SELECT ${cols(sql)} FROM job_history
    WHERE namespace = ${q.namespace}
      ${q.phase ? sql`AND phase = ${q.phase}` : sql``}
      ${q.tag ? sql`AND ${q.tag} = ANY (tags)` : sql``}
      ${q.after ? sql`AND (created_at, name) < (${q.after.createdAt}, ${q.after.name})` : sql``}
    ORDER BY created_at DESC, name DESC
    LIMIT ${q.limit}`;
}
