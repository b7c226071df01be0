// The L2 control plane (etcd + kube-apiserver from e2e/cluster/cluster.sh, on loopback) for the
// scenarios that need a real apiserver, stopped at cleanup.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { clusterUp } from "../../e2e/cluster/cluster.ts";
import { onCleanup } from "./cleanup.mjs";

/** Starts the L2 control plane in `dir`; it is stopped at cleanup (killed outright on a signal). */
export async function startControlPlane(dir) {
  const cluster = await clusterUp({ level: 2, dir });
  const pids = {};
  for (const c of ["kube-apiserver", "etcd"]) pids[c] = Number(readFileSync(join(dir, "pids", c), "utf8").trim());
  const down = onCleanup(async ({ urgent } = {}) => {
    if (!urgent) return cluster.down();
    // Only synchronous work runs on a signal: kill the two processes we started, by pid.
    for (const pid of Object.values(pids)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  });
  return { ...cluster, pids, down };
}
