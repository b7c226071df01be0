// Which IP addresses Reel's own processes may connect to on a user's behalf, decided from the
// address alone: the shim's webhook registration and the operator's reuse check (one HEAD of a
// source) both classify with this table.
//
// The Rust core's EgressPolicy (crates/core/src/egress.rs) is the guard every delivery and download
// goes through (the egress proxy). @reel/native exposes that guard only as a proxy, not as a check,
// so code that must decide before any traffic needs the same classification here. This file
// mirrors the Rust table line by line; api-shim's webhooks/address.test.ts asks the Rust proxy about
// every internal address in it, so the two cannot drift apart unnoticed.
import { isIPv4, isIPv6 } from "node:net";
import { ReelError } from "./errors.ts";

/** 4 bytes for IPv4, 16 for IPv6. */
type Bytes = readonly number[];

function v4Bytes(s: string): Bytes {
  return s.split(".").map(Number);
}

/** Expands any valid IPv6 spelling (with `::`, a zone or a dotted IPv4 tail) into 16 bytes. */
function v6Bytes(raw: string): Bytes {
  const s = raw.split("%")[0] ?? raw;
  const groups = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (g.includes(".")) {
        const [a = 0, b = 0, c = 0, d = 0] = v4Bytes(g);
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const [head = "", tail] = s.split("::");
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const words = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The bytes of an IP literal, or undefined when `ip` is not one. Brackets are accepted. */
export function ipBytes(ip: string): Bytes | undefined {
  const s = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  if (isIPv4(s)) return v4Bytes(s);
  if (isIPv6(s)) return v6Bytes(s);
  return undefined;
}

function inNet(ip: Bytes, net: Bytes, prefix: number): boolean {
  if (ip.length !== net.length) return false;
  for (let i = 0; i < ip.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    if (bits === 0) return true;
    const mask = (0xff << (8 - bits)) & 0xff;
    if (((ip[i] ?? 0) & mask) !== ((net[i] ?? 0) & mask)) return false;
  }
  return true;
}

const V4_METADATA: Bytes[] = [
  [169, 254, 169, 254], // AWS, GCP, Azure, OpenStack
  [100, 100, 100, 200], // Alibaba Cloud
  [192, 0, 0, 192], // Oracle Cloud
];

const V4_TABLE: [Bytes, number, string][] = [
  [[0, 0, 0, 0], 8, "unspecified / this-network (0.0.0.0/8)"],
  [[10, 0, 0, 0], 8, "private (10.0.0.0/8)"],
  [[100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"],
  [[127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"],
  [[169, 254, 0, 0], 16, "link-local (169.254.0.0/16)"],
  [[172, 16, 0, 0], 12, "private (172.16.0.0/12)"],
  [[192, 0, 0, 0], 24, "IETF protocol assignments (192.0.0.0/24)"],
  [[192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"],
  [[192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"],
  [[192, 168, 0, 0], 16, "private (192.168.0.0/16)"],
  [[198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"],
  [[198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"],
  [[203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"],
  [[224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"],
  [[240, 0, 0, 0], 4, "reserved or broadcast (240.0.0.0/4)"],
];

function classifyV4(ip: Bytes): string | undefined {
  if (V4_METADATA.some((m) => m.every((b, i) => ip[i] === b))) return "a cloud metadata address";
  return V4_TABLE.find(([net, prefix]) => inNet(ip, net, prefix))?.[2];
}

const word = (ip: Bytes, i: number) => ((ip[2 * i] ?? 0) << 8) | (ip[2 * i + 1] ?? 0);

function mappedV4(ip: Bytes): Bytes | undefined {
  if (ip.length === 16 && ip.slice(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) {
    return ip.slice(12);
  }
  return undefined;
}

function classifyV6(ip: Bytes): string | undefined {
  const w = (i: number) => word(ip, i);
  if (ip.every((b) => b === 0)) return "unspecified (::)";
  if (ip.slice(0, 15).every((b) => b === 0) && ip[15] === 1) return "loopback (::1)";
  if (w(0) === 0xfd00 && w(1) === 0x0ec2 && [2, 3, 4, 5, 6].every((i) => w(i) === 0) && w(7) === 0x0254) {
    return "a cloud metadata address (fd00:ec2::254)";
  }
  // Addresses that embed an IPv4 address reach that IPv4 host: judge them by it.
  const mapped = mappedV4(ip);
  if (mapped) return classifyV4(mapped) && "an IPv4-mapped internal address";
  const low32 = ip.slice(12);
  if ([0, 1, 2, 3, 4, 5].every((i) => w(i) === 0)) return "an IPv4-compatible address (::/96)";
  if (w(0) === 0x64 && w(1) === 0xff9b && [2, 3, 4, 5].every((i) => w(i) === 0)) {
    return classifyV4(low32) && "a NAT64 embedding of an internal address (64:ff9b::/96)";
  }
  if (w(0) === 0x64 && w(1) === 0xff9b && w(2) === 1) return "local-use NAT64 (64:ff9b:1::/48)";
  if (w(0) === 0x2002) return classifyV4(ip.slice(2, 6)) && "a 6to4 embedding of an internal address (2002::/16)";
  if (w(0) === 0x2001 && w(1) === 0) {
    // Teredo: the client address is stored inverted in the low 32 bits.
    return classifyV4(low32.map((b) => ~b & 0xff)) && "a Teredo embedding of an internal address (2001::/32)";
  }
  if ((w(0) & 0xff00) === 0xff00) return "multicast (ff00::/8)";
  if ((w(0) & 0xfe00) === 0xfc00) return "unique local (fc00::/7)";
  if ((w(0) & 0xffc0) === 0xfe80) return "link-local (fe80::/10)";
  if ((w(0) & 0xffc0) === 0xfec0) return "site-local (fec0::/10)";
  if (w(0) === 0x2001 && w(1) === 0x0db8) return "documentation (2001:db8::/32)";
  if (w(0) === 0x3fff && (w(1) & 0xf000) === 0) return "documentation (3fff::/20)";
  if (w(0) === 0x0100 && [1, 2, 3].every((i) => w(i) === 0)) return "discard-only (100::/64)";
  if (w(0) === 0x2001 && (w(1) & 0xfff0) === 0x0010) return "ORCHID (2001:10::/28)";
  return undefined;
}

/** Why an IP literal is internal, or undefined for a public address. */
export function classifyIp(ip: string): string | undefined {
  const bytes = ipBytes(ip);
  if (!bytes) throw new ReelError("REEL_INVALID_ARGUMENT", `not an IP address: ${ip}`);
  return bytes.length === 4 ? classifyV4(bytes) : classifyV6(bytes);
}

/** The operator's allowlist: CIDRs (or single IPs) opened past the guard. */
export interface AllowList {
  allows(ip: string): boolean;
}

export function parseAllowList(entries: readonly string[]): AllowList {
  const nets = entries.map((entry) => {
    const s = entry.trim();
    const [addr = "", prefixText] = s.split("/");
    const bytes = ipBytes(addr);
    const max = bytes?.length === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!bytes || !/^\d*$/.test(prefixText ?? "") || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new ReelError(
        "REEL_INVALID_ARGUMENT",
        `egress allow entry ${JSON.stringify(s)} is not a CIDR or IP address`,
      );
    }
    return { bytes, prefix };
  });
  return {
    allows(ip) {
      const bytes = ipBytes(ip);
      if (!bytes) return false;
      // An IPv4-mapped address is the same host as its IPv4 form: an entry for one opens the other.
      const canonical = mappedV4(bytes) ?? bytes;
      return nets.some((n) => inNet(bytes, n.bytes, n.prefix) || inNet(canonical, n.bytes, n.prefix));
    },
  };
}

/** Throws REEL_EGRESS_DENIED unless `ip` is public or allowlisted. */
export function checkIp(ip: string, allow: AllowList): void {
  if (allow.allows(ip)) return;
  const why = classifyIp(ip);
  if (why) {
    throw new ReelError(
      "REEL_EGRESS_DENIED",
      `address ${ip} is ${why}; internal addresses are refused unless allowlisted`,
    );
  }
}
