// `--allow` checked up front: each value is a CIDR or an address the egress guard can parse, and a
// range that opens the cloud metadata address (0.0.0.0/0, 169.254.0.0/16, ::/0, AWS's IPv6 one)
// needs `--allow-metadata`: opening it by accident hands the machine's credentials to any source.
import { BlockList, isIP } from "node:net";
import { ReelError } from "@reel/crds";

const METADATA: readonly [string, "ipv4" | "ipv6"][] = [
  ["169.254.169.254", "ipv4"],
  ["169.254.170.2", "ipv4"],
  ["fd00:ec2::254", "ipv6"],
  ["::ffff:169.254.169.254", "ipv6"],
];

/** Throws REEL_JOB_INVALID (exit 2) for a value that is not a CIDR, or one opening metadata unconfirmed. */
export function checkAllow(values: readonly string[], metadataConfirmed: boolean): void {
  for (const value of values) {
    const list = parseCidr(value);
    const opened = METADATA.find(([addr, family]) => list.check(addr, family));
    if (opened && !metadataConfirmed) {
      throw new ReelError(
        "REEL_JOB_INVALID",
        `--allow ${value} opens the cloud metadata address ${opened[0]}; give a narrower range, or add --allow-metadata if you mean it`,
      );
    }
  }
}

function parseCidr(value: string): BlockList {
  const [addr = "", prefix, ...rest] = value.split("/");
  const family = isIP(addr);
  const max = family === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
  if (family === 0 || rest.length > 0 || !(bits >= 0 && bits <= max)) {
    throw new ReelError(
      "REEL_JOB_INVALID",
      `--allow ${JSON.stringify(value)} is not a CIDR or IP address (e.g. 10.0.0.0/8, 192.168.1.7, fd12:3456::/32)`,
    );
  }
  const list = new BlockList();
  list.addSubnet(addr, bits, family === 4 ? "ipv4" : "ipv6");
  return list;
}
