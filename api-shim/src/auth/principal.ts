// Who is calling, and what they may do. A principal is resolved once per request (auth/hook.ts)
// from an API key or a JWT; roles come from the users table, scopes from the key. The lists of
// roles and scopes are part of the REST contract (crds/src/contract/rest.ts).
import type { Role, Scope } from "@reel/crds";

export { ROLES, type Role, SCOPES, type Scope } from "@reel/crds";

export interface Principal {
  userId: number;
  name: string;
  role: Role;
  tenant: string | null;
  namespace: string | null;
  via: "key" | "jwt";
  /** Set for API keys; a JWT carries every scope its role allows. */
  keyId?: string;
  scopes: readonly Scope[];
  /** A JWT's exp in ms: its live streams end then (live/access.ts). */
  expiresAt?: number;
}

const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  admin: ["jobs:read", "jobs:write", "keys:admin"],
  operator: ["jobs:read", "jobs:write"],
  viewer: ["jobs:read"],
};

/** What a role allows at most; a key narrows it with its scopes. */
export function roleScopes(role: Role): Scope[] {
  return [...(ROLE_SCOPES[role] ?? ROLE_SCOPES.viewer)];
}

export function can(p: Principal, scope: Scope): boolean {
  return (ROLE_SCOPES[p.role] ?? ROLE_SCOPES.viewer).includes(scope) && p.scopes.includes(scope);
}

/**
 * Who did it, for the audit log and the VideoJob's creator annotation: the user id and the
 * credential, never the name — a JWT's name claim is the caller's to choose, so a name could be
 * made to read like another user's key (`alice (key ABCD1234)`).
 */
export function actorName(p: Principal): string {
  return p.via === "key" ? `user:${p.userId} key:${p.keyId}` : `user:${p.userId} jwt`;
}

/** At most this many characters of a name taken from a token. */
export const NAME_MAX = 64;

/**
 * A display name from a token: control and format characters (newlines, escapes, bidi overrides,
 * NUL) become spaces, runs of space one, and it is cut at NAME_MAX characters (code points, so a
 * surrogate pair is never split). Empty names fall back to `fallback`.
 */
export function cleanName(raw: string | undefined, fallback: string): string {
  const clean = (s: string) => [...s.replace(/[\p{C}\s]+/gu, " ").trim()].slice(0, NAME_MAX).join("").trim();
  return clean(raw ?? "") || clean(fallback) || "unnamed";
}
