import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressAllowed, allowList, askSourceValidator } from "./source.ts";

describe("askSourceValidator (a real HEAD on loopback)", () => {
  let server: Server;
  let origin = "";
  let etag = '"v1"';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/moved") return void res.writeHead(302, { location: `${origin}/ep.mp4` }).end();
      if (req.url === "/inside") return void res.writeHead(302, { location: "http://127.0.0.1:9/ep.mp4" }).end();
      if (req.url === "/weak") return void res.writeHead(200, { etag: 'W/"x"', "content-length": 5 }).end();
      res.writeHead(req.url === "/ep.mp4" ? 200 : 404, { etag, "content-length": 1234 }).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.2", r));
    origin = `http://127.0.0.2:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const allow = ["127.0.0.2/32"];

  it("answers the ETag and length, and another validator once the source changes", async () => {
    expect(await askSourceValidator(`${origin}/ep.mp4`, allow)).toBe('etag "v1" length 1234');
    etag = '"v2"';
    expect(await askSourceValidator(`${origin}/ep.mp4`, allow)).toBe('etag "v2" length 1234');
  });

  it("follows a redirect, but not into an address the allowlist does not open", async () => {
    expect(await askSourceValidator(`${origin}/moved`, allow)).toBe(`etag ${etag} length 1234`);
    expect(await askSourceValidator(`${origin}/inside`, allow)).toBeUndefined();
  });

  it("answers nothing for loopback without the allowlist, a weak ETag or a 404", async () => {
    expect(await askSourceValidator(`${origin}/ep.mp4`, [])).toBeUndefined();
    expect(await askSourceValidator(`http://localhost:${new URL(origin).port}/ep.mp4`, [])).toBeUndefined();
    expect(await askSourceValidator(`${origin}/weak`, allow)).toBeUndefined();
    expect(await askSourceValidator(`${origin}/missing`, allow)).toBeUndefined();
  });
});

describe("addressAllowed", () => {
  it.each([
    ["93.184.216.34", true],
    ["10.1.2.3", false],
    ["169.254.169.254", false],
    ["::1", false],
    ["::ffff:10.0.0.1", false],
    ["fd00::1", false],
    ["2606:2800:220:1::1", true],
    // Missing from the operator's own table before it shared the shim's (the Rust guard's) one:
    ["192.0.2.1", false],
    ["64:ff9b::a00:1", false],
    ["2002:a00:1::1", false],
  ])("%s -> %s", (address, allowed) => {
    expect(addressAllowed(address, allowList([]))).toBe(allowed);
  });

  it("opens what the allowlist names", () => {
    expect(addressAllowed("10.1.2.3", allowList(["10.0.0.0/8"]))).toBe(true);
  });
});
