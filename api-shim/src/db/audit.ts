// The audit log: one row per action that changes something (and per refusal of one), and per
// download link given out (a bearer URL to a job's file).
import type { Sql } from "postgres";

export interface AuditEntry {
  actorId?: number | null;
  actor: string;
  tenant?: string | null;
  action:
    | "job.create"
    | "job.cancel"
    | "job.retry"
    | "job.download"
    | "job.thumbnails"
    | "job.poster"
    | "job.subtitles"
    | "upload.create"
    | "upload.delete"
    | "key.create"
    | "key.revoke"
    | "tenant.create"
    | "user.update";
  target?: string | null;
  ip?: string | null;
  result: "ok" | "denied" | "failed";
  detail?: Record<string, unknown>;
  traceId?: string | null;
}

export async function writeAudit(sql: Sql, e: AuditEntry): Promise<void> {
  await sql`INSERT INTO audit_log (actor_id, actor, tenant, action, target, ip, result, detail, trace_id)
    VALUES (${e.actorId ?? null}, ${e.actor}, ${e.tenant ?? null}, ${e.action}, ${e.target ?? null}, ${e.ip ?? null},
      ${e.result}, ${sql.json((e.detail ?? {}) as never)}, ${e.traceId ?? null})`;
}
