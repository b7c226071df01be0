// Bearer credential → principal. API keys are looked up by their public id and compared by hash;
// JWTs are verified (auth/jwt.ts) and their user found or created by iss+sub. A verified principal
// is kept for a few seconds so a busy client costs no query per request. A revoke through this
// process forgets the key at once; every replica forgets it when PostgreSQL's NOTIFY reel_auth
// arrives (main.ts listens; migrations/0003), and within the TTL when that notification is lost.
import { hash } from "node:crypto";
import { ReelError } from "@reel/crds";
import type { Database } from "../db/database.ts";
import { findKeyForAuth, touchKey } from "../db/keys.ts";
import { findOrCreateUser, type UserRow } from "../db/users.ts";
import type { JwtVerifier } from "./jwt.ts";
import { keyMatches, looksLikeKey, parseKey } from "./keys.ts";
import { cleanName, type Principal, roleScopes } from "./principal.ts";

const TTL_MS = 5000;
const TOUCH_EVERY_MS = 60_000;

export interface Authenticator {
  authenticate(credential: string): Promise<Principal>;
  /**
   * The principal when this credential was verified within the TTL; no I/O. With `connection` (the
   * request's socket), a credential sent again on the same connection skips its SHA-256.
   */
  cached(credential: string, connection?: object): Principal | undefined;
  forgetKey(keyId: string): void;
  forgetUser(userId: number): void;
  forgetAll(): void;
}

function fromUser(u: UserRow): Omit<Principal, "via" | "scopes"> {
  return { userId: u.id, name: u.name, role: u.role, tenant: u.tenant, namespace: u.namespace };
}

export function createAuthenticator(o: { db: Database; jwt?: JwtVerifier }): Authenticator {
  const cache = new Map<string, { p: Principal; until: number }>();
  // Bumped by every forget: a lookup that was under way across one does not cache what it read.
  let epoch = 0;
  const touched = new Map<string, number>();
  const invalid = (msg: string, cause?: unknown) => new ReelError("REEL_AUTH_INVALID", msg, { cause });

  async function resolve(credential: string): Promise<{ p: Principal; until: number }> {
    if (looksLikeKey(credential)) {
      const parsed = parseKey(credential);
      if (!parsed) throw invalid("malformed API key");
      const found = await findKeyForAuth(o.db.db, parsed.id);
      if (!found || !keyMatches(credential, found.key.hash)) throw invalid("unknown API key");
      if (found.key.revokedAt) throw invalid(`API key reel_${parsed.id} was revoked`);
      const last = touched.get(parsed.id) ?? 0;
      if (Date.now() - last > TOUCH_EVERY_MS) {
        touched.set(parsed.id, Date.now());
        void touchKey(o.db.db, parsed.id).catch(() => touched.delete(parsed.id));
      }
      const p: Principal = { ...fromUser(found.user), via: "key", keyId: parsed.id, scopes: found.key.scopes };
      return { p, until: Date.now() + TTL_MS };
    }
    if (!o.jwt) throw invalid("JWT sign-in is not configured on this shim; use an API key");
    let t: Awaited<ReturnType<JwtVerifier>>;
    try {
      t = await o.jwt(credential);
    } catch (e) {
      throw invalid(`JWT refused: ${(e as Error).message}`, e);
    }
    const user = await findOrCreateUser(o.db.db, t.iss, t.sub, cleanName(t.name, t.sub));
    const exp = typeof t.payload.exp === "number" ? t.payload.exp * 1000 : Date.now();
    const p: Principal = { ...fromUser(user), via: "jwt", scopes: roleScopes(user.role), expiresAt: exp };
    return { p, until: Math.min(Date.now() + TTL_MS, exp) };
  }

  // The cache is keyed by a SHA-256 of the credential, so credentials themselves are not kept.
  const cacheKey = (credential: string) => hash("sha256", credential, "base64url");
  const cached = (id: string) => {
    const hit = cache.get(id);
    return hit && hit.until > Date.now() ? hit.p : undefined;
  };

  // A keep-alive client sends the same credential on every request: its cache key is kept with the
  // connection (which holds the credential in its buffers anyway) and reused when the same string
  // comes again, compared in constant time. A different credential on the connection (a proxy
  // pooling clients) is hashed and replaces it.
  const byConnection = new WeakMap<object, { credential: string; id: string }>();

  return {
    cached(credential, connection) {
      if (!connection) return cached(cacheKey(credential));
      const last = byConnection.get(connection);
      if (last && sameSecret(last.credential, credential)) return cached(last.id);
      const id = cacheKey(credential);
      byConnection.set(connection, { credential, id });
      return cached(id);
    },
    async authenticate(credential) {
      const id = cacheKey(credential);
      const hit = cached(id);
      if (hit) return hit;
      const started = epoch;
      const r = await resolve(credential);
      if (epoch !== started) return r.p;
      if (cache.size > 10_000) cache.clear();
      cache.set(id, r);
      return r.p;
    },
    forgetKey(keyId) {
      epoch++;
      for (const [k, v] of cache) if (v.p.keyId === keyId) cache.delete(k);
    },
    forgetUser(userId) {
      epoch++;
      for (const [k, v] of cache) if (v.p.userId === userId) cache.delete(k);
    },
    forgetAll() {
      epoch++;
      cache.clear();
    },
  };
}

/** Equal strings, compared without stopping at the first difference. */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The credential from `Authorization: Bearer …` (or `?access_token=` where browsers cannot set headers). */
export function bearer(authorization: string | undefined, accessToken?: string): string | undefined {
  if (authorization) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw new ReelError("REEL_AUTH_INVALID", "Authorization must be `Bearer <credential>`");
    return m[1];
  }
  return accessToken || undefined;
}
