// What the L5 chart test needs around the node: TCP relays from the pod bridge's host address to
// services on loopback (the test's PostgreSQL, Redis, versitygw and the apiserver listen on
// 127.0.0.1, the one address pods cannot reach), the images' references from `run.sh
// dockerfile-images`, the real memory of a pod from its cgroup (v1 here, cgroupfs driver), and the
// iptables rules that stand in for kube-proxy so that pods reach the chart's Services.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface Relay {
  /** host:port on the bridge */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on `host` (a free port) and pipes each connection to 127.0.0.1:`to`, bytes as they are. */
export async function relay(host: string, to: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(to, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    address: `${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export type ImageRefs = Record<"worker" | "operator" | "shim", { repository: string; digest: string }>;

/** `run.sh dockerfile-images` prints "name repo@sha256:…" per image. */
export function parseImageRefs(out: string): ImageRefs {
  const refs: Partial<ImageRefs> = {};
  for (const line of out.trim().split("\n")) {
    const m = /^(worker|operator|shim) (\S+)@(sha256:[0-9a-f]{64})$/.exec(line.trim());
    if (m) refs[m[1] as keyof ImageRefs] = { repository: m[2] as string, digest: m[3] as string };
  }
  for (const n of ["worker", "operator", "shim"] as const) {
    if (!refs[n]) throw new Error(`run.sh dockerfile-images named no ${n} image:\n${out}`);
  }
  return refs as ImageRefs;
}

/**
 * A pod's memory as the kubelet counts it (working set: usage minus inactive file pages) and its
 * RSS, from the pod's memory cgroup (cgroup v1, cgroupfs driver: kubepods[/burstable|besteffort]/pod<uid>).
 */
export async function podMemory(uid: string): Promise<{ workingSetBytes: number; rssBytes: number }> {
  const base = "/sys/fs/cgroup/memory/kubepods";
  for (const dir of [base, join(base, "burstable"), join(base, "besteffort")]) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    const name = entries.find((e) => e === `pod${uid}`);
    if (!name) continue;
    const usage = Number((await readFile(join(dir, name, "memory.usage_in_bytes"), "utf8")).trim());
    const stat = Object.fromEntries(
      (await readFile(join(dir, name, "memory.stat"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => l.split(" ") as [string, string]),
    );
    const inactiveFile = Number(stat.total_inactive_file ?? 0);
    return { workingSetBytes: Math.max(0, usage - inactiveFile), rssBytes: Number(stat.total_rss ?? 0) };
  }
  throw new Error(`no memory cgroup for pod ${uid} under ${base}`);
}

/**
 * A container's log as the kubelet wrote it on this node (CRI format: time, stream, tag, text), the
 * text only. `kubectl logs` cannot be used here: the apiserver dials the kubelet by the node's name,
 * which no DNS on this machine resolves.
 */
export async function nodePodLog(
  podLogsDir: string,
  pod: { ns: string; name: string; uid: string },
  container: string,
) {
  const file = join(podLogsDir, `${pod.ns}_${pod.name}_${pod.uid}`, container, "0.log");
  return (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(" ").slice(3).join(" "))
    .join("\n");
}

// --- Services without kube-proxy ------------------------------------------------------------------
// The node runs no kube-proxy, so a pod's packet to a Service's ClusterIP reaches the host (the pods'
// route for the Service range) and stops there. The chart's `helm test` pod asks the shim and the
// operator through their Services, so the test writes what kube-proxy would: a DNAT of each
// ClusterIP:port to one ready endpoint, a REJECT where there is none (kube-proxy's answer for a
// Service without endpoints), and a MASQUERADE so that a pod calling a Service whose endpoint is on
// the same bridge gets the answer back through the host (hairpin).

/** One Service port and the endpoint kube-proxy would send it to (undefined: no ready endpoint). */
export interface ServiceRoute {
  clusterIP: string;
  port: number;
  endpoint?: { ip: string; port: number };
}

interface ServiceJson {
  spec: { clusterIP: string; ports: Array<{ name?: string; port: number }> };
}
interface SliceJson {
  endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean } }>;
  ports?: Array<{ name?: string; port: number }>;
}

/** Each port of a Service with its first ready endpoint, from the Service and its EndpointSlices. */
export function serviceRoutes(svc: ServiceJson, slices: SliceJson[]): ServiceRoute[] {
  return svc.spec.ports.map((p) => {
    for (const s of slices) {
      const port = s.ports?.find((x) => (x.name ?? "") === (p.name ?? ""))?.port;
      const ready = s.endpoints?.find((e) => e.conditions?.ready !== false && e.addresses.length > 0);
      if (port !== undefined && ready) {
        return { clusterIP: svc.spec.clusterIP, port: p.port, endpoint: { ip: ready.addresses[0] as string, port } };
      }
    }
    return { clusterIP: svc.spec.clusterIP, port: p.port };
  });
}

export const SERVICE_RULE_COMMENT = "reel-l5-service";

/** iptables rules (table, chain, match and target) that route `routes` for pods of `subnet`. */
export function serviceRules(routes: ServiceRoute[], subnet: string): Array<[string, string, string[]]> {
  const tag = ["-m", "comment", "--comment", SERVICE_RULE_COMMENT];
  const rules: Array<[string, string, string[]]> = [
    [
      "nat",
      "POSTROUTING",
      ["-s", subnet, "-d", subnet, "-m", "conntrack", "--ctstate", "DNAT", ...tag, "-j", "MASQUERADE"],
    ],
  ];
  for (const r of routes) {
    const match = ["-s", subnet, "-d", `${r.clusterIP}/32`, "-p", "tcp", "--dport", String(r.port), ...tag];
    rules.push(
      r.endpoint
        ? ["nat", "PREROUTING", [...match, "-j", "DNAT", "--to-destination", `${r.endpoint.ip}:${r.endpoint.port}`]]
        : ["filter", "FORWARD", [...match, "-j", "REJECT", "--reject-with", "tcp-reset"]],
    );
  }
  return rules;
}

/** Writes the rules of the last `sync` (replacing the previous ones); `close` removes them. */
export function serviceRouter(subnet: string) {
  let current: Array<[string, string, string[]]> = [];
  const iptables = (args: string[]) => execFileAsync("iptables", args);
  const clear = async () => {
    for (const [table, chain, spec] of current) await iptables(["-t", table, "-D", chain, ...spec]).catch(() => {});
    current = [];
  };
  return {
    async sync(routes: ServiceRoute[]): Promise<void> {
      await clear();
      current = serviceRules(routes, subnet);
      for (const [table, chain, spec] of current) await iptables(["-t", table, "-I", chain, ...spec]);
    },
    close: clear,
  };
}
