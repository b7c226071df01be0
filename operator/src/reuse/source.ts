// Asks a source what its bytes are now, without downloading them: one HEAD (redirects followed, at
// most 5), its ETag / Last-Modified / Content-Length made into the crds validator; an s3:// object
// by HeadObject with the Secret its episode names (as its pod would read it). The operator runs
// this on the user's URL, so it connects only to public addresses, or to those the installation's
// egress allowlist opens (the same REEL_EGRESS_ALLOW the worker pods get): every address a name
// resolves to is checked at connect time, so a name cannot be rebound to the cluster's inside.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { lookup } from "node:dns";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { s3SourceOf, type VideoJob } from "@reel/crds";
import { sourceValidator } from "@reel/crds/reuse";
import type { KubeApi } from "../kube/api.ts";
import { s3ClientFor } from "../reconcile/staging.ts";

const PRIVATE_V4 = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const;
const PRIVATE_V6 = [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const;

/** Private and special ranges, refused unless the allowlist opens them. */
const blocked = new BlockList();
for (const [net, bits] of PRIVATE_V4) blocked.addSubnet(net, bits, "ipv4");
for (const [net, bits] of PRIVATE_V6) blocked.addSubnet(net, bits, "ipv6");

/** The allowlist (CIDRs, or single addresses) as a BlockList to test addresses against. */
export function allowList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [net = "", bits] = c.split("/");
    const family = isIP(net) === 6 ? "ipv6" : "ipv4";
    if (!isIP(net)) continue;
    list.addSubnet(net, bits === undefined ? (family === "ipv6" ? 128 : 32) : Number(bits), family);
  }
  return list;
}

/** May the operator connect to this address? */
export function addressAllowed(address: string, allowed: BlockList): boolean {
  // An IPv4-mapped IPv6 address is its IPv4 address (a ::ffff:0:0/96 rule would also match plain IPv4).
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return addressAllowed(mapped, allowed);
  const family = isIP(address) === 6 ? "ipv6" : "ipv4";
  if (allowed.check(address, family)) return true;
  return !blocked.check(address, family);
}

/** A DNS lookup that answers only addresses the guard allows (all of them, or an error). */
function guardedLookup(allowed: BlockList): LookupFunction {
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
  const lookupFn = guardedLookup(allowList(egressAllow));
  const signal = AbortSignal.timeout(timeoutMs);
  let at = new URL(url);
  for (let hop = 0; hop <= 5; hop++) {
    if (at.protocol !== "http:" && at.protocol !== "https:") return undefined;
    if (
      isIP(at.hostname.replace(/^\[|\]$/g, "")) &&
      !addressAllowed(at.hostname.replace(/^\[|\]$/g, ""), allowList(egressAllow))
    ) {
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
