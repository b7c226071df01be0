// API key rows: the hash, never the key.
import type { Sql } from "postgres";
import type { Scope } from "../auth/principal.ts";
import type { UserRow } from "./users.ts";

export interface KeyRow {
  id: string;
  userId: number;
  name: string;
  scopes: Scope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const cols = (sql: Sql) =>
  sql`k.id, k.user_id AS "userId", k.name, k.scopes, k.created_at AS "createdAt", k.last_used_at AS "lastUsedAt", k.revoked_at AS "revokedAt"`;

export async function insertKey(
  sql: Sql,
  k: { id: string; userId: number; name: string; hash: Buffer; scopes: Scope[] },
): Promise<KeyRow> {
  const [row] = await sql<KeyRow[]>`
    INSERT INTO api_keys AS k (id, user_id, name, hash, scopes)
    VALUES (${k.id}, ${k.userId}, ${k.name}, ${k.hash}, ${k.scopes})
    RETURNING ${cols(sql)}`;
  if (!row) throw new Error("insert returned no key");
  return row;
}

/** The key with its owner, for authentication (revoked keys included: the caller refuses them). */
export async function findKeyForAuth(
  sql: Sql,
  id: string,
): Promise<{ key: KeyRow & { hash: Uint8Array }; user: UserRow } | undefined> {
  const [row] = await sql<(KeyRow & { hash: Uint8Array } & { user: UserRow })[]>`
    SELECT ${cols(sql)}, k.hash,
      json_build_object('id', u.id, 'issuer', u.issuer, 'subject', u.subject, 'name', u.name, 'role', u.role,
        'tenant', u.tenant, 'namespace', t.namespace) AS user
    FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN tenants t ON t.name = u.tenant
    WHERE k.id = ${id}`;
  if (!row) return undefined;
  const { user, ...key } = row;
  return { key, user };
}

export async function listKeys(sql: Sql, userId?: number): Promise<KeyRow[]> {
  return sql<KeyRow[]>`SELECT ${cols(sql)} FROM api_keys k
    ${userId === undefined ? sql`` : sql`WHERE k.user_id = ${userId}`}
    ORDER BY k.created_at, k.id`;
}

export async function getKey(sql: Sql, id: string): Promise<KeyRow | undefined> {
  const [row] = await sql<KeyRow[]>`SELECT ${cols(sql)} FROM api_keys k WHERE k.id = ${id}`;
  return row;
}

export async function revokeKey(sql: Sql, id: string): Promise<void> {
  await sql`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = ${id}`;
}

export async function touchKey(sql: Sql, id: string): Promise<void> {
  await sql`UPDATE api_keys SET last_used_at = now() WHERE id = ${id}`;
}
