// What the database tells every replica about credentials (migrations/0003_auth_notify.sql): a key,
// a user, or everything, whose cached principal must go.
import type { Sql } from "postgres";

export const AUTH_CHANNEL = "reel_auth";

export type AuthChange = { key: string } | { user: number } | { all: true };

/** Parses a reel_auth payload; anything unexpected means "forget everything". */
export function parseAuthChange(payload: string): AuthChange {
  try {
    const v = JSON.parse(payload) as Record<string, unknown>;
    if (typeof v.key === "string") return { key: v.key };
    if (typeof v.user === "number") return { user: v.user };
  } catch {}
  return { all: true };
}

/**
 * LISTEN reel_auth on a connection of its own (postgres.js re-listens after a reconnect).
 * `onListening` runs at every (re)listen: notifications sent while the connection was down are lost,
 * so the caller forgets everything then.
 */
export async function listenAuthChanges(
  sql: Sql,
  onChange: (c: AuthChange) => void,
  onListening: () => void,
): Promise<{ unlisten(): Promise<void> }> {
  return sql.listen(AUTH_CHANNEL, (payload) => onChange(parseAuthChange(payload)), onListening);
}
