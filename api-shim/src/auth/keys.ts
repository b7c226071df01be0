// API keys: `reel_<8 chars id>_<32 chars secret>`, base62. The id is public (shown as the prefix
// and used to find the row); only SHA-256 of the whole key is stored, compared in constant time.
import { createHash, randomInt, timingSafeEqual } from "node:crypto";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_RE = /^reel_([0-9A-Za-z]{8})_([0-9A-Za-z]{32})$/;

function base62(n: number): string {
  let s = "";
  // randomInt is uniform over the alphabet (no modulo bias).
  for (let i = 0; i < n; i++) s += BASE62[randomInt(62)];
  return s;
}

export interface NewKey {
  id: string;
  key: string;
  /** What lists and logs may show: reel_<id>. */
  prefix: string;
  hash: Buffer;
}

export function generateKey(): NewKey {
  const id = base62(8);
  const key = `reel_${id}_${base62(32)}`;
  return { id, key, prefix: `reel_${id}`, hash: hashKey(key) };
}

export function hashKey(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

export function looksLikeKey(credential: string): boolean {
  return credential.startsWith("reel_");
}

/** The key's id, or undefined when it is not shaped like a key. */
export function parseKey(key: string): { id: string } | undefined {
  const m = KEY_RE.exec(key);
  return m?.[1] ? { id: m[1] } : undefined;
}

export function keyMatches(key: string, storedHash: Uint8Array): boolean {
  const h = hashKey(key);
  return storedHash.length === h.length && timingSafeEqual(h, storedHash);
}
