// The Redis ACL of a namespace's worker pods, as the arguments of one `ACL SETUSER` (pure; the
// operator applies it in worker-access.ts). `reset` first, so that whatever the user held before —
// another password, wider patterns, a command someone granted by hand — is gone in the same call.
import { workerPatterns, workerRedisUser } from "@reel/crds";

/**
 * Every command a worker sends (worker-image/src/worker/progress.ts: MULTI, PUBLISH, SET … EX, EXEC;
 * resilience/redis-cache.ts: GET, SET … EX; fetch/politeness.ts: ZREMRANGEBYSCORE, ZADD, ZCARD,
 * ZREM, PEXPIRE in MULTI — no script, no INCR) and PING. No INFO: the worker's client skips its
 * ready check. AUTH and HELLO need no grant.
 */
export const WORKER_COMMANDS = [
  "ping",
  "multi",
  "exec",
  "discard",
  "publish",
  "set",
  "get",
  "zadd",
  "zcard",
  "zrem",
  "zremrangebyscore",
  "pexpire",
] as const;

/** The user's name and the rules that make it: its password, its namespace's patterns, its commands. */
export function workerAclRules(namespace: string, password: string): { user: string; rules: string[] } {
  if (!/^[A-Za-z0-9_-]{32,}$/.test(password)) {
    // A space or `>`/`<` in a password would be read as another rule.
    throw new Error("a worker's Redis password must be 32+ characters of [A-Za-z0-9_-]");
  }
  const { keys, channels } = workerPatterns(namespace);
  return {
    user: workerRedisUser(namespace),
    rules: [
      "reset",
      "on",
      `>${password}`,
      ...keys.map((k) => `~${k}`),
      ...channels.map((c) => `&${c}`),
      "-@all",
      ...WORKER_COMMANDS.map((c) => `+${c}`),
    ],
  };
}

/** The URL the pods get: the operator's with its user and password taken out (they log in as their own). */
export function workerRedisUrl(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.toString().replace(/\/$/, "");
}
