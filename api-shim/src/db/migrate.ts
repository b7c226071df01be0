// The migration runner: numbered .sql files in api-shim/migrations/, each applied once, in order,
// inside one transaction that holds an advisory lock, so replicas starting together apply them once.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Sql } from "postgres";

export const MIGRATIONS_DIR = join(import.meta.dirname, "..", "..", "migrations");
// Any fixed 64-bit number; it only has to be the same for every replica.
const LOCK_ID = 0x7265_656c_5f6d; // "reel_m"

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

/** `0001_core.sql` → version 0001; anything not named NNNN_*.sql is ignored. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (f) => ({
      version: f.slice(0, 4),
      name: f,
      sql: await readFile(join(dir, f), "utf8"),
    })),
  );
}

/** Applies what is missing; returns the names applied now. */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const all = await readMigrations(dir);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_ID})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set(
      (await tx<{ version: string }[]>`SELECT version FROM schema_migrations`).map((r) => r.version),
    );
    const applied: string[] = [];
    for (const m of all) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql).simple();
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      applied.push(m.name);
    }
    return applied;
  });
}
