// Administration from a shell (`reel-shim admin …`, in the image `node api-shim/src/admin.ts …`):
//   add-user --name alice --role admin --tenant media [--namespace media]
//     creates the tenant (mapped to a namespace), the user, and one API key, printed once (first
//     run: no API key exists yet to call the API with);
//   backup --to s3://bucket/prefix/ [--keep N]     pg_dump of the shim's database into S3;
//   restore --from s3://bucket/prefix/[reel-….dump] [--clean]   pg_restore into an empty database.
// backup and restore log JSON lines (pino) to stdout; see backup/backup.ts.
import { parseArgs } from "node:util";
import { pino } from "pino";
import type { Sql } from "postgres";
import { generateKey } from "./auth/keys.ts";
import { ReelError } from "@reel/crds";
import { ROLES, type Role, roleScopes } from "./auth/principal.ts";
import { type BackupRun, backup, restore } from "./backup/backup.ts";
import { parseBackupConfig } from "./backup/config.ts";
import { parseConfig } from "./config.ts";
import { isoTime } from "./log.ts";
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

const USAGE = `usage: reel-shim admin add-user --name NAME [--role admin|operator|viewer] [--tenant T] [--namespace NS] [--issuer ISS --subject SUB]
       reel-shim admin backup --to s3://BUCKET/PREFIX/ [--keep N]
       reel-shim admin restore --from s3://BUCKET/PREFIX/[reel-STAMP.dump] [--clean]
`;

type Flags = Record<string, string | boolean | undefined>;

async function addUserCommand(sql: Sql, values: Flags): Promise<number> {
  const role = values.role as Role;
  if (typeof values.name !== "string" || !ROLES.includes(role)) {
    process.stderr.write(USAGE);
    return 2;
  }
  await migrate(sql);
  const str = (k: string) => (typeof values[k] === "string" ? { [k]: values[k] as string } : {});
  const r = await addUser(sql, {
    name: values.name,
    role,
    ...str("tenant"),
    ...str("namespace"),
    ...str("issuer"),
    ...str("subject"),
  });
  process.stdout.write(`user ${r.userId} (${role}${values.tenant ? `, tenant ${values.tenant}` : ""})\n`);
  process.stdout.write(`API key (shown once): ${r.key}\n`);
  return 0;
}

/** The run settings of backup and restore from the environment. */
function backupRun(databaseUrl: string): BackupRun {
  const b = parseBackupConfig(process.env);
  return {
    databaseUrl,
    s3: {
      ...(b.REEL_BACKUP_S3_ENDPOINT ? { endpoint: b.REEL_BACKUP_S3_ENDPOINT } : {}),
      region: b.REEL_BACKUP_S3_REGION,
      accessKeyId: b.REEL_BACKUP_S3_ACCESS_KEY_ID,
      secretAccessKey: b.REEL_BACKUP_S3_SECRET_ACCESS_KEY,
    },
    tools: { binDir: b.REEL_BACKUP_PG_BIN, path: b.PATH },
    log: pino({ base: { component: "reel-shim-admin" }, timestamp: isoTime }),
  };
}

async function backupCommand(databaseUrl: string, values: Flags): Promise<number> {
  if (typeof values.to !== "string") {
    process.stderr.write(USAGE);
    return 2;
  }
  const keep = values.keep === undefined ? parseBackupConfig(process.env).REEL_BACKUP_KEEP : Number(values.keep);
  await backup(backupRun(databaseUrl), values.to, keep);
  return 0;
}

async function restoreCommand(sql: Sql, databaseUrl: string, values: Flags): Promise<number> {
  if (typeof values.from !== "string") {
    process.stderr.write(USAGE);
    return 2;
  }
  await restore({ ...backupRun(databaseUrl), sql }, values.from, values.clean === true);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      role: { type: "string", default: "operator" },
      tenant: { type: "string" },
      namespace: { type: "string" },
      issuer: { type: "string" },
      subject: { type: "string" },
      to: { type: "string" },
      from: { type: "string" },
      keep: { type: "string" },
      clean: { type: "boolean", default: false },
    },
  });
  const command = positionals[0];
  if (command !== "add-user" && command !== "backup" && command !== "restore") {
    process.stderr.write(USAGE);
    return 2;
  }
  const config = parseConfig(process.env);
  const sql = connectPostgres(config.DATABASE_URL, 1);
  try {
    if (command === "add-user") return await addUserCommand(sql, values);
    if (command === "backup") return await backupCommand(config.DATABASE_URL, values);
    return await restoreCommand(sql, config.DATABASE_URL, values);
  } catch (e) {
    const err = ReelError.from(e, "REEL_INTERNAL");
    process.stderr.write(`${JSON.stringify({ level: "error", code: err.code, message: err.message })}\n`);
    return err.code === "REEL_INVALID_ARGUMENT" ? 2 : 1;
  } finally {
    await sql.end();
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
