// Issue 17: the chart's NetworkPolicies enforced for real on the L5 node (a real kubelet + containerd,
// e2e/l5/run.sh) by kube-router v2.1.0's policy controller (e2e/netpol/build.sh, run as a host
// process by engine.sh). A pod labelled as the operator's worker in a tenant namespace is refused the
// metadata address, the apiserver and a pod in another namespace, and still reaches S3 and Redis on
// the ports the policy names. Every refusal is checked against a control that connects: the same probe
// before the engine runs, from a pod no policy selects, and after the engine is stopped.
// Heavy: `flock /tmp/reel-heavy.lock nice -n 5 npx vitest run e2e/netpol/l5-netpol.e2e.test.ts`.
// Skips, saying why, where run.sh check or engine.sh check fail (REEL_L5_REQUIRE or REEL_E2E_REQUIRE
// turn that into a failure). Never at the same time as e2e/l5/l5.e2e.test.ts: one L5 node per machine.
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../src/until.ts";
import { parseReach, probeArgs, type Reach } from "./probe.ts";
import {
  applyPolicies,
  execInPod,
  GW,
  type Kubectl,
  kubectlFor,
  METADATA,
  OTHER_NS,
  PODS,
  routeMetadata,
  type Services,
  startServices,
  WORKER_NS,
} from "./setup.ts";

const run = promisify(execFile);
const l5 = join(import.meta.dirname, "..", "l5", "run.sh");
const engine = join(import.meta.dirname, "engine.sh");

