// L3 smoke test on a real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
// KWOK nodes) started by e2e/cluster/cluster.sh in a temporary state dir:
//   a Job asking for an NVIDIA GPU gets a Pod from the real job controller, and the real scheduler binds
//   it to nvidia-1 or nvidia-2; KWOK leaves that pod alone (Pending, no container status) for a kubelet
//   harness; an unsatisfiable pod stays Pending with a FailedScheduling event; a pod labelled
//   reel.dev/kwok-simulate=true is run to completion by KWOK; `down` leaves no process behind.
// Skipped only when the binaries are not built (run e2e/scripts/build-k8s.sh; scripts/bootstrap.sh does).
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, clusterUp, k8sBinariesBuilt } from "./cluster.ts";
import { until } from "../src/until.ts";

const built = k8sBinariesBuilt();
const title = built
  ? "L3 control plane on loopback"
  : "L3 control plane on loopback (SKIPPED: Kubernetes binaries not built; run e2e/scripts/build-k8s.sh)";
if (!built) console.warn(`[cluster.int.test] ${title}`);

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase: string; containerStatuses?: unknown[] };
}

describe.skipIf(!built)(title, () => {
  let dir: string;
  let c: Cluster;
  const ns = "reel-smoke";
  const k = (args: string[], input?: string) => c.kubectl(args, input);
  const json = async <T>(args: string[]) => JSON.parse(await k([...args, "-o", "json"])) as T;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-cluster-"));
    const t0 = Date.now();
    c = await clusterUp({ level: 3, dir: join(dir, "state") });
    console.log(`[cluster.int.test] up in ${((Date.now() - t0) / 1000).toFixed(1)} s, kubeconfig ${c.kubeconfig}`);
    await k(["create", "namespace", ns]);
    // pods are refused until the serviceaccount controller made the namespace's default SA
    await until("default service account", async () =>
      (await k(["-n", ns, "get", "sa", "default", "-o", "name"])) ? true : undefined,
    );
  }, 150_000);

  afterAll(async () => {
    await c?.down().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("has the six simulated nodes Ready with their GPU resources", async () => {
    const nodes = await json<{
      items: {
        metadata: { name: string; labels: Record<string, string> };
        status: { allocatable: Record<string, string>; conditions: { type: string; status: string }[] };
      }[];
    }>(["get", "nodes"]);
    const byName = Object.fromEntries(nodes.items.map((n) => [n.metadata.name, n]));
    expect(Object.keys(byName).sort()).toEqual(["amd-1", "cpu-1", "cpu-2", "intel-1", "nvidia-1", "nvidia-2"]);
    for (const n of nodes.items) expect(n.status.conditions.find((x) => x.type === "Ready")?.status).toBe("True");
    expect(byName["nvidia-1"]?.status.allocatable["nvidia.com/gpu"]).toBe("1");
    expect(byName["nvidia-1"]?.metadata.labels["reel.dev/encoder.h264_nvenc"]).toBe("false");
    expect(byName["nvidia-2"]?.metadata.labels["reel.dev/encoder.h264_nvenc"]).toBe("true");
    expect(byName["amd-1"]?.status.allocatable["amd.com/gpu"]).toBe("1");
    expect(byName["intel-1"]?.status.allocatable["gpu.intel.com/i915"]).toBe("1");
  });

  it("a GPU Job gets a Pod from the job controller, bound by the scheduler to an NVIDIA node, left alone by KWOK", async () => {
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "gpu-smoke", namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            nodeSelector: { "reel.dev/gpu-vendor": "nvidia" },
            containers: [
              {
                name: "worker",
                image: "ghcr.io/reel/worker:dev",
                command: ["reel-worker", "encode"],
                resources: { limits: { "nvidia.com/gpu": "1" } },
              },
            ],
          },
        },
      },
    };
    await k(["apply", "-f", "-"], JSON.stringify(job));
    const pod = await until("the job's pod to be bound", async () => {
      const pods = await json<{ items: Pod[] }>(["-n", ns, "get", "pods", "-l", "job-name=gpu-smoke"]);
      return pods.items.find((p) => p.spec.nodeName);
    });
    expect(["nvidia-1", "nvidia-2"]).toContain(pod.spec.nodeName);
    // the binding is the scheduler's: a Scheduled event from default-scheduler
    const ev = await until("Scheduled event", async () => {
      const evs = await json<{
        items: { reason: string; message: string; source?: { component?: string }; reportingComponent?: string }[];
      }>(["-n", ns, "get", "events", "--field-selector", `involvedObject.name=${pod.metadata.name},reason=Scheduled`]);
      return evs.items[0];
    });
    expect(ev.reportingComponent ?? ev.source?.component).toBe("default-scheduler");
    // KWOK has no pod stage for it: still Pending, no container status (a kubelet harness plays it)
    await new Promise((r) => setTimeout(r, 1500));
    const again = await json<Pod>(["-n", ns, "get", "pod", pod.metadata.name]);
    expect(again.status.phase).toBe("Pending");
    expect(again.status.containerStatuses ?? []).toEqual([]);
  });

  it("an unsatisfiable pod stays Pending with a FailedScheduling event", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "too-many-gpus", namespace: ns },
      spec: {
        nodeSelector: { "reel.dev/gpu-vendor": "nvidia" },
        containers: [
          { name: "worker", image: "ghcr.io/reel/worker:dev", resources: { limits: { "nvidia.com/gpu": "2" } } },
        ],
      },
    };
    await k(["apply", "-f", "-"], JSON.stringify(pod));
    const ev = await until("FailedScheduling event", async () => {
      const evs = await json<{ items: { message: string }[] }>([
        "-n",
        ns,
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=too-many-gpus,reason=FailedScheduling",
      ]);
      return evs.items[0];
    });
    expect(ev.message).toMatch(/Insufficient nvidia\.com\/gpu|didn't match Pod's node affinity\/selector/);
    const p = await json<Pod>(["-n", ns, "get", "pod", "too-many-gpus"]);
    expect(p.status.phase).toBe("Pending");
    expect(p.spec.nodeName).toBeUndefined();
  });

  it("a Job labelled reel.dev/kwok-simulate=true is completed by KWOK's opt-in pod stages", async () => {
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "simulated", namespace: ns },
      spec: {
        template: {
          metadata: { labels: { "reel.dev/kwok-simulate": "true" } },
          spec: {
            restartPolicy: "Never",
            nodeSelector: { "kubernetes.io/hostname": "cpu-1" },
            containers: [{ name: "worker", image: "ghcr.io/reel/worker:dev" }],
          },
        },
      },
    };
    await k(["apply", "-f", "-"], JSON.stringify(job));
    await until("job simulated Complete", async () => {
      const j = await json<{ status: { conditions?: { type: string; status: string }[] } }>([
        "-n",
        ns,
        "get",
        "job",
        "simulated",
      ]);
      return j.status.conditions?.find((x) => x.type === "Complete" && x.status === "True");
    });
  });

  it("a deleted pod bound to a KWOK node goes away (KWOK's pod-delete stage stands in for the kubelet)", async () => {
    await k(["-n", ns, "delete", "job", "gpu-smoke", "--cascade=foreground", "--wait=false"]);
    await until("gpu-smoke pods gone", async () => {
      const pods = await json<{ items: Pod[] }>(["-n", ns, "get", "pods", "-l", "job-name=gpu-smoke"]);
      return pods.items.length === 0 ? true : undefined;
    });
  });

  it("down stops every component and removes the state", async () => {
    const pidDir = join(c.dir, "pids");
    const names = readFileSync(join(c.dir, "components"), "utf8").trim().split("\n");
    const pids = names.map((n) => Number(readFileSync(join(pidDir, n), "utf8")));
    expect(names).toEqual(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]);
    const t0 = Date.now();
    await c.down();
    console.log(`[cluster.int.test] down in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // gone, or a zombie already dead and waiting for init to reap it (the components are not our children)
    const running = (pid: number) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
      } catch {
        return false;
      }
    };
    expect(pids.filter(running)).toEqual([]);
    expect(existsSync(c.dir)).toBe(false);
  });
});
