// Users and their tenants. JWT users are created on first sight as viewers without a tenant: an
// admin maps their role and tenant (a namespace) afterwards.
import type { Sql, TransactionSql } from "postgres";
import type { Role } from "../auth/principal.ts";

/** The issuer of users made for API keys only (shim:admin add-user without --issuer). */
export const LOCAL_ISSUER = "reel";

export interface UserRow {
  id: number;
  issuer: string;
  subject: string;
  name: string;
  role: Role;
  tenant: string | null;
  namespace: string | null;
}

const byIdentity = (sql: Sql, issuer: string, subject: string) => sql<UserRow[]>`
  SELECT u.id, u.issuer, u.subject, u.name, u.role, u.tenant, t.namespace
  FROM users u LEFT JOIN tenants t ON t.name = u.tenant
  WHERE u.issuer = ${issuer} AND u.subject = ${subject}`;

export async function findOrCreateUser(sql: Sql, issuer: string, subject: string, name: string): Promise<UserRow> {
  const [known] = await byIdentity(sql, issuer, subject);
  if (known) return known;
  await sql`INSERT INTO users (issuer, subject, name) VALUES (${issuer}, ${subject}, ${name})
    ON CONFLICT (issuer, subject) DO NOTHING`;
  const [row] = await byIdentity(sql, issuer, subject);
  if (!row) throw new Error(`user ${issuer} ${subject} was not created`);
  return row;
}

export async function getUser(sql: Sql, id: number): Promise<UserRow | undefined> {
  const [row] = await sql<UserRow[]>`
    SELECT u.id, u.issuer, u.subject, u.name, u.role, u.tenant, t.namespace
    FROM users u LEFT JOIN tenants t ON t.name = u.tenant WHERE u.id = ${id}`;
  return row;
}

/** Creates the tenant (namespace) if new, and the user with this role in it (or updates both). */
export async function upsertUser(
  sql: Sql,
  u: { issuer: string; subject: string; name: string; role: Role; tenant?: string; namespace?: string },
): Promise<UserRow> {
  if (u.tenant) {
    await sql`INSERT INTO tenants (name, namespace) VALUES (${u.tenant}, ${u.namespace ?? u.tenant})
      ON CONFLICT (name) DO UPDATE SET namespace = excluded.namespace`;
  }
  const [row] = await sql<{ id: number }[]>`
    INSERT INTO users (issuer, subject, name, role, tenant)
    VALUES (${u.issuer}, ${u.subject}, ${u.name}, ${u.role}, ${u.tenant ?? null})
    ON CONFLICT (issuer, subject) DO UPDATE SET name = excluded.name, role = excluded.role, tenant = excluded.tenant
    RETURNING id`;
  const user = row && (await getUser(sql, row.id));
  if (!user) throw new Error("upsert returned no user");
  return user;
}

/** A user as an admin lists them: when they were made and last seen (an API key's last use). */
export interface AdminUserRow extends UserRow {
  createdAt: Date;
  lastSeenAt: Date | null;
}

const adminCols = (sql: Sql | TransactionSql) => sql`
  u.id, u.issuer, u.subject, u.name, u.role, u.tenant, t.namespace, u.created_at AS "createdAt",
  (SELECT max(k.last_used_at) FROM api_keys k WHERE k.user_id = u.id) AS "lastSeenAt"`;

export async function listUsers(sql: Sql, f: { tenant?: string; role?: Role } = {}): Promise<AdminUserRow[]> {
  return sql<AdminUserRow[]>`
    SELECT ${adminCols(sql)} FROM users u LEFT JOIN tenants t ON t.name = u.tenant
    WHERE (${f.tenant ?? null}::text IS NULL OR u.tenant = ${f.tenant ?? null})
      AND (${f.role ?? null}::text IS NULL OR u.role = ${f.role ?? null})
    ORDER BY u.id`;
}

export async function getAdminUser(sql: Sql | TransactionSql, id: number): Promise<AdminUserRow | undefined> {
  const [row] = await sql<AdminUserRow[]>`
    SELECT ${adminCols(sql)} FROM users u LEFT JOIN tenants t ON t.name = u.tenant WHERE u.id = ${id}`;
  return row;
}

export interface UserChange {
  role?: Role;
  /** null takes the user out of their tenant. */
  tenant?: string | null;
}

export type UserUpdate =
  | { ok: true; before: AdminUserRow; after: AdminUserRow }
  | { ok: false; reason: "no-user" }
  | { ok: false; reason: "no-tenant" | "last-admin"; before: AdminUserRow };

/**
 * Changes a user's role and/or tenant in one transaction, or says why not: no such user, no such
 * tenant, or it would demote the last admin. The admin rows are locked first, so two admins demoting
 * each other at once cannot both succeed: the second waits, sees the first's commit, and is refused.
 */
export async function updateUser(sql: Sql, id: number, change: UserChange): Promise<UserUpdate> {
  return (await sql.begin(async (tx): Promise<UserUpdate> => {
    const admins = await tx<{ id: number }[]>`SELECT id FROM users WHERE role = 'admin' FOR UPDATE`;
    await tx`SELECT id FROM users WHERE id = ${id} FOR UPDATE`;
    const before = await getAdminUser(tx, id);
    if (!before) return { ok: false, reason: "no-user" };
    if (change.tenant) {
      const [t] = await tx`SELECT 1 FROM tenants WHERE name = ${change.tenant}`;
      if (!t) return { ok: false, reason: "no-tenant", before };
    }
    if (before.role === "admin" && change.role && change.role !== "admin" && admins.length <= 1) {
      return { ok: false, reason: "last-admin", before };
    }
    await tx`UPDATE users SET role = ${change.role ?? before.role},
      tenant = ${change.tenant === undefined ? before.tenant : change.tenant} WHERE id = ${id}`;
    const after = await getAdminUser(tx, id);
    if (!after) throw new Error(`user ${id} vanished inside its update`);
    return { ok: true, before, after };
  })) as UserUpdate;
}
