// Finished jobs, kept after their VideoJobs are gone so listings survive garbage collection. One row
// per VideoJob uid (migrations/0004): a name used again is a new job with its own row.
import type { Sql } from "postgres";

export interface HistoryRow {
  namespace: string;
  name: string;
  uid: string;
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

/** Written when a job reaches a final phase and again when its VideoJob is deleted. */
export async function upsertHistory(sql: Sql, h: Omit<HistoryRow, "deletedAt"> & { deleted: boolean }): Promise<void> {
  await sql`INSERT INTO job_history (namespace, name, uid, created_at, finished_at, deleted_at, phase, tags, trace_id,
      created_by, spec, status)
    VALUES (${h.namespace}, ${h.name}, ${h.uid}, ${h.createdAt}, ${h.finishedAt}, ${h.deleted ? sql`now()` : null},
      ${h.phase}, ${h.tags}, ${h.traceId}, ${h.createdBy}, ${sql.json(h.spec as never)},
      ${h.status ? sql.json(h.status as never) : null})
    ON CONFLICT (uid) DO UPDATE SET
      finished_at = coalesce(excluded.finished_at, job_history.finished_at),
      deleted_at = coalesce(job_history.deleted_at, excluded.deleted_at),
      phase = coalesce(excluded.phase, job_history.phase), tags = excluded.tags,
      trace_id = coalesce(excluded.trace_id, job_history.trace_id),
      created_by = coalesce(excluded.created_by, job_history.created_by),
      spec = excluded.spec, status = coalesce(excluded.status, job_history.status)`;
}

/** The newest job of that name in the namespace (names are reused; uids are not). */
export async function getHistory(sql: Sql, namespace: string, name: string): Promise<HistoryRow | undefined> {
  const [row] = await sql<HistoryRow[]>`SELECT ${cols(sql)} FROM job_history
    WHERE namespace = ${namespace} AND name = ${name}
    ORDER BY created_at DESC, row_seq DESC LIMIT 1`;
  return row;
}

export async function getHistoryByUid(sql: Sql, namespace: string, uid: string): Promise<HistoryRow | undefined> {
  const [row] = await sql<HistoryRow[]>`SELECT ${cols(sql)} FROM job_history
    WHERE namespace = ${namespace} AND uid = ${uid}`;
  return row;
}

/**
 * A page in (created_at DESC, name DESC, uid DESC) order, after `after` when given. Bytewise ("C")
 * order for names and uids: the live jobs merged with these rows are sorted the same way in JS.
 */
export async function listHistory(
  sql: Sql,
  q: {
    namespace: string;
    phase?: string;
    tag?: string;
    after?: { createdAt: Date; name: string; uid: string };
    limit: number;
  },
): Promise<HistoryRow[]> {
  return sql<HistoryRow[]>`SELECT ${cols(sql)} FROM job_history
    WHERE namespace = ${q.namespace}
      ${q.phase ? sql`AND phase = ${q.phase}` : sql``}
      ${q.tag ? sql`AND ${q.tag} = ANY (tags)` : sql``}
      ${
        q.after
          ? sql`AND (created_at, name COLLATE "C", uid COLLATE "C") < (${q.after.createdAt}, ${q.after.name}, ${q.after.uid})`
          : sql``
      }
    ORDER BY created_at DESC, name COLLATE "C" DESC, uid COLLATE "C" DESC
    LIMIT ${q.limit}`;
}
