// JWT verification with jose. The algorithms are pinned (never `none`, never HS* — an HMAC check
// with a public key as its secret is the classic forgery), exp/iat/sub/aud/iss are required and
// checked with 30 s of leeway. Beyond what jose checks: a token issued in the future, one whose
// lifetime (exp - iat) or age passes maxLifetimeSeconds, and an empty or control-character sub are
// refused (a sub becomes a user row, so a blank one would create a user nobody can name). Keys come from the identity provider's JWKS (refreshed and rotated
// by kid by jose) or from a local JWKS file, re-read when a token names a kid the file lacked.
import { readFile } from "node:fs/promises";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";

export const JWT_ALGORITHMS = ["RS256", "ES256", "EdDSA"];
export const JWT_LEEWAY_SECONDS = 30;
/** The longest token lifetime accepted unless configured (REEL_JWT_MAX_LIFETIME_SECONDS). */
export const JWT_MAX_LIFETIME_SECONDS = 24 * 3600;

export interface JwtOptions {
  issuer: string;
  audience: string;
  jwksUrl?: string;
  jwksFile?: string;
  maxLifetimeSeconds?: number;
}

export interface VerifiedToken {
  iss: string;
  sub: string;
  name?: string;
  payload: JWTPayload;
}

export type JwtVerifier = (token: string) => Promise<VerifiedToken>;

function fileKeys(path: string): JWTVerifyGetKey {
  let current: Promise<JWTVerifyGetKey> | undefined;
  let loadedAt = 0;
  const load = async () => createLocalJWKSet(JSON.parse(await readFile(path, "utf8")) as JSONWebKeySet);
  return async (header, token) => {
    current ??= load();
    try {
      return await (await current)(header, token);
    } catch (e) {
      // A new kid: the file may have been rotated since it was read (at most once a second).
      if (!(e instanceof errors.JWKSNoMatchingKey) || Date.now() - loadedAt < 1000) throw e;
      loadedAt = Date.now();
      current = load();
      return (await current)(header, token);
    }
  };
}

export function createJwtVerifier(o: JwtOptions): JwtVerifier {
  const keys: JWTVerifyGetKey = o.jwksUrl
    ? createRemoteJWKSet(new URL(o.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 })
    : o.jwksFile
      ? fileKeys(o.jwksFile)
      : () => {
          throw new Error("no JWKS configured");
        };
  const maxLifetime = o.maxLifetimeSeconds ?? JWT_MAX_LIFETIME_SECONDS;
  return async (token) => {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: JWT_ALGORITHMS,
      issuer: o.issuer,
      audience: o.audience,
      clockTolerance: JWT_LEEWAY_SECONDS,
      maxTokenAge: maxLifetime,
      requiredClaims: ["exp", "iat", "sub", "aud", "iss"],
    });
    checkLifetime(payload, maxLifetime);
    return {
      iss: payload.iss as string,
      sub: payload.sub as string,
      name: typeof payload.name === "string" ? payload.name : (payload.preferred_username as string | undefined),
      payload,
    };
  };
}

/** What jose leaves to us: iat not in the future, exp - iat bounded, a sub that names someone. */
function checkLifetime(payload: JWTPayload, maxLifetime: number): void {
  const now = Math.floor(Date.now() / 1000);
  const iat = payload.iat as number;
  const exp = payload.exp as number;
  if (iat > now + JWT_LEEWAY_SECONDS) throw new Error('"iat" is in the future');
  if (exp - iat > maxLifetime) throw new Error(`token lifetime ${exp - iat} s exceeds the maximum of ${maxLifetime} s`);
  const sub = payload.sub as string;
  if (!sub.trim() || sub.length > 255 || /\p{C}/u.test(sub)) {
    throw new Error('"sub" must be 1 to 255 printable characters');
  }
}
