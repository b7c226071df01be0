// What the L5 policy test sets up around the node (e2e/l5/run.sh up): the services the worker policy
// allows (versitygw S3 and Redis, host processes behind relays on the bridge, as the L5 chart test
// reaches them), the apiserver behind its relay and the kubernetes Service's DNAT, a stand-in for the
// cloud metadata service (169.254.169.254:80 on the bridge, with a route to it in the probing pods),
// the chart's NetworkPolicies rendered by helm, and three pods of the l5 worker image to probe from and to.
import { execFile, execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Relay, relay } from "../l5/chart.ts";
import { startRedis, startS3 } from "../src/services/index.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const l5 = join(root, "e2e", "l5", "run.sh");
export const GW = "10.244.50.1"; // run.sh's bridge address on the host
export const BRIDGE = "reel-l5br";
export const METADATA = "169.254.169.254";
export const WORKER_NS = "media";
export const OTHER_NS = "reel-system";
/** Labels the operator puts on worker pods (operator/src/plan/jobs.ts), which the worker policy selects. */
export const WORKER_LABELS = {
  "app.kubernetes.io/name": "reel-worker",
  "app.kubernetes.io/managed-by": "reel-operator",
};

/** Runs a command in a pod's container through the node's containerd (`ctr tasks exec`): the
 * apiserver cannot reach this kubelet for `kubectl exec` (it listens on 127.0.0.1 and the apiserver
 * dials the node's name, which no DNS here resolves). The process is the container's: its network
 * namespace, user 10001, cgroups. */
let execs = 0;
export async function execInPod(containerID: string, args: string[]): Promise<string> {
  const id = containerID.replace(/^containerd:\/\//, "");
  const sock = "/run/reel-l5/containerd.sock";
  const exec = ["--address", sock, "-n", "k8s.io", "tasks", "exec", "--exec-id", `netpol-probe-${++execs}`, id];
  return (await run("ctr", [...exec, ...args], { maxBuffer: 1 << 20 })).stdout;
}

export type Kubectl = (args: string[], input?: string) => Promise<string>;

export function kubectlFor(bin: string, kubeconfig: string): Kubectl {
  return (args, input) =>
    new Promise<string>((resolve, reject) => {
      const c = execFile(bin, ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 16 << 20 }, (err, out, errOut) =>
        err ? reject(new Error(`kubectl ${args.slice(0, 4).join(" ")}: ${errOut || err.message}`)) : resolve(out),
      );
      if (input !== undefined) c.stdin?.end(input);
    });
}

export interface Services {
  /** bridge ports of the relays */
  s3Port: number;
  redisPort: number;
  stop(): Promise<void>;
}

/** versitygw and Redis behind relays on the bridge, the apiserver behind one with run.sh's DNAT, and
 * the metadata stand-in (it answers "metadata" to whoever connects). */
export async function startServices(kubeconfig: string): Promise<Services> {
  const stops: Array<() => Promise<void>> = [];
  // each step at most 10 s: a stuck one must not keep run.sh down from running
  const stop = async () => {
    for (const s of stops.reverse()) {
      await Promise.race([s().catch(() => {}), new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
  };
  try {
    const [s3, redis] = await Promise.all([startS3(), startRedis()]);
    stops.push(s3.stop, redis.stop);
    const on = async (port: number): Promise<Relay> => {
      const r = await relay(GW, port);
      stops.push(r.close);
      return r;
    };
    const s3Relay = await on(Number(new URL(s3.endpoint).port));
    const redisRelay = await on(redis.port);
    const apiPort = Number(/server: https:\/\/127\.0\.0\.1:(\d+)/.exec(await readFile(kubeconfig, "utf8"))?.[1]);
    const api = await on(apiPort);
    await run("bash", [l5, "service-route", "add", String(api.port)]);
    stops.push(() => run("bash", [l5, "service-route", "delete", String(api.port)]).then(() => {}));
    await run("ip", ["addr", "replace", `${METADATA}/32`, "dev", BRIDGE]);
    stops.push(() => run("ip", ["addr", "del", `${METADATA}/32`, "dev", BRIDGE]).then(() => {}));
    const conns = new Set<Socket>();
    const metadata: Server = createServer((c) => {
      conns.add(c);
      c.once("close", () => conns.delete(c));
      c.on("error", () => {});
      c.end("metadata\n");
    });
    await new Promise<void>((resolve, reject) => {
      metadata.once("error", reject);
      metadata.listen(80, METADATA, resolve);
    });
    // close() waits for every connection: run 2's teardown hung here until its hook timed out
    stops.push(() => {
      for (const c of conns) c.destroy();
      return new Promise((r) => metadata.close(() => r()));
    });
    return { s3Port: s3Relay.port, redisPort: redisRelay.port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The chart's NetworkPolicies (values.yaml here, plus the relays' ports), applied with kubectl. */
export async function applyPolicies(kubectl: Kubectl, svc: Services): Promise<string[]> {
  const helm = execFileSync("bash", [join(root, "e2e", "helm", "build-helm.sh"), "--print"], {
    encoding: "utf8",
  }).trim();
  const { stdout } = await run(helm, [
    ...["template", "reel", join(root, "charts", "reel"), "-n", OTHER_NS],
    ...["--show-only", "templates/networkpolicies.yaml", "-f", join(import.meta.dirname, "values.yaml")],
    ...["--set", `networkPolicy.s3.ports={${svc.s3Port}}`, "--set", `networkPolicy.redis.port=${svc.redisPort}`],
  ]);
  const out = await kubectl(["apply", "-f", "-"], stdout);
  return out.trim().split("\n");
}

const SLEEP = "setInterval(() => {}, 1 << 30)";
const SERVE = 'require("node:http").createServer((q, r) => r.end("target\\n")).listen(8080)';

/** A pod of the l5 worker image on the real node running `node -e script`, as the worker runs (uid 10001). */
export function pod(name: string, namespace: string, labels: Record<string, string>, script = SLEEP) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: {
      nodeName: "reel-l5",
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "probe",
          image: "reel.local/reel-worker:l5",
          imagePullPolicy: "Never",
          command: ["node", "-e", script],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

export const PODS = [
  pod("netpol-worker", WORKER_NS, WORKER_LABELS),
  pod("netpol-other", WORKER_NS, { app: "not-a-worker" }),
  pod("netpol-target", OTHER_NS, { app: "target" }, SERVE),
];

/** The pods' network namespaces have routes to the bridge and the Service range only: add one to the
 * metadata address through the host, so that a refusal is the policy's and not "no route". */
export async function routeMetadata(podIP: string): Promise<void> {
  const { stdout } = await run("ip", ["netns", "list"]);
  for (const ns of stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith("cni-"))) {
    const addrs = (await run("ip", ["-n", ns, "-4", "-o", "addr", "show"])).stdout;
    if (!addrs.includes(`inet ${podIP}/`)) continue;
    await run("ip", ["-n", ns, "route", "replace", `${METADATA}/32`, "via", GW]);
    return;
  }
  throw new Error(`no network namespace holds the pod address ${podIP}`);
}
