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

/** Who did it, for the audit log and the VideoJob's creator annotation. */
export function actorName(p: Principal): string {
  return p.via === "key" ? `${p.name} (key ${p.keyId})` : p.name;
}
