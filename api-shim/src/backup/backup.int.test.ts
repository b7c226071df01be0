// `reel-shim admin backup|restore` on real services: PostgreSQL 15 (e2e/src/services/postgres.ts),
// versitygw for S3, and the real pg_dump/pg_restore. The data is made through the shim's own code
// (addUser: tenant, user, API key, audit row; writeAudit; upsertHistory), backed up, restored into
// a fresh database, and read back through the shim's own queries — the key authenticates there.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, ListMultipartUploadsCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { type S3Server, startS3 } from "@reel/e2e/services";
import { pino } from "pino";
import type { Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresServer, startPostgres } from "../../../e2e/src/services/postgres.ts";
import { addUser } from "../admin.ts";
import { createAuthenticator } from "../auth/authenticate.ts";
import { writeAudit } from "../db/audit.ts";
import { connectPostgres, Database } from "../db/database.ts";
import { getHistoryByUid, listHistory, upsertHistory } from "../db/history.ts";
import { listKeys } from "../db/keys.ts";
import { migrate } from "../db/migrate.ts";
import { listTenants } from "../db/tenants.ts";
import { listUsers } from "../db/users.ts";
import { s3Client } from "../testing/services.ts";
import { type BackupRun, backup, restore } from "./backup.ts";
import { listKeys as listObjects } from "./store.ts";

const run = promisify(execFile);
const log = pino({ level: "silent" });
const BUCKET = "reel-backups";

let pg: PostgresServer;
let s3: S3Server;
let source: Sql;
let client: S3Client;
let aliceKey: string;
const opened: Sql[] = [];

