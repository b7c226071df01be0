import { request } from "node:http";
import { type EgressProxyHandle, startEgressProxy } from "@reel/native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkIp, classifyIp, parseAllowList } from "./address.ts";

// The tables of crates/core/src/egress.rs's classifier test, kept identical.
const INTERNAL = [
  "127.0.0.1",
  "127.255.255.254",
  "10.1.2.3",
  "172.16.0.1",
  "172.31.255.255",
  "192.168.1.1",
  "169.254.169.254",
  "169.254.1.1",
  "100.64.0.1",
  "100.127.255.255",
  "100.100.100.200",
  "0.0.0.0",
  "0.1.2.3",
  "255.255.255.255",
  "224.0.0.1",
  "239.255.255.250",
  "240.0.0.1",
  "192.0.2.5",
  "198.51.100.7",
  "203.0.113.9",
  "198.18.0.1",
  "198.19.255.255",
  "192.0.0.192",
  "192.88.99.1",
  "::",
  "::1",
  "fe80::1",
  "fc00::1",
  "fd12:3456::1",
  "fd00:ec2::254",
  "ff02::1",
  "::ffff:127.0.0.1",
  "::ffff:10.0.0.1",
  "::ffff:169.254.169.254",
  "::127.0.0.1",
  "64:ff9b::10.0.0.1",
  "64:ff9b::127.0.0.1",
  "64:ff9b:1::1",
  "2002:7f00:1::",
  "2002:a00:1::1",
  "2001:db8::1",
  "fec0::1",
  "100::1",
  "2001:0:4136:e378:8000:63bf:80ff:fffe",
];
const PUBLIC = [
  "1.1.1.1",
  "8.8.8.8",
  "93.184.216.34",
  "172.32.0.1",
  "172.15.255.255",
  "100.128.0.1",
  "100.63.255.255",
  "192.169.0.1",
  "169.255.0.1",
  "11.0.0.1",
  "2606:4700:4700::1111",
  "2a00:1450:4001:80b::200e",
  "::ffff:8.8.8.8",
  "64:ff9b::8.8.8.8",
  "2002:808:808::1",
];

describe("classifyIp (the Rust guard's table in TypeScript)", () => {
  it.each(INTERNAL)("%s is internal", (ip) => {
    expect(classifyIp(ip)).toBeTypeOf("string");
  });

  it.each(PUBLIC)("%s is public", (ip) => {
    expect(classifyIp(ip)).toBeUndefined();
  });

  it("names why an address is refused", () => {
    expect(classifyIp("169.254.169.254")).toBe("a cloud metadata address");
    expect(classifyIp("::ffff:7f00:1")).toBe("an IPv4-mapped internal address");
    expect(classifyIp("[::1]")).toBe("loopback (::1)");
  });
});

describe("the allowlist", () => {
  it("opens only the chosen ranges, an IPv4 entry covering its IPv4-mapped form", () => {
    const allow = parseAllowList(["127.0.0.1/32", "10.0.0.0/8", "::1"]);
    expect(() => checkIp("127.0.0.1", allow)).not.toThrow();
    expect(() => checkIp("::ffff:127.0.0.1", allow)).not.toThrow();
    expect(() => checkIp("10.9.9.9", allow)).not.toThrow();
    expect(() => checkIp("::1", allow)).not.toThrow();
    expect(() => checkIp("127.0.0.2", allow)).toThrow(expect.objectContaining({ code: "REEL_EGRESS_DENIED" }));
    expect(() => checkIp("192.168.0.1", allow)).toThrow(expect.objectContaining({ code: "REEL_EGRESS_DENIED" }));
    expect(() => checkIp("8.8.8.8", allow)).not.toThrow();
  });

  it.each(["not-a-net", "10.0.0.0/33", "::1/129", "10.0.0.0/x", ""])("refuses the entry %j", (entry) => {
    expect(() => parseAllowList([entry])).toThrow(expect.objectContaining({ code: "REEL_INVALID_ARGUMENT" }));
  });
});

describe("agreement with the Rust egress proxy", () => {
  let proxy: EgressProxyHandle;
  beforeAll(async () => {
    proxy = await startEgressProxy({ connectTimeoutMs: 500 });
  });
  afterAll(() => proxy.stop());

  /** The status line the proxy answers a CONNECT to ip:9 with (refused addresses are never dialled). */
  function connectStatus(ip: string): Promise<string> {
    const { hostname, port } = new URL(proxy.url);
    const authority = ip.includes(":") ? `[${ip}]:9` : `${ip}:9`;
    return new Promise((resolve, reject) => {
      const req = request({ host: hostname, port, method: "CONNECT", path: authority });
      req.on("connect", (res, socket) => {
        socket.destroy();
        resolve(`${res.statusCode} ${res.statusMessage}`);
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("refuses every address this table calls internal", async () => {
    for (const ip of INTERNAL) {
      expect(classifyIp(ip), ip).toBeTypeOf("string");
      expect(await connectStatus(ip), ip).toBe("403 Forbidden by Reel egress policy");
    }
  });
});
