// Where backups of the shim's PostgreSQL data live in S3, and which of them to keep: pure functions
// over s3://bucket/prefix/ URLs and object keys. A backup is `<prefix>reel-<UTC stamp>.dump` (pg_dump
// custom format); the stamp sorts as text, so the newest is the last key. Only keys of exactly that
// shape are ever chosen for deletion: anything else under the prefix is left alone.
import { ReelError } from "@reel/crds";

export interface BackupLocation {
  bucket: string;
  /** "" or ending in "/". */
  prefix: string;
  /** Set when the URL names one backup object rather than a prefix. */
  key?: string;
}

const BACKUP_NAME = /^reel-(\d{8}T\d{6}(?:\d{3})?Z)\.dump$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** s3://bucket/prefix/ (a prefix: ends in "/" or is the bucket) or s3://bucket/prefix/reel-….dump (one backup). */
export function parseBackupUrl(url: string, flag: string): BackupLocation {
  const bad = (why: string) =>
    new ReelError("REEL_INVALID_ARGUMENT", `${flag} ${JSON.stringify(url)}: ${why}, e.g. s3://reel-backups/postgres/`);
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url.trim());
  if (!m) throw bad("not an s3:// URL");
  const bucket = m[1] ?? "";
  const path = m[2] ?? "";
  if (!BUCKET.test(bucket)) throw bad(`"${bucket}" is not an S3 bucket name`);
  if (path.split("/").some((seg, i, all) => (seg === "" && i < all.length - 1) || seg === "." || seg === "..")) {
    throw bad("empty, . or .. path segments");
  }
  if (path === "" || path.endsWith("/")) return { bucket, prefix: path };
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  if (!BACKUP_NAME.test(name)) throw bad("a prefix must end in / and a backup be named reel-<stamp>.dump");
  return { bucket, prefix: path.slice(0, slash + 1), key: path };
}

/** reel-20261205T221530123Z.dump: UTC to the millisecond, so two runs in one second do not collide. */
export function backupKey(prefix: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.(\d{3})Z$/, "$1Z");
  return `${prefix}reel-${stamp}.dump`;
}

/** The keys under `prefix` that are backups (directly under it, named as backupKey names them), oldest first. */
export function backupKeys(prefix: string, keys: readonly string[]): string[] {
  return keys
    .filter((k) => k.startsWith(prefix) && BACKUP_NAME.test(k.slice(prefix.length)))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The backups to delete so that the newest `keep` remain (keep ≥ 1: the one just written stays). */
export function expiredBackups(prefix: string, keys: readonly string[], keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new ReelError("REEL_INVALID_ARGUMENT", `--keep ${keep}: keep at least 1 backup`);
  }
  const all = backupKeys(prefix, keys);
  return all.slice(0, Math.max(0, all.length - keep));
}