const urlOf = (db: string) => pg.url.replace(/\/reel$/, `/${db}`);
const runFor = (db: string): BackupRun => ({
  databaseUrl: urlOf(db),
  s3: { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  tools: { binDir: "", path: process.env.PATH ?? "/usr/bin:/bin" },
  log,
  // S3's smallest part, so a dump of this size goes up in more than one part only if it grows.
  partBytes: 5 * 2 ** 20,
});
const open = (db: string) => {
  const sql = connectPostgres(urlOf(db), 2);
  opened.push(sql);
  return sql;
};
/** What the shim's own queries answer about a database, for comparing two of them. */
async function snapshot(sql: Sql) {
  return {
    tenants: await listTenants(sql),
    users: await listUsers(sql),
    keys: await listKeys(sql),
    audit: await sql`SELECT * FROM audit_log ORDER BY id`,
    history: await getHistoryByUid(sql, "media", "uid-season-1"),
    bulk: await listHistory(sql, { namespace: "bulk", limit: 1000 }),
  };
}

beforeAll(async () => {
  [pg, s3] = await Promise.all([startPostgres(), startS3()]);
  client = s3Client(s3);
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  source = open("reel");
  await migrate(source);
  aliceKey = (await addUser(source, { name: "alice", role: "admin", tenant: "media" })).key;
  await addUser(source, { name: "bob", role: "viewer", tenant: "media" });
  await writeAudit(source, {
    actor: "alice",
    tenant: "media",
    action: "job.create",
    target: "media/season-1",
    result: "ok",
    detail: { episodes: 3 },
  });
  await upsertHistory(source, {
    namespace: "media",
    name: "season-1",
    uid: "uid-season-1",
    createdAt: new Date("2026-12-05T10:00:00Z"),
    finishedAt: new Date("2026-12-05T10:05:00Z"),
    phase: "Completed",
    tags: ["drama"],
    traceId: null,
    createdBy: "alice",
    spec: { episodes: [{ url: "https://cdn.example.com/1.mp4" }] },
    status: { phase: "Completed" },
    deleted: false,
  });
  // 400 finished jobs with 32 KB of incompressible text each: a dump above one 5 MiB part, so
  // the multipart upload and the restore's stream cross part boundaries.
  for (let i = 0; i < 400; i++) {
    await upsertHistory(source, {
      namespace: "bulk",
      name: `job-${i}`,
      uid: `uid-bulk-${i}`,
      createdAt: new Date(Date.UTC(2026, 11, 1, 0, 0, i)),
      finishedAt: null,
      phase: "Failed",
      tags: [],
      traceId: null,
      createdBy: null,
      spec: { note: randomBytes(16384).toString("hex") },
      status: null,
      deleted: false,
    });
  }
  await source`CREATE DATABASE restored`;
}, 600_000);

afterAll(async () => {
  for (const sql of opened) await sql.end().catch(() => {});
  client?.destroy();
  await s3?.stop();
  await pg?.stop();
});

describe("backup and restore of the shim's PostgreSQL data", () => {
  it("backs up under timestamped keys, keeps the newest --keep and nothing else is deleted", async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "pg/notes.txt", Body: "not a backup" }));
    const t0 = Date.parse("2026-12-05T01:00:00Z");
    const results = [];
    for (const h of [0, 1, 2])
      results.push(await backup(runFor("reel"), `s3://${BUCKET}/pg/`, 2, new Date(t0 + h * 3600_000)));

    expect(results.map((r) => r.location)).toEqual([
      `s3://${BUCKET}/pg/reel-20261205T010000000Z.dump`,
      `s3://${BUCKET}/pg/reel-20261205T020000000Z.dump`,
      `s3://${BUCKET}/pg/reel-20261205T030000000Z.dump`,
    ]);
    expect(results.map((r) => r.deleted)).toEqual([[], [], [`s3://${BUCKET}/pg/reel-20261205T010000000Z.dump`]]);
    expect((await listObjects(client, BUCKET, "pg/")).sort()).toEqual([
      "pg/notes.txt",
      "pg/reel-20261205T020000000Z.dump",
      "pg/reel-20261205T030000000Z.dump",
    ]);
    // More than one 5 MiB part (the restores below read it back whole).
    expect(results[2]?.bytes).toBeGreaterThan(5 * 2 ** 20);
  });

  it("restores the newest backup into a fresh database: same users, keys, audit, history; the key still authenticates", async () => {
    await restore({ ...runFor("restored"), sql: open("restored") }, `s3://${BUCKET}/pg/`, false);
    const restored = open("restored");
    expect(await snapshot(restored)).toEqual(await snapshot(source));
    const got = await snapshot(restored);
    expect(got.users.map((u) => u.name)).toEqual(["alice", "bob"]);
    expect(got.keys).toHaveLength(2);
    expect(got.audit.map((a) => a.action)).toEqual(["key.create", "key.create", "job.create"]);
    expect(got.history?.phase).toBe("Completed");
    expect(got.bulk).toHaveLength(400);

    const db = new Database(urlOf("restored"), log);
    await db.connect();
    try {
      const p = await createAuthenticator({ db }).authenticate(aliceKey);
      expect([p.name, p.role, p.tenant, p.via]).toEqual(["alice", "admin", "media", "key"]);
    } finally {
      await db.close();
    }
    // The sequences came along: a user made after the restore gets a new id.
    const carol = await addUser(restored, { name: "carol", role: "viewer", tenant: "media" });
    expect(carol.userId).toBeGreaterThan(Math.max(...(await listUsers(source)).map((u) => u.id)));
  });

  it("refuses a database that holds tables, and changes nothing in it", async () => {
    const before = await snapshot(source);
    await expect(restore({ ...runFor("reel"), sql: source }, `s3://${BUCKET}/pg/`, false)).rejects.toMatchObject({
      code: "REEL_INVALID_ARGUMENT",
      message: expect.stringMatching(/^the database holds \d+ tables: restore into an empty database, or pass --clean/),
    });
    expect(await snapshot(source)).toEqual(before);
  });

  it("--clean replaces what the backup holds (carol, made after it, is gone)", async () => {
    const restored = open("restored");
    expect((await listUsers(restored)).map((u) => u.name)).toContain("carol");
    await restore({ ...runFor("restored"), sql: restored }, `s3://${BUCKET}/pg/reel-20261205T020000000Z.dump`, true);
    expect(await snapshot(restored)).toEqual(await snapshot(source));
  });

  it("stores nothing when pg_dump fails: no object, no multipart upload left open", async () => {
    await expect(backup(runFor("no_such_db"), `s3://${BUCKET}/failed/`, 2)).rejects.toMatchObject({
      code: "REEL_UNAVAILABLE",
      message: expect.stringMatching(/pg_dump exited 1: .*no_such_db/),
    });
    expect(await listObjects(client, BUCKET, "failed/")).toEqual([]);
    const open = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: "failed/" }));
    expect(open.Uploads ?? []).toEqual([]);
  });

  it("the command line: backup and restore through node api-shim/src/admin.ts, JSON logs, the exit codes", async () => {
    const admin = join(import.meta.dirname, "..", "admin.ts");
    const env = {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: urlOf("reel"),
      REEL_BACKUP_S3_ENDPOINT: s3.endpoint,
      REEL_BACKUP_S3_ACCESS_KEY_ID: s3.accessKeyId,
      REEL_BACKUP_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const b = await run(process.execPath, [admin, "backup", "--to", `s3://${BUCKET}/cli/`, "--keep", "3"], { env });
    const lines = b.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual(["backup started", "backup stored"]);
    expect(lines[1].location).toMatch(new RegExp(`^s3://${BUCKET}/cli/reel-\\d{8}T\\d{9}Z\\.dump$`));
    await source`CREATE DATABASE cli_restored`;
    const r = await run(process.execPath, [admin, "restore", "--from", `s3://${BUCKET}/cli/`], {
      env: { ...env, DATABASE_URL: urlOf("cli_restored") },
    });
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).msg),
    ).toEqual(["restore started", "restore finished"]);
    expect((await listUsers(open("cli_restored"))).map((u) => u.name)).toEqual(["alice", "bob"]);
    // Into the non-empty source: refused, exit 2, one JSON line naming the code on stderr.
    const refused = await run(process.execPath, [admin, "restore", "--from", `s3://${BUCKET}/cli/`], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((refused as { code: number }).code).toBe(2);
    expect(JSON.parse((refused as { stderr: string }).stderr)).toMatchObject({ code: "REEL_INVALID_ARGUMENT" });
  });
});
