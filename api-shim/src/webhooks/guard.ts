// The registration check of a webhook URL: http(s) only, and no internal address unless the
// operator allowlisted it. Deliveries are guarded again, by the Rust egress proxy, on every attempt
// (the name may resolve elsewhere by then); this check exists so that a bad URL is a 400 when the
// job is created rather than a delivery that silently fails later.
import { lookup as dnsLookup } from "node:dns/promises";
import { ReelError } from "@reel/crds";
import { type AllowList, checkIp, ipBytes } from "./address.ts";

/** Resolves a host name to every address it has (dns.lookup with all: true). */
export type Lookup = (host: string) => Promise<{ address: string }[]>;

export const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** A URL as it may appear in logs and the database: no userinfo, no query, no fragment. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? "?…" : ""}`;
}

/** Whether redactUrl dropped anything, i.e. the stored form is not enough to send to. */
export function isRedacted(url: URL): boolean {
  return url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "";
}

export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new ReelError("REEL_WEBHOOK_INVALID", "the webhook URL is not a valid URL", { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ReelError("REEL_UNSUPPORTED_SCHEME", `webhook URLs must be http or https, got ${url.protocol}`);
  }
  return url;
}

/**
 * Parses and checks a webhook URL; resolves to the parsed URL. The WHATWG parser has already turned
 * odd IPv4 spellings (0x7f000001, 2130706433, 0177.0.0.1, 127.1) into dotted quads, so they are
 * checked like any literal. A name is resolved and every address it has must pass: one internal
 * address is enough to refuse, since the resolver may hand out either.
 */
export async function checkWebhookUrl(raw: string, allow: AllowList, lookup: Lookup = systemLookup): Promise<URL> {
  const url = parseWebhookUrl(raw);
  const host = url.hostname;
  if (ipBytes(host)) {
    checkIp(host.replace(/^\[|\]$/g, ""), allow);
    return url;
  }
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    // NXDOMAIN is an answer (a typo in the URL); anything else (EAI_AGAIN, a resolver outage) is
    // not the user's fault, so the URL is accepted and the delivery-time guard decides later.
    if (code === "ENOTFOUND" || code === "ENODATA") {
      throw new ReelError("REEL_WEBHOOK_INVALID", `the webhook host ${host} does not resolve`, { cause });
    }
    return url;
  }
  for (const { address } of addresses) {
    try {
      checkIp(address, allow);
    } catch (err) {
      // Not which address, nor what kind: that would answer "what does this internal name resolve
      // to" for anyone who may create a job.
      throw new ReelError(
        "REEL_EGRESS_DENIED",
        `webhook host ${host} resolves to an address the egress guard refuses; use a public host`,
        { cause: err },
      );
    }
  }
  return url;
}
