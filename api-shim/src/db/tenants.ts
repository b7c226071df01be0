// Tenants: a name mapped to one Kubernetes namespace (the namespace every job route of its users
// reads and writes). Moving a tenant to another namespace notifies every replica (migration 0003).
import type { Sql } from "postgres";

export interface TenantRow {
  name: string;
  namespace: string;
  createdAt: Date;
  users: number;
}

export async function listTenants(sql: Sql): Promise<TenantRow[]> {
  return sql<TenantRow[]>`
    SELECT t.name, t.namespace, t.created_at AS "createdAt", count(u.id)::int AS users
    FROM tenants t LEFT JOIN users u ON u.tenant = t.name
    GROUP BY t.name ORDER BY t.name`;
}

export async function getTenant(sql: Sql, name: string): Promise<TenantRow | undefined> {
  const [row] = await sql<TenantRow[]>`
    SELECT t.name, t.namespace, t.created_at AS "createdAt",
      (SELECT count(*)::int FROM users u WHERE u.tenant = t.name) AS users
    FROM tenants t WHERE t.name = ${name}`;
  return row;
}

/**
 * Creates the tenant; undefined when its name or its namespace is taken (one namespace, one
 * tenant: two tenants sharing a namespace would see each other's jobs).
 */
export async function createTenant(sql: Sql, t: { name: string; namespace: string }): Promise<TenantRow | undefined> {
  const [row] = await sql<TenantRow[]>`
    INSERT INTO tenants (name, namespace) VALUES (${t.name}, ${t.namespace})
    ON CONFLICT DO NOTHING
    RETURNING name, namespace, created_at AS "createdAt", 0 AS users`;
  return row;
}
