// The L5 chart test's helpers that need no node: the relay passes bytes both ways and closes its
// connections; run.sh dockerfile-images' lines are read into references by digest.
import { createServer, connect } from "node:net";
import { describe, expect, it } from "vitest";
import { parseImageRefs, relay } from "./chart.ts";

const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe("relay", () => {
  it("pipes a connection to the loopback port and the answer back, and close() ends open connections", async () => {
    const echo = createServer((s) => s.on("data", (d) => s.write(`echo:${d}`)));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const r = await relay("127.0.0.1", (echo.address() as { port: number }).port);
    const client = connect(r.port, "127.0.0.1");
    const answer = await new Promise<string>((resolve) => {
      client.once("data", (d) => resolve(d.toString()));
      client.write("ping");
    });
    expect(answer).toBe("echo:ping");
    const closed = new Promise((resolve) => client.once("close", resolve));
    await r.close();
    await closed;
    echo.close();
  });
});

describe("parseImageRefs", () => {
  it("reads name, repository and digest per line, ignoring other output", () => {
    const out = [
      "unpacking reel.local/reel-worker:0.1.0 (sha256:…)...done",
      `worker reel.local/reel-worker@${digest("a")}`,
      `operator reel.local/reel-operator@${digest("b")}`,
      `shim reel.local/reel-shim@${digest("c")}`,
    ].join("\n");
    expect(parseImageRefs(out)).toEqual({
      worker: { repository: "reel.local/reel-worker", digest: digest("a") },
      operator: { repository: "reel.local/reel-operator", digest: digest("b") },
      shim: { repository: "reel.local/reel-shim", digest: digest("c") },
    });
  });

  it("fails naming the image that is missing", () => {
    expect(() => parseImageRefs(`worker reel.local/reel-worker@${digest("a")}`)).toThrow(/no operator image/);
  });
});
