// A control plane for the operator's integration tests (L2: etcd + kube-apiserver; L3 adds the
// controller-manager, scheduler and KWOK nodes) with the VideoJob CRD served, and the operator
// started against it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cluster, clusterUp } from "../../../e2e/cluster/cluster.ts";
import type { S3Server } from "../../../e2e/src/services/s3.ts";
import { until } from "../../../e2e/src/until.ts";
import { type Config, parseConfig } from "../config.ts";
import { type RunningOperator, startOperator } from "../main.ts";

const crd = join(import.meta.dirname, "..", "..", "..", "crds", "generated", "videojob.crd.yaml");

/**
 * Starts a cluster in a fresh state dir, points KUBECONFIG at it (kubernetes-fluent-client's watch
 * reads it), applies the CRD, creates the namespaces and waits until VideoJobs are served. `down()`
 * also removes the state dir.
 */
export async function controlPlaneUp(opts: { level: 2 | 3; namespaces: string[] }): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), `reel-op-l${opts.level}-`));
  let cluster: Cluster;
  try {
    cluster = await clusterUp({ level: opts.level, dir });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const up: Cluster = {
    ...cluster,
    down: async () => {
      try {
        await cluster.down();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  process.env.KUBECONFIG = cluster.kubeconfig;
  try {
    await cluster.kubectl(["apply", "--server-side", "-f", crd]);
    for (const ns of opts.namespaces) await cluster.kubectl(["create", "namespace", ns]);
    await until("the CRD to be served", async () => (await cluster.kubectl(["get", "videojobs", "-A"])) !== undefined);
  } catch (e) {
    await up.down(); // the caller never gets the cluster to take down
    throw e;
  }
  return up;
}

/** The operator's config for a test: metrics on a free loopback port, warnings and worse logged. */
export function operatorConfig(env: Record<string, string> = {}): Config {
  return parseConfig({ REEL_METRICS_PORT: "0", REEL_METRICS_HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env });
}

/** Starts the operator and waits until it is ready: synced, and leading where it elects a leader. */
export async function startReadyOperator(env: Record<string, string>, timeoutMs?: number): Promise<RunningOperator> {
  const op = await startOperator(operatorConfig(env));
  try {
    await until("the operator to be ready", async () => op.controller()?.isReady, timeoutMs);
  } catch (e) {
    await op.stop();
    throw e;
  }
  return op;
}

/** The Secret a VideoJob's `output.s3.credentialsSecret` names, holding the test S3 server's keys. */
export async function createS3Secret(cluster: Cluster, namespace: string, name: string, s3: S3Server): Promise<void> {
  await cluster.kubectl([
    "-n",
    namespace,
    "create",
    "secret",
    "generic",
    name,
    `--from-literal=accessKeyId=${s3.accessKeyId}`,
    `--from-literal=secretAccessKey=${s3.secretAccessKey}`,
  ]);
}
