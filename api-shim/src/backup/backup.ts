// `reel-shim admin backup` and `restore`: the shim's PostgreSQL data (users, tenants, API keys,
// audit log, job history, webhooks, uploads) as one pg_dump custom-format archive in S3, and back.
//
// backup: pg_dump's stdout is streamed into a multipart upload under a timestamped key, completed
// only when pg_dump exits 0; then all but the newest `keep` backups under the prefix are deleted.
// restore: the named backup (or the newest under the prefix) is streamed into pg_restore in one
// transaction (a failed restore leaves the database as it was). A database that already holds
// tables is refused unless `clean` (then pg_restore drops what the archive holds first).
import type { Logger } from "pino";
import type { Sql } from "postgres";
import { ReelError } from "@reel/crds";
import { backupKey, backupKeys, expiredBackups, parseBackupUrl } from "./location.ts";
import { exited, libpqEnv, type PgTools, spawnPg } from "./pg.ts";
import { type BackupS3, backupClient, deleteKey, listKeys, readKey, uploadStream } from "./store.ts";

export interface BackupRun {
  databaseUrl: string;
  s3: BackupS3;
  tools: PgTools;
  log: Logger;
  /** Parts of the multipart upload (S3: at least 5 MiB but for the last). */
  partBytes?: number;
}

export interface BackupResult {
  location: string;
  bytes: number;
  deleted: string[];
}

export async function backup(r: BackupRun, to: string, keep: number, now = new Date()): Promise<BackupResult> {
  const where = parseBackupUrl(to, "--to");
  if (where.key) throw new ReelError("REEL_INVALID_ARGUMENT", `--to ${to}: give a prefix ending in /, not a backup`);
  expiredBackups(where.prefix, [], keep); // checks keep before any work
  const { env } = libpqEnv(r.databaseUrl);
  const key = backupKey(where.prefix, now);
  const location = `s3://${where.bucket}/${key}`;
  const s3 = backupClient(r.s3);
  try {
    r.log.info({ location }, "backup started");
    // Owners and grants are left out: the archive restores into a database owned by whoever restores it.
    const dump = spawnPg(r.tools, "pg_dump", ["--format=custom", "--no-owner", "--no-privileges"], env);
    dump.stdin?.end();
    // An upload that fails leaves pg_dump blocked on a full pipe: stop it.
    const bytes = await uploadStream(
      s3,
      { bucket: where.bucket, key, partBytes: r.partBytes ?? 16 * 2 ** 20 },
      dump.stdout as NonNullable<typeof dump.stdout>,
      exited(dump, "pg_dump"),
    ).catch((e) => {
      dump.kill("SIGTERM");
      throw e;
    });
    r.log.info({ location, bytes }, "backup stored");
    const deleted = expiredBackups(where.prefix, await listKeys(s3, where.bucket, where.prefix), keep);
    for (const k of deleted) await deleteKey(s3, where.bucket, k);
    if (deleted.length)
      r.log.info({ deleted: deleted.map((k) => `s3://${where.bucket}/${k}`), keep }, "old backups deleted");
    return { location, bytes, deleted: deleted.map((k) => `s3://${where.bucket}/${k}`) };
  } finally {
    s3.destroy();
  }
}

/** Tables outside PostgreSQL's own schemas: 0 is an empty database. */
export async function userTables(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`;
  return row?.n ?? 0;
}

export async function restore(r: BackupRun & { sql: Sql }, from: string, clean: boolean): Promise<string> {
  const where = parseBackupUrl(from, "--from");
  const s3 = backupClient(r.s3);
  try {
    const key = where.key ?? backupKeys(where.prefix, await listKeys(s3, where.bucket, where.prefix)).at(-1);
    if (!key) throw new ReelError("REEL_NOT_FOUND", `no backup (reel-<stamp>.dump) under ${from}: check the prefix`);
    const location = `s3://${where.bucket}/${key}`;
    const tables = await userTables(r.sql);
    if (tables > 0 && !clean) {
      throw new ReelError(
        "REEL_INVALID_ARGUMENT",
        `the database holds ${tables} tables: restore into an empty database, or pass --clean to replace what the backup holds`,
      );
    }
    const { env, database } = libpqEnv(r.databaseUrl);
    r.log.info({ location, database, clean }, "restore started");
    const args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"];
    const restoreProc = spawnPg(
      r.tools,
      "pg_restore",
      [...args, ...(clean ? ["--clean", "--if-exists"] : []), "-d", database],
      env,
    );
    const finished = exited(restoreProc, "pg_restore");
    const body = await readKey(s3, where.bucket, key);
    body.on("error", (e) => restoreProc.stdin?.destroy(e));
    restoreProc.stdin?.on("error", () => {}); // pg_restore stopping early is reported by its exit
    body.pipe(restoreProc.stdin as NonNullable<typeof restoreProc.stdin>);
    await finished;
    r.log.info({ location, database }, "restore finished");
    return location;
  } finally {
    s3.destroy();
  }
}
