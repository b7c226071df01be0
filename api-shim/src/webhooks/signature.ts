// Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_<base64>`, the
// signature `v1,<base64 HMAC-SHA256(key, "${id}.${timestamp}.${body}")>`. Written on node:crypto
// rather than with the standardwebhooks package so that the tests, which verify with that package,
// check this code against an independent implementation.
import { createHmac } from "node:crypto";
import { ReelError } from "@reel/crds";

const PREFIX = "whsec_";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The signing key from a Secret's value. The prefix is optional (as in the reference libraries);
 * the spec asks for 24 to 64 random bytes, and fewer than 24 is refused as too weak. Messages never
 * include the value.
 */
export function parseSecret(value: string): Buffer {
  const text = value.trim();
  const b64 = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : text;
  if (!BASE64.test(b64) || b64.length % 4 !== 0) {
    throw new ReelError("REEL_WEBHOOK_INVALID", "the webhook secret is not whsec_ followed by base64");
  }
  const key = Buffer.from(b64, "base64");
  if (key.length < 24) {
    throw new ReelError(
      "REEL_WEBHOOK_INVALID",
      `the webhook secret decodes to ${key.length} bytes; use 24 to 64 random bytes`,
    );
  }
  return key;
}

/**
 * What registration asks of a secret (API.md): `whsec_` and the base64 of 24 to 64 bytes. Stricter
 * than parseSecret, which keeps accepting what jobs registered before this check hold.
 */
export function isRegistrableSecret(value: string): boolean {
  const text = value.trim();
  if (!text.startsWith(PREFIX)) return false;
  const b64 = text.slice(PREFIX.length);
  if (!BASE64.test(b64) || b64.length % 4 !== 0) return false;
  const n = Buffer.from(b64, "base64").length;
  return n >= 24 && n <= 64;
}

/** The `webhook-signature` header value for one attempt. */
export function sign(key: Buffer, id: string, timestampSecs: number, body: string): string {
  const mac = createHmac("sha256", key).update(`${id}.${timestampSecs}.${body}`).digest("base64");
  return `v1,${mac}`;
}
