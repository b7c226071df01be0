// The in-pod probe run here by this Node against local listeners: what it prints for an open port
// that answers, one that stays silent, and a closed one, and the reader of its line.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseReach, probeArgs } from "./probe.ts";

const run = promisify(execFile);
const probe = async (port: number, payload?: string) =>
  parseReach((await run(process.execPath, probeArgs("127.0.0.1", port, payload))).stdout);

describe("the in-pod reachability probe", () => {
  let pong: Server;
  let silent: Server;
  const port = (s: Server) => (s.address() as { port: number }).port;
  beforeAll(async () => {
    pong = createServer((c) => c.on("data", (d) => c.end(d.toString() === "PING\r\n" ? "+PONG\r\n" : "-ERR\r\n")));
    silent = createServer(() => {});
    for (const s of [pong, silent]) await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  });
  afterAll(() => {
    pong.close();
    silent.close();
  });

  it("sends the payload and reports the first bytes of the answer", async () => {
    expect(await probe(port(pong), "PING\r\n")).toEqual({ result: "open", reply: "+PONG\r\n" });
  });

  it("reports open with no payload, and open with an empty reply when the peer stays silent", async () => {
    expect(await probe(port(silent))).toEqual({ result: "open", reply: "" });
    expect(await probe(port(silent), "hello")).toEqual({ result: "open", reply: "" });
  });

  it("reports ECONNREFUSED for a port nobody listens on", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const p = port(closed);
    await new Promise((r) => closed.close(r));
    expect(await probe(p)).toEqual({ result: "ECONNREFUSED" });
  });

  it("reads the last JSON line past other output and fails on none", () => {
    expect(parseReach('Defaulted container "c"\n{"result":"timeout"}\n')).toEqual({ result: "timeout" });
    expect(() => parseReach("error: unable to upgrade connection")).toThrow(/printed no result/);
  });
});
