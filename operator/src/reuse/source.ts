// Asks a source what its bytes are now, without downloading them: one HEAD (redirects followed, at
// most 5), its ETag / Last-Modified / Content-Length made into the crds validator; an s3:// object
// by HeadObject with the Secret its episode names (as its pod would read it). The operator runs
// this on the user's URL, so it connects only to public addresses, or to those the installation's
// egress allowlist opens (the same REEL_EGRESS_ALLOW the worker pods get): every address a name
// resolves to is checked at connect time, so a name cannot be rebound to the cluster's inside.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { lookup } from "node:dns";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { s3SourceOf, type VideoJob } from "@reel/crds";
import { type AllowList, classifyIp, parseAllowList } from "@reel/crds/egress-address";
import { sourceValidator } from "@reel/crds/reuse";
import type { KubeApi } from "../kube/api.ts";
import { s3ClientFor } from "../reconcile/staging.ts";

/**
 * The allowlist (CIDRs, or single addresses). An entry that is not one opens nothing here (the
 * worker pods' guard refuses it at their start).
 */
export function allowList(cidrs: readonly string[]): AllowList {
  const valid = (c: string) => {
    try {
      parseAllowList([c]);
      return true;
    } catch {
      return false;
    }
  };
  return parseAllowList(cidrs.filter(valid));
}

/** May the operator connect to this address? Public ones (the shim's and the Rust guard's table), or allowlisted. */
export function addressAllowed(address: string, allowed: AllowList): boolean {
  return allowed.allows(address) || classifyIp(address) === undefined;
}

/** A DNS lookup that answers only addresses the guard allows (all of them, or an error). */
function guardedLookup(allowed: AllowList): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const list = addresses as unknown as { address: string; family: number }[];
      const bad = list.find((a) => !addressAllowed(a.address, allowed));
      if (bad || !list.length) {
        const e = Object.assign(
          new Error(`${hostname} resolves to ${bad?.address ?? "nothing"}, outside the egress allowlist`),
          {
            code: "EREFUSED",
          },
        );
        return callback(e, "", 0);
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      const first = list[0] as { address: string; family: number };
      return callback(null, first.address, first.family);
    });
  };
}

interface Head {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

function head(url: URL, lookupFn: LookupFunction, signal: AbortSignal): Promise<Head> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "HEAD", lookup: lookupFn, signal, headers: { "user-agent": "reel-operator" } });
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on("error", reject);
    req.end();
  });
}

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * The source's validator now, or undefined when it cannot be told (no validator, an error, a
 * refused address, a non-2xx answer): the caller then runs the episode again.
 */
export async function askSourceValidator(
  url: string,
  egressAllow: readonly string[],
  timeoutMs = 5000,
): Promise<string | undefined> {
  const allowed = allowList(egressAllow);
  const lookupFn = guardedLookup(allowed);
  const signal = AbortSignal.timeout(timeoutMs);
  let at = new URL(url);
  for (let hop = 0; hop <= 5; hop++) {
    if (at.protocol !== "http:" && at.protocol !== "https:") return undefined;
    if (isIP(at.hostname.replace(/^\[|\]$/g, "")) && !addressAllowed(at.hostname.replace(/^\[|\]$/g, ""), allowed)) {
      return undefined;
    }
    const r = await head(at, lookupFn, signal).catch(() => undefined);
    if (!r) return undefined;
    const location = one(r.headers.location);
    if (r.status >= 300 && r.status < 400 && location) {
      at = new URL(location, at);
      continue;
    }
    if (r.status < 200 || r.status >= 300) return undefined;
    const length = Number(one(r.headers["content-length"]));
    return sourceValidator({
      etag: one(r.headers.etag),
      lastModified: one(r.headers["last-modified"]),
      length: Number.isFinite(length) ? length : undefined,
    });
  }
  return undefined;
}

/**
 * An s3:// episode's validator now: HeadObject at its endpoint with the keys of the Secret it names
 * (crds s3SourceOf: its own, spec.sources.s3's, or the output's). Undefined when it cannot be told.
 * The endpoint is the one the job's pod would reach; the operator already talks to the output's.
 */
export async function askS3Validator(api: KubeApi, vj: VideoJob, index: number): Promise<string | undefined> {
  const ref = s3SourceOf(vj.spec, index);
  if (!ref.credentialsSecret) return undefined;
  const client = await s3ClientFor(api, vj.metadata.namespace, {
    secret: ref.credentialsSecret,
    endpoint: ref.endpoint,
    region: ref.region,
  });
  if ("skipped" in client) return undefined;
  try {
    const r = await client.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
    // Only the ETag: the worker's download records the ETag and length (no Last-Modified).
    return sourceValidator({ etag: r.ETag, length: r.ContentLength });
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}
