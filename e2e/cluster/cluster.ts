// Node side of e2e/cluster/cluster.sh: start/stop the loopback control plane from tests and run the
// built kubectl against it. The shell script is the one implementation; this only calls it.
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const script = join(import.meta.dirname, "cluster.sh");
const buildScript = join(import.meta.dirname, "..", "scripts", "build-k8s.sh");

/** True when e2e/scripts/build-k8s.sh has built every pinned binary (no build is started). */
export function k8sBinariesBuilt(): boolean {
  try {
    execFileSync("bash", [buildScript, "--check"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The directory holding kube-apiserver, kubectl, etcd, kwok, ... */
export function k8sBinDir(): string {
  return process.env.REEL_K8S_BIN ?? execFileSync("bash", [buildScript, "--print-bin"], { encoding: "utf8" }).trim();
}

export interface Cluster {
  kubeconfig: string;
  /** state directory (REEL_CLUSTER_DIR) */
  dir: string;
  kubectl(args: string[], input?: string): Promise<string>;
  /** Stop kube-apiserver and start it again on the same port. */
  restartApiserver(): Promise<void>;
  /** Compact etcd to its current revision. */
  compact(): Promise<void>;
  /** PID of a running component (e.g. kube-apiserver), for SIGSTOP/SIGCONT stall tests. */
  pid(component: string): number;
  down(): Promise<void>;
}

/** `cluster.sh up --level N` with the given state dir; resolves once /readyz is ok (L3: nodes Ready). */
export async function clusterUp(opts: { level?: 2 | 3; dir?: string } = {}): Promise<Cluster> {
  const env = { ...process.env, ...(opts.dir ? { REEL_CLUSTER_DIR: opts.dir } : {}) };
  const dir = opts.dir ?? process.env.REEL_CLUSTER_DIR ?? "";
  const stateDir = dir || join(process.env.REEL_CACHE_DIR ?? join(homedir(), ".cache", "reel"), "cluster");
  let stdout: string;
  try {
    ({ stdout } = await run("bash", [script, "up", "--level", String(opts.level ?? 3)], {
      env,
      maxBuffer: 16 << 20,
    }));
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`cluster.sh up failed: ${err.message}\n${err.stderr ?? ""}`);
  }
  const kubeconfig = stdout.trim().split("\n").at(-1) ?? "";
  const bin = k8sBinDir();
  return {
    kubeconfig,
    dir,
    kubectl: (args, input) =>
      new Promise((resolve, reject) => {
        const child = execFile(
          join(bin, "kubectl"),
          ["--kubeconfig", kubeconfig, ...args],
          { maxBuffer: 64 << 20 },
          (err, out, errOut) =>
            err ? reject(new Error(`kubectl ${args.join(" ")}: ${errOut || err.message}`)) : resolve(out),
        );
        if (input !== undefined) child.stdin?.end(input);
      }),
    restartApiserver: async () => {
      await run("bash", [script, "restart-apiserver"], { env });
    },
    compact: async () => {
      await run("bash", [script, "compact"], { env });
    },
    pid: (component) => Number(readFileSync(join(stateDir, "pids", component), "utf8").trim()),
    down: async () => {
      await run("bash", [script, "down"], { env });
    },
  };
}
