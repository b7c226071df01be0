// What a worker pod may touch in Redis, and how it proves who it is: one ACL user per namespace
// (`reel-w-<namespace>`, made by the operator, operator/src/redis/), whose password lives in the
// Secret `reel-redis-worker` of that namespace and reaches the pod only by secretKeyRef
// (REEL_REDIS_USERNAME, REEL_REDIS_PASSWORD). The user may write its namespace's progress
// (contract/progress.ts), metadata cache and per-host politeness counts, nothing else: not another tenant's keys or channels,
// not the shim's rate limits, no administration.
import { PROGRESS_PREFIX } from "./progress.ts";

/** The Secret, in each namespace that runs VideoJobs, holding its worker pods' Redis user. */
export const WORKER_REDIS_SECRET = "reel-redis-worker";
/** Label on that Secret: made by the operator, owned by no VideoJob (it outlives them). */
export const WORKER_REDIS_SECRET_LABEL = { "app.kubernetes.io/component": "reel-redis-worker" } as const;
/** The pod env names and the Secret keys they come from. */
export const WORKER_REDIS_ENV = [
  ["REEL_REDIS_USERNAME", "username"],
  ["REEL_REDIS_PASSWORD", "password"],
] as const;

/** Where the worker's metadata cache (probe results) lives: per namespace, so no tenant can seed another's. */
export const METADATA_PREFIX = "reel:meta:";

/**
 * Where a job's per-host politeness counts live (worker-image fetch/politeness.ts): per namespace
 * and job, so that all pods of one job share a limit and no tenant can fill another's.
 */
export const POLITENESS_PREFIX = "reel:polite:";

/** A job's politeness key prefix: `reel:polite:<namespace>/<job>:` (a host and :conn or :rate follow). */
export const politenessPrefix = (namespace: string, job: string) =>
  `${POLITENESS_PREFIX}${workerNamespace(namespace)}/${job}:`;

/** A namespace is a DNS label: no character of it can widen a Redis pattern (`*`, `?`, `[`, `\`). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The namespace, checked; throws for anything that is not a DNS label. */
export function workerNamespace(namespace: string): string {
  if (!DNS_LABEL.test(namespace)) {
    throw new Error(`"${namespace.slice(0, 80)}" is not a namespace name (a DNS label)`);
  }
  return namespace;
}

/** The Redis ACL user of a namespace's worker pods. */
export const workerRedisUser = (namespace: string) => `reel-w-${workerNamespace(namespace)}`;

/** The metadata cache's key prefix for a namespace's pods. */
export const metadataPrefix = (namespace: string) => `${METADATA_PREFIX}${workerNamespace(namespace)}/`;

/** Escapes Redis glob characters, so that a name can only ever match itself. */
export const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** The key and channel patterns a namespace's worker user is given (each ends in its one `*`). */
export function workerPatterns(namespace: string): { keys: string[]; channels: string[] } {
  const ns = globEscape(workerNamespace(namespace));
  return {
    keys: [`${PROGRESS_PREFIX}${ns}/*`, `${METADATA_PREFIX}${ns}/*`, `${POLITENESS_PREFIX}${ns}/*`],
    channels: [`${PROGRESS_PREFIX}${ns}/*`],
  };
}
