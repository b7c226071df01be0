// Users and their tenants. JWT users are created on first sight as viewers without a tenant: an
// admin maps their role and tenant (a namespace) afterwards.
import type { Sql } from "postgres";
import type { Role } from "../auth/principal.ts";

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
