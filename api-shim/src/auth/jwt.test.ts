import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJwtVerifier, type JwtVerifier } from "./jwt.ts";
import { createHmac } from "node:crypto";

const iss = "https://id.example.com";
const aud = "reel";

describe("JWT verification", () => {
  let dir: string;
  let file: string;
  let priv: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  let pubJwk: JWK;
  let verify: JwtVerifier;
  const sign = (
    claims: Record<string, unknown>,
    o: { exp?: string | number | false; kid?: string; key?: typeof priv } = {},
  ) => {
    let t = new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: o.kid ?? "k1" }).setIssuedAt();
    if (o.exp !== false) t = t.setExpirationTime(o.exp ?? "5m");
    return t.sign(o.key ?? priv);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-jwt-"));
    file = join(dir, "jwks.json");
    const kp = await generateKeyPair("ES256", { extractable: true });
    priv = kp.privateKey;
    pubJwk = { ...(await exportJWK(kp.publicKey)), kid: "k1", alg: "ES256" };
    await writeFile(file, JSON.stringify({ keys: [pubJwk] }));
    verify = createJwtVerifier({ issuer: iss, audience: aud, jwksFile: file });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("accepts a valid ES256 token and returns iss and sub", async () => {
    const t = await sign({ iss, aud, sub: "alice" });
    await expect(verify(t)).resolves.toMatchObject({ iss, sub: "alice" });
  });

  it("refuses alg none, HS256 keyed with the public key, expiry, a missing exp, sub, or iat, and a foreign audience or issuer", async () => {
    const none = new UnsecuredJWT({ iss, aud, sub: "a" }).setIssuedAt().setExpirationTime("5m").encode();
    await expect(verify(none)).rejects.toThrow();
    // HS256 with the public JWK (as text) as the HMAC secret.
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const body = `${b64({ alg: "HS256", kid: "k1" })}.${b64({ iss, aud, sub: "a", iat: now, exp: now + 300 })}`;
    const hs = `${body}.${createHmac("sha256", JSON.stringify(pubJwk)).update(body).digest("base64url")}`;
    await expect(verify(hs)).rejects.toThrow();
    await expect(verify(await sign({ iss, aud, sub: "a" }, { exp: now - 60 }))).rejects.toThrow(/exp/);
    await expect(verify(await sign({ iss, aud, sub: "a" }, { exp: false }))).rejects.toThrow(/exp/);
    await expect(verify(await sign({ iss, aud }))).rejects.toThrow(/sub/);
    await expect(verify(await sign({ iss, aud: "other", sub: "a" }))).rejects.toThrow(/aud/);
    await expect(verify(await sign({ iss: "https://evil.example.com", aud, sub: "a" }))).rejects.toThrow(/iss/);
  });

  it("refuses an iat in the future, a lifetime or age past the maximum, and an empty or control-character sub", async () => {
    const now = Math.floor(Date.now() / 1000);
    const raw = (claims: Record<string, unknown>) =>
      new SignJWT({ iss, aud, ...claims }).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(priv);
    await expect(verify(await raw({ sub: "a", iat: now + 3600, exp: now + 7200 }))).rejects.toThrow(/iat/);
    await expect(verify(await raw({ sub: "a", iat: now, exp: now + 10 * 365 * 86400 }))).rejects.toThrow(/lifetime/);
    await expect(verify(await raw({ sub: "a", iat: now - 2 * 86400, exp: now + 60 }))).rejects.toThrow(/iat|age/);
    await expect(verify(await raw({ sub: "", iat: now, exp: now + 60 }))).rejects.toThrow(/sub/);
    await expect(verify(await raw({ sub: "a\u0000b", iat: now, exp: now + 60 }))).rejects.toThrow(/sub/);
    await expect(verify(await raw({ sub: "a", iat: now, exp: now + 3600 }))).resolves.toMatchObject({ sub: "a" });
  });

  it("allows 30 s of clock skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expect(verify(await sign({ iss, aud, sub: "a" }, { exp: now - 10 }))).resolves.toMatchObject({ sub: "a" });
  });

  it("picks up a rotated key from the JWKS file by its kid", async () => {
    const kp2 = await generateKeyPair("EdDSA", { extractable: true });
    const jwk2 = { ...(await exportJWK(kp2.publicKey)), kid: "k2", alg: "EdDSA" };
    await writeFile(file, JSON.stringify({ keys: [pubJwk, jwk2] }));
    await new Promise((r) => setTimeout(r, 1100));
    const t = await new SignJWT({ iss, aud, sub: "bob" })
      .setProtectedHeader({ alg: "EdDSA", kid: "k2" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(kp2.privateKey);
    await expect(verify(t)).resolves.toMatchObject({ sub: "bob" });
  });
});
