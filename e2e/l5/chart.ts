// What the L5 chart test needs around the node: TCP relays from the pod bridge's host address to
// services on loopback (the test's PostgreSQL, Redis, versitygw and the apiserver listen on
// 127.0.0.1, the one address pods cannot reach), the images' references from `run.sh
// dockerfile-images`, and the real memory of a pod from its cgroup (v1 here, cgroupfs driver).
import { readdir, readFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

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
