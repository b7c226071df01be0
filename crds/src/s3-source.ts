// Where an `s3://bucket/key` episode is read from, decided once from the spec for the worker that
// presigns it and the operator that passes its credentials: the episode's own s3 settings, else
// spec.sources.s3, else the output's (spec.output.s3), field by field. No I/O, no secret values.
import { ReelError } from "./errors.ts";
import type { VideoJobSpec } from "./schema.ts";

export interface S3SourceRef {
  bucket: string;
  key: string;
  endpoint?: string;
  region?: string;
  /** The Secret holding accessKeyId and secretAccessKey. */
  credentialsSecret?: string;
  /**
   * Where the worker finds the keys: "AWS" — AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the output's
   * (or, without an S3 output, the source's own); "REEL_SOURCE_AWS" — REEL_SOURCE_AWS_ACCESS_KEY_ID /
   * REEL_SOURCE_AWS_SECRET_ACCESS_KEY, a Secret other than the output's.
   */
  credentialsEnv: "AWS" | "REEL_SOURCE_AWS";
}

/** The env names of a source's keys and the Secret keys they come from (operator secretKeyRefs). */
export function credentialEnvNames(prefix: S3SourceRef["credentialsEnv"]) {
  return [
    [`${prefix}_ACCESS_KEY_ID`, "accessKeyId"],
    [`${prefix}_SECRET_ACCESS_KEY`, "secretAccessKey"],
  ] as const;
}

export function isS3Url(url: string): boolean {
  return url.startsWith("s3://");
}

/** `s3://bucket/key` split; REEL_JOB_INVALID when it is not one. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m?.[1] || !m[2]) throw new ReelError("REEL_JOB_INVALID", `${url} is not s3://bucket/key`);
  return { bucket: m[1], key: m[2] };
}

/** The source of the spec's episode at `index` (an s3:// URL), its fields resolved. */
export function s3SourceOf(spec: Pick<VideoJobSpec, "episodes" | "sources" | "output">, index: number): S3SourceRef {
  const episode = spec.episodes[index];
  if (!episode) throw new ReelError("REEL_JOB_INVALID", `the spec has no episode ${index}`);
  const own = episode.s3 ?? {};
  const job = spec.sources?.s3 ?? {};
  const out = spec.output.s3;
  const endpoint = own.endpoint ?? job.endpoint ?? out?.endpoint;
  const region = own.region ?? job.region ?? out?.region;
  const credentialsSecret = own.credentialsSecret ?? job.credentialsSecret ?? out?.credentialsSecret;
  return {
    ...parseS3Url(episode.url),
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(credentialsSecret ? { credentialsSecret } : {}),
    // Without an S3 output the AWS_* pair is free for the source's own keys.
    credentialsEnv: !out || credentialsSecret === out.credentialsSecret ? "AWS" : "REEL_SOURCE_AWS",
  };
}
