// JWT verification with jose. The algorithms are pinned (never `none`, never HS* — an HMAC check
// with a public key as its secret is the classic forgery), exp/iat/sub/aud/iss are required and
// checked with 30 s of leeway. Keys come from the identity provider's JWKS (refreshed and rotated
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

export interface JwtOptions {
  issuer: string;
  audience: string;
  jwksUrl?: string;
  jwksFile?: string;
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
  return async (token) => {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: JWT_ALGORITHMS,
      issuer: o.issuer,
      audience: o.audience,
      clockTolerance: JWT_LEEWAY_SECONDS,
      requiredClaims: ["exp", "iat", "sub", "aud", "iss"],
    });
    return {
      iss: payload.iss as string,
      sub: payload.sub as string,
      name: typeof payload.name === "string" ? payload.name : (payload.preferred_username as string | undefined),
      payload,
    };
  };
}
