// The installation's output settings (the chart's s3.serverSideEncryption/kmsKeyId,
// outputs.publicBaseUrl and outputs.retention): parsed the same way by the operator, which refuses
// a bad value at start, and by the worker (`reel worker` pods get them from the operator, `reel run`
// from its own environment). Every refusal is REEL_CONFIG_INVALID with the variable's name.
import { ReelError } from "./errors.ts";

export type ServerSideEncryption = "AES256" | "aws:kms";

export interface OutputSettings {
  /** SSE asked on every object written (PutObject / CreateMultipartUpload); absent: the bucket's default. */
  sse?: ServerSideEncryption;
  /** KMS key for aws:kms; absent with aws:kms: the account's AWS-managed key (aws/s3). */
  kmsKeyId?: string;
  /** Outputs are reported as `<publicBaseUrl>/<key>` instead of a presigned URL. No trailing slash. */
  publicBaseUrl?: string;
  /** S3 storage class of outputs (contract/storage-class.ts); absent: the bucket's default. Never on staging. */
  storageClass?: string;
}

const invalid = (message: string) => new ReelError("REEL_CONFIG_INVALID", message);

/** REEL_S3_SSE ("" | AES256 | aws:kms) and REEL_S3_SSE_KMS_KEY_ID. */
export function parseSse(sse = "", kmsKeyId = ""): Pick<OutputSettings, "sse" | "kmsKeyId"> {
  const mode = sse.trim();
  const key = kmsKeyId.trim();
  if (mode !== "" && mode !== "AES256" && mode !== "aws:kms") {
    throw invalid(`REEL_S3_SSE is ${JSON.stringify(sse)}: use "" (the bucket's default), AES256 or aws:kms`);
  }
  if (key && mode !== "aws:kms") {
    throw invalid(
      `REEL_S3_SSE_KMS_KEY_ID is set but REEL_S3_SSE is ${JSON.stringify(mode)}: a KMS key applies only to aws:kms`,
    );
  }
  if (key && /\s/.test(key)) throw invalid("REEL_S3_SSE_KMS_KEY_ID must not contain spaces");
  return { ...(mode ? { sse: mode } : {}), ...(key ? { kmsKeyId: key } : {}) };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * REEL_OUTPUT_PUBLIC_BASE_URL: https (http only on loopback, for tests), no credentials, no query
 * or fragment (a key is appended to it, so neither could be kept). Returned without a trailing slash.
 */
export function parsePublicBaseUrl(text = ""): string | undefined {
  const raw = text.trim();
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid(
      `REEL_OUTPUT_PUBLIC_BASE_URL ${JSON.stringify(raw)} is not a URL: use e.g. https://cdn.example.com/videos`,
    );
  }
  if (u.protocol !== "https:" && !(u.protocol === "http:" && LOOPBACK.test(u.hostname))) {
    throw invalid(`REEL_OUTPUT_PUBLIC_BASE_URL must be https:// (http:// only on loopback), not ${u.protocol}//…`);
  }
  if (u.username || u.password) {
    throw invalid("REEL_OUTPUT_PUBLIC_BASE_URL must not hold credentials (user:password@): every status shows it");
  }
  if (u.search || u.hash || raw.includes("?") || raw.includes("#")) {
    throw invalid("REEL_OUTPUT_PUBLIC_BASE_URL must not have a query or fragment: the object key is appended to it");
  }
  return `${u.origin}${u.pathname}`.replace(/\/+$/, "");
}

/** `<base>/<key>` with each path segment of the key percent-encoded ("Season 1.mp4" -> "Season%201.mp4"). */
export function publicUrl(base: string, key: string): string {
  return `${base}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

const UNIT_SECS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/**
 * A retention period ("30d", "720h", "1h30m", "2s") in seconds; "" is undefined (keep forever).
 * `name` is the variable, for the message.
 */
export function parseRetention(name: string, text = ""): number | undefined {
  const raw = text.trim();
  if (!raw) return undefined;
  if (!/^([0-9]+[smhd])+$/.test(raw)) {
    throw invalid(`${name} is ${JSON.stringify(raw)}: use a duration such as 30d, 720h or 1h30m ("" keeps forever)`);
  }
  let secs = 0;
  for (const [, n, unit] of raw.matchAll(/([0-9]+)([smhd])/g))
    secs += Number(n) * UNIT_SECS[unit as keyof typeof UNIT_SECS];
  if (secs <= 0)
    throw invalid(`${name} is ${JSON.stringify(raw)}: a retention must be longer than 0 ("" keeps forever)`);
  return secs;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/**
 * A byte quantity as the chart passes sizes ("20Gi", "500M", "1073741824": strings, since helm
 * prints a large number from values.yaml as a float) in bytes, rounded up; undefined when it is not
 * one. The operator's and the shim's settings read sizes with it.
 */
export function parseBytes(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(|k|M|G|T|Ki|Mi|Gi|Ti)$/.exec(text.trim());
  if (!m) return undefined;
  return Math.ceil(Number(m[1]) * (BYTE_UNITS[m[2] ?? ""] ?? 1));
}
