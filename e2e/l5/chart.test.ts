// The L5 chart test's helpers that need no node: the relay passes bytes both ways and closes its
// connections; run.sh dockerfile-images' lines are read into references by digest; a Service's
// ports are routed to a ready endpoint, or rejected when it has none, as kube-proxy would.
import { createServer, connect } from "node:net";
import { describe, expect, it } from "vitest";
import { parseImageRefs, relay, serviceRoutes, serviceRules } from "./chart.ts";

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

describe("serviceRoutes and serviceRules", () => {
  const svc = {
    spec: {
      clusterIP: "10.96.12.7",
      ports: [
        { name: "http", port: 80 },
        { name: "metrics", port: 9090 },
      ],
    },
  };

  it("sends each port to the first ready endpoint's port of the same name, skipping endpoints not ready", () => {
    const slices = [
      {
        endpoints: [
          { addresses: ["10.244.50.4"], conditions: { ready: false } },
          { addresses: ["10.244.50.9"], conditions: { ready: true } },
        ],
        ports: [
          { name: "metrics", port: 9091 },
          { name: "http", port: 8080 },
        ],
      },
    ];
    expect(serviceRoutes(svc, slices)).toEqual([
      { clusterIP: "10.96.12.7", port: 80, endpoint: { ip: "10.244.50.9", port: 8080 } },
      { clusterIP: "10.96.12.7", port: 9090, endpoint: { ip: "10.244.50.9", port: 9091 } },
    ]);
  });

  it("gives a port without a ready endpoint no endpoint, and its rule rejects instead of a DNAT", () => {
    const routes = serviceRoutes(svc, [{ endpoints: [], ports: [{ name: "http", port: 8080 }] }]);
    expect(routes.every((r) => r.endpoint === undefined)).toBe(true);
    const rules = serviceRules([routes[0] as (typeof routes)[0]], "10.244.50.0/24");
    expect(rules.map(([table, chain, spec]) => `${table} ${chain} ${spec.join(" ")}`)).toEqual([
      "nat POSTROUTING -s 10.244.50.0/24 -d 10.244.50.0/24 -m conntrack --ctstate DNAT -m comment --comment reel-l5-service -j MASQUERADE",
      "filter FORWARD -s 10.244.50.0/24 -d 10.96.12.7/32 -p tcp --dport 80 -m comment --comment reel-l5-service -j REJECT --reject-with tcp-reset",
    ]);
  });

  it("DNATs a routed port to its endpoint", () => {
    const [, dnat] = serviceRules(
      [{ clusterIP: "10.96.12.7", port: 80, endpoint: { ip: "10.244.50.9", port: 8080 } }],
      "10.244.50.0/24",
    );
    expect(dnat?.slice(0, 2)).toEqual(["nat", "PREROUTING"]);
    expect(dnat?.[2].slice(-4)).toEqual(["-j", "DNAT", "--to-destination", "10.244.50.9:8080"]);
  });
});