function why(script: string): string | undefined {
  try {
    execFileSync("bash", [script, "check"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return undefined;
  } catch (e) {
    const out = ((e as { stdout?: string }).stdout ?? "").trim();
    return out.split("\n").join("; ") || (e as Error).message;
  }
}
function helmWhy(): string | undefined {
  try {
    execFileSync("bash", [join(import.meta.dirname, "..", "helm", "build-helm.sh"), "--check"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "helm v4 is not built (bash e2e/helm/build-helm.sh)";
  }
}
const skip = why(l5) ?? why(engine) ?? helmWhy();
if (skip && (process.env.REEL_L5_REQUIRE || process.env.REEL_E2E_REQUIRE)) {
  throw new Error(`[l5-netpol.e2e.test] cannot run: ${skip}`);
}
if (skip) console.warn(`[l5-netpol.e2e.test] SKIPPED: ${skip}`);

async function sh(script: string, args: string[], timeout: number): Promise<string> {
  try {
    return (await run("bash", [script, ...args], { timeout, maxBuffer: 16 << 20 })).stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${script} ${args.join(" ")} failed: ${err.message}\n${err.stderr ?? ""}`);
  }
}

describe.skipIf(skip !== undefined)("NetworkPolicies enforced on the L5 node by kube-router v2.1.0", () => {
  let kubectl: Kubectl;
  let svc: Services | undefined;
  let up = false;
  let kubeconfig = "";
  const ips: Record<string, string> = {};
  const containers: Record<string, string> = {};
  const reach = async (from: string, host: string, port: number, payload?: string): Promise<Reach> =>
    parseReach(await execInPod(containers[from] as string, ["node", ...probeArgs(host, port, payload)]));
  // the three places the worker policy must close, each with what answers there
  const closed = () => [
    { what: "the metadata address", host: METADATA, port: 80, reply: "metadata" },
    { what: "the apiserver (kubernetes Service)", host: "10.96.0.1", port: 443, reply: undefined },
    { what: "a pod in another namespace", host: ips["netpol-target"] as string, port: 8080, reply: "HTTP/1.1 200" },
  ];
  const get = "GET / HTTP/1.0\r\n\r\n";

  beforeAll(async () => {
    const status = await sh(l5, ["status"], 30_000);
    if (/kubelet: running/.test(status)) throw new Error("an L5 node is already up (another run?): not touching it");
    await sh(l5, ["image"], 300_000);
    up = true;
    kubeconfig = (await sh(l5, ["up"], 240_000)).trim().split("\n").at(-1) ?? "";
    const bin = execFileSync("bash", [join(import.meta.dirname, "..", "scripts", "build-k8s.sh"), "--print-bin"], {
      encoding: "utf8",
    }).trim();
    kubectl = kubectlFor(join(bin, "kubectl"), kubeconfig);
    svc = await startServices(kubeconfig);
    for (const ns of [WORKER_NS, OTHER_NS]) await kubectl(["create", "namespace", ns]);
    console.log(`[l5 netpol] ${(await applyPolicies(kubectl, svc)).join("; ")}`);
    await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: PODS }));
    for (const p of PODS) {
      await kubectl([
        "wait",
        "-n",
        p.metadata.namespace,
        "--for=condition=Ready",
        `pod/${p.metadata.name}`,
        "--timeout=180s",
      ]);
      const ip = (
        await kubectl(["get", "pod", "-n", p.metadata.namespace, p.metadata.name, "-o", "jsonpath={.status.podIP}"])
      ).trim();
      ips[p.metadata.name] = ip;
      containers[p.metadata.name] = (
        await kubectl([
          ...["get", "pod", "-n", p.metadata.namespace, p.metadata.name],
          ...["-o", "jsonpath={.status.containerStatuses[0].containerID}"],
        ])
      ).trim();
    }
    for (const p of ["netpol-worker", "netpol-other"]) await routeMetadata(ips[p] as string);
  }, 900_000);

  afterAll(async () => {
    try {
      await sh(engine, ["stop"], 60_000).catch((e) => console.error(e));
      await svc?.stop();
    } finally {
      if (up) await sh(l5, ["down"], 180_000);
    }
  }, 300_000);

  it("with the policies applied and no engine running, the worker pod reaches all three (the probes can connect)", async () => {
    for (const c of closed()) {
      const r = await reach("netpol-worker", c.host, c.port, c.reply ? get : undefined);
      expect([c.what, r.result]).toEqual([c.what, "open"]);
      if (c.reply) expect(r.reply).toContain(c.reply);
    }
  }, 120_000);

  it("kube-router refuses the worker pod the metadata address, the apiserver and another namespace's pod", async () => {
    const t0 = Date.now();
    await sh(engine, ["start", kubeconfig], 30_000);
    // synced once both media pods have their firewall chains and the worker policy has its chain
    await until(
      "kube-router's chains for the media pods and the worker policy",
      async () => {
        const rules = (await run("iptables-save", ["-t", "filter"])).stdout;
        return (
          ["netpol-worker", "netpol-other"].every((p) => rules.includes(`POD name:${p} namespace: ${WORKER_NS}`)) &&
          /:KUBE-NWPLCY-(?!DEFAULT)/.test(rules)
        );
      },
      120_000,
      500,
    );
    console.log(`[l5 netpol] kube-router started -> pod chains in place: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const c of closed()) {
      const r = await reach("netpol-worker", c.host, c.port, c.reply ? get : undefined);
      console.log(`[l5 netpol] worker -> ${c.what} ${c.host}:${c.port}: ${r.result}`);
      // REJECT by the pod's firewall chain: refused at once, not a timeout (a drop or no route)
      expect([c.what, r.result]).toEqual([c.what, "ECONNREFUSED"]);
    }
  }, 240_000);

  it("what the worker policy allows still works: S3 (versitygw) and Redis on the bridge, on their ports only", async () => {
    const s = svc as Services;
    const s3 = await reach("netpol-worker", GW, s.s3Port, get);
    expect(s3.result).toBe("open");
    expect(s3.reply).toMatch(/^HTTP\/1\.1 \d{3}/);
    const redis = await reach("netpol-worker", GW, s.redisPort, "PING\r\n");
    expect(redis).toEqual({ result: "open", reply: "+PONG\r\n" });
  }, 120_000);

  it("a pod in the same namespace that no policy selects still reaches all three", async () => {
    for (const c of closed()) {
      const r = await reach("netpol-other", c.host, c.port, c.reply ? get : undefined);
      expect([c.what, r.result]).toEqual([c.what, "open"]);
    }
  }, 120_000);

  it("stopping the engine removes its chains and ipsets, and the worker pod connects again", async () => {
    await sh(engine, ["stop"], 60_000);
    expect((await sh(engine, ["leftovers"], 30_000)).trim()).toBe("");
    for (const c of closed()) {
      const r = await reach("netpol-worker", c.host, c.port, c.reply ? get : undefined);
      expect([c.what, r.result]).toEqual([c.what, "open"]);
    }
  }, 120_000);
});
