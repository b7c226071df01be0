// The pod's result as one JSON object in the termination log. Kubernetes keeps at most 4096 bytes
// of it (and cuts the rest, which would leave broken JSON), so the message is shrunk step by step
// until it fits, and always stays valid JSON with its mode, phase and error code.
import { writeFile } from "node:fs/promises";

export const TERMINATION_LIMIT = 4096;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** Cuts a string to at most `max` code points (never half a surrogate pair), marking the cut. */
export function cut(s: string, max: number): string {
  const points = Array.from(s);
  return points.length <= max ? s : `${points.slice(0, Math.max(0, max - 1)).join("")}…`;
}

function mapStrings(v: Json, max: number, keep: ReadonlySet<string>, key = ""): Json {
  if (typeof v === "string") return keep.has(key) ? v : cut(v, max);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, max, keep, key));
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, max, keep, k)]));
  }
  return v;
}

function dropKeys(v: Json, drop: ReadonlySet<string>): Json {
  if (Array.isArray(v)) return v.map((x) => dropKeys(x, drop));
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !drop.has(k))
        .map(([k, x]) => [k, dropKeys(x, drop)]),
    );
  }
  return v;
}

/** Arrays longer than `n` keep their first n items; `<key>Omitted` says how many went. */
function shortenArrays(v: Json, n: number): Json {
  if (Array.isArray(v)) return v.map((x) => shortenArrays(x, n));
  if (v && typeof v === "object") {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      if (Array.isArray(x) && x.length > n) {
        out[k] = x.slice(0, n).map((y) => shortenArrays(y, n));
        out[`${k}Omitted`] = x.length - n;
      } else out[k] = shortenArrays(x, n);
    }
    return out;
  }
  return v;
}

const URLS = new Set(["url"]);

/** The result as compact JSON of at most `limit` bytes. */
export function terminationMessage(result: object, limit = TERMINATION_LIMIT): string {
  const full = JSON.parse(JSON.stringify(result)) as Record<string, Json>;
  const first = JSON.stringify(full);
  if (bytes(first) <= limit) return first;
  // Least useful detail goes first: long texts (presigned URLs kept while they can be), then
  // items of long lists, then URLs, then every text down to a short head.
  const steps: ((v: Json) => Json)[] = [
    (v) => mapStrings(v, 1024, URLS),
    (v) => mapStrings(v, 256, URLS),
    (v) => shortenArrays(v, 8),
    (v) => shortenArrays(v, 2),
    (v) => dropKeys(v, new Set(["url", "urlExpiresAt"])),
    (v) => mapStrings(v, 64, new Set()),
  ];
  let v: Json = full;
  for (const step of steps) {
    v = step(v);
    const s = JSON.stringify({ ...(v as object), truncated: true });
    if (bytes(s) <= limit) return s;
  }
  // Last resort: what the operator must have (mode, phase, error code), the message cut to fit.
  const error = full.error as { code?: Json; message?: Json } | undefined;
  const minimal = {
    mode: full.mode ?? null,
    ...(full.index !== undefined ? { index: full.index } : {}),
    phase: full.phase ?? null,
    ...(error ? { error: { code: error.code ?? null, message: "" } } : {}),
    truncated: true,
  };
  const room = limit - bytes(JSON.stringify(minimal));
  if (error && room > 0) {
    let message = typeof error.message === "string" ? error.message : "";
    // Escapes make JSON longer than the text: shrink until the encoded form fits.
    let max = room;
    while (max > 0) {
      const m = cut(message, max);
      if (bytes(JSON.stringify(m)) - 2 <= room) {
        message = m;
        break;
      }
      max = Math.floor(max * 0.8);
    }
    if (max <= 0) message = "";
    (minimal.error as { message: string }).message = message;
  }
  return JSON.stringify(minimal);
}

/** Writes the message where Kubernetes reads it; a failure is the caller's to log, never fatal. */
export async function writeTermination(path: string, message: string): Promise<void> {
  await writeFile(path, message);
}
