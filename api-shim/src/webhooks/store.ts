// The webhook_deliveries and webhook_delivery_attempts tables (migrations/0002_webhooks.sql).
// Written against a minimal `query(text, params)` so the shim's client (postgres.js) or pg both fit;
// times go in as ISO strings with casts and come out as text, so no driver's type mapping matters.

/** The one thing the webhook sender needs from a PostgreSQL client. */
export interface WebhookDb {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<readonly R[]>;
}

/** Adapts a postgres.js `sql` (the shim's client): `sql.unsafe(text, params)` resolves to the rows. */
export function postgresJsDb(sql: {
  unsafe(text: string, params?: never[]): PromiseLike<readonly unknown[]>;
}): WebhookDb {
  return {
    query: async <R>(text: string, params: unknown[] = []) =>
      (await sql.unsafe(text, params as never[])) as readonly R[],
  };
}

export interface NewDelivery {
  id: string;
  eventKey: string;
  namespace: string;
  job: string;
  eventType: string;
  url: string;
  urlRedacted: boolean;
  secretName: string | null;
  secretKey: string | null;
  payload: string;
  now: Date;
}

/** A pending delivery claimed for one attempt. */
export interface ClaimedDelivery {
  id: string;
  namespace: string;
  job: string;
  url: string;
  urlRedacted: boolean;
  secretName: string | null;
  secretKey: string | null;
  payload: string;
  attempts: number;
}

/** Inserts a delivery due now; false when the same event was already recorded (another replica). */
export async function insertDelivery(db: WebhookDb, d: NewDelivery): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO webhook_deliveries
       (id, event_key, namespace, job, event_type, url, url_redacted, secret_name, secret_key, payload,
        status, attempts, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11::timestamptz, $11::timestamptz)
     ON CONFLICT (event_key) DO NOTHING
     RETURNING id`,
    [
      d.id,
      d.eventKey,
      d.namespace,
      d.job,
      d.eventType,
      d.url,
      d.urlRedacted,
      d.secretName,
      d.secretKey,
      d.payload,
      d.now.toISOString(),
    ],
  );
  return rows.length > 0;
}

/**
 * Claims up to `limit` due deliveries for one attempt each: their next_attempt_at moves to the end
 * of a lease, so another replica (or this one's next poll) does not pick them up meanwhile, and a
 * replica that dies mid-attempt leaves them due again when the lease ends. SKIP LOCKED lets replicas
 * claim side by side without waiting on each other.
 */
export async function claimDue(db: WebhookDb, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
  const rows = await db.query<{
    id: string;
    namespace: string;
    job: string;
    url: string;
    url_redacted: boolean;
    secret_name: string | null;
    secret_key: string | null;
    payload: string;
    attempts: number;
  }>(
    `UPDATE webhook_deliveries d SET next_attempt_at = $2::timestamptz
     FROM (SELECT id FROM webhook_deliveries
           WHERE status = 'pending' AND next_attempt_at <= $1::timestamptz
           ORDER BY next_attempt_at LIMIT $3::int FOR UPDATE SKIP LOCKED) due
     WHERE d.id = due.id
     RETURNING d.id, d.namespace, d.job, d.url, d.url_redacted, d.secret_name, d.secret_key, d.payload, d.attempts`,
    [now.toISOString(), leaseUntil.toISOString(), limit],
  );
  return rows.map((r) => ({
    id: r.id,
    namespace: r.namespace,
    job: r.job,
    url: r.url,
    urlRedacted: r.url_redacted,
    secretName: r.secret_name,
    secretKey: r.secret_key,
    payload: r.payload,
    attempts: Number(r.attempts),
  }));
}

export interface AttemptRecord {
  id: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  status: "pending" | "delivered" | "failed";
  nextAttemptAt: Date | null;
  now: Date;
}

/** Records one attempt and the delivery's new state, in one transaction-free pair of statements:
 * the attempt row is keyed by (delivery, attempt), so a repeat after a crash cannot double it. */
export async function recordAttempt(db: WebhookDb, a: AttemptRecord): Promise<void> {
  await db.query(
    `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
     VALUES ($1, $2::int, $3::timestamptz, $4::int, $5::int, $6)
     ON CONFLICT (delivery_id, attempt) DO NOTHING`,
    [a.id, a.attempt, a.startedAt.toISOString(), Math.round(a.durationMs), a.statusCode, a.error],
  );
  await db.query(
    `UPDATE webhook_deliveries
     SET attempts = $2::int, status = $3, last_status_code = $4::int, last_error = $5,
         next_attempt_at = $6::timestamptz,
         delivered_at = CASE WHEN $3 = 'delivered' THEN $7::timestamptz ELSE delivered_at END
     WHERE id = $1 AND status = 'pending'`,
    [
      a.id,
      a.attempt,
      a.status,
      a.statusCode,
      a.error,
      a.nextAttemptAt ? a.nextAttemptAt.toISOString() : null,
      a.now.toISOString(),
    ],
  );
}

/** Hands a claimed delivery back without an attempt (the sender is stopping): due again at once. */
export async function release(db: WebhookDb, id: string, now: Date): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET next_attempt_at = $2::timestamptz WHERE id = $1 AND status = 'pending'`,
    [id, now.toISOString()],
  );
}

/** How many deliveries are pending, and when the next one is due. */
export async function pendingSummary(db: WebhookDb): Promise<{ pending: number; nextDueAt: Date | null }> {
  const rows = await db.query<{ pending: number; next_due: number | null }>(
    `SELECT count(*)::int AS pending, extract(epoch FROM min(next_attempt_at))::float8 AS next_due
     FROM webhook_deliveries WHERE status = 'pending'`,
  );
  const r = rows[0];
  const next = r?.next_due;
  return { pending: Number(r?.pending ?? 0), nextDueAt: next == null ? null : new Date(Number(next) * 1000) };
}
