// First-run administration from a shell (no API key exists yet to call the API with):
//   npm run shim:admin -- add-user --name alice --role admin --tenant media [--namespace media]
// creates the tenant (mapped to a namespace), the user, and one API key, printed once.
import { parseArgs } from "node:util";
import type { Sql } from "postgres";
import { generateKey } from "./auth/keys.ts";
import { ROLES, type Role, roleScopes } from "./auth/principal.ts";
import { parseConfig } from "./config.ts";
import { writeAudit } from "./db/audit.ts";
import { connectPostgres } from "./db/database.ts";
import { insertKey } from "./db/keys.ts";
import { migrate } from "./db/migrate.ts";
import { LOCAL_ISSUER, upsertUser } from "./db/users.ts";

export interface AddedUser {
  userId: number;
  key: string;
  keyId: string;
}

/** Creates (or updates) a user with role and tenant, and a new key with every scope the role allows. */
export async function addUser(
  sql: Sql,
  u: { name: string; role: Role; tenant?: string; namespace?: string; issuer?: string; subject?: string },
): Promise<AddedUser> {
  const user = await upsertUser(sql, {
    issuer: u.issuer ?? LOCAL_ISSUER,
    subject: u.subject ?? u.name,
    name: u.name,
    role: u.role,
    ...(u.tenant ? { tenant: u.tenant, namespace: u.namespace ?? u.tenant } : {}),
  });
  const k = generateKey();
  await insertKey(sql, { id: k.id, userId: user.id, name: "bootstrap", hash: k.hash, scopes: roleScopes(u.role) });
  await writeAudit(sql, {
    actor: "shell (reel-shim admin)",
    tenant: u.tenant ?? null,
    action: "key.create",
    target: `key:${k.id}`,
    result: "ok",
    detail: { owner: user.id, role: u.role },
  });
  return { userId: user.id, key: k.key, keyId: k.id };
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: "string" },
      role: { type: "string", default: "operator" },
      tenant: { type: "string" },
      namespace: { type: "string" },
      issuer: { type: "string" },
      subject: { type: "string" },
    },
  });
  if (positionals[0] !== "add-user" || !values.name || !ROLES.includes(values.role as Role)) {
    process.stderr.write(
      "usage: reel-shim admin add-user --name NAME [--role admin|operator|viewer] [--tenant T] [--namespace NS] [--issuer ISS --subject SUB]\n",
    );
    process.exit(2);
  }
  const config = parseConfig(process.env);
  const sql = connectPostgres(config.DATABASE_URL, 1);
  try {
    await migrate(sql);
    const r = await addUser(sql, {
      name: values.name,
      role: values.role as Role,
      ...(values.tenant ? { tenant: values.tenant } : {}),
      ...(values.namespace ? { namespace: values.namespace } : {}),
      ...(values.issuer ? { issuer: values.issuer } : {}),
      ...(values.subject ? { subject: values.subject } : {}),
    });
    process.stdout.write(`user ${r.userId} (${values.role}${values.tenant ? `, tenant ${values.tenant}` : ""})\n`);
    process.stdout.write(`API key (shown once): ${r.key}\n`);
  } finally {
    await sql.end();
  }
}
