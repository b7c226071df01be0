// The kubelet harness (level L4): plays the kubelet for pods the real kube-scheduler bound to KWOK
// nodes. KWOK keeps those nodes Ready and leaves their pods Pending (e2e/cluster/kwok.yaml), except
// pods labelled reel.dev/kwok-simulate=true, which KWOK runs itself. For every other pod bound to a
// KWOK node this harness does what a kubelet with a container runtime would:
//   - resolves the container's env (value, secretKeyRef, configMapKeyRef, fieldRef),
//   - takes the command and args from the Pod spec and the image's ENTRYPOINT/CMD/ENV from a table
//     (`LocalImage`), and runs the program the image holds on this machine (`reel` ->
//     `node worker-image/src/cli/main.ts`),
//   - gives each volume a host directory (emptyDir per pod, a PVC per claim) and the termination
//     message file a host file, mapping those container paths wherever they appear in env and argv,
//   - writes pod status like a kubelet (Running, then terminated with exit code, reason and the
//     termination message; phase Succeeded/Failed), so the Job controller sees real outcomes,
//   - kills the process group when the pod gets a deletionTimestamp or is DELETED (KWOK removes a
//     terminating pod at once, as a kubelet does after killing its containers).
// It authenticates with the kubeconfig it is given (the admin's in the tests), not as system:node.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Api, ApiError } from "./api.ts";
import { type ContainerStartError, type LocalImage, processSpec } from "./command.ts";
import { ContainerConfigError, resolveEnv } from "./env.ts";
import { type ContainerRun, exitCodeOf, podStatus, terminationMessage } from "./status.ts";
import type { Node, Pod } from "./types.ts";

export const SIMULATE_LABEL = "reel.dev/kwok-simulate";
const KWOK_ANNOTATION = "kwok.x-k8s.io/node";

export interface KubeletOptions {
  kubeconfig: string;
  images: LocalImage[];
  /** Per-pod directories (volumes, termination file, logs) are made under it. */
  workDir: string;
  /**
   * A kubeconfig that authenticates as the node's kubelet (system:node:<name>, group system:nodes):
   * Secret/ConfigMap reads and pod status writes then go through the Node authorizer and the
   * NodeRestriction admission plugin as a real kubelet's do. Without it, the harness's kubeconfig
   * is used for everything.
   */
  nodeKubeconfig?: (node: string) => Promise<string>;
  /** Seconds between SIGTERM and SIGKILL when a pod is deleted (capped by the pod's grace period). */
  killGraceSeconds?: number;
  log?: (line: string) => void;
}

/** One run of a pod's container, as the tests inspect it. */
export interface PodRun {
  /** namespace/name */
  pod: string;
  uid: string;
  node: string;
  labels: Record<string, string>;
  argv: string[];
  logFile: string;
  startedAt: number;
  /** When the process was gone (ms since the epoch). */
  finishedAt?: number;
  exitCode?: number;
  signal?: NodeJS.Signals;
  message?: string;
  /** Killed because the pod was deleted (no status is written then: the pod is gone). */
  deleted?: boolean;
  /** Killed because its Node object was deleted: the machine is gone, its kubelet with it. */
  nodeLost?: boolean;
  done: Promise<void>;
}

interface Running {
  run: PodRun;
  child: ChildProcess;
  killTimer?: NodeJS.Timeout;
  deleting: boolean;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Kubelet {
  readonly runs: PodRun[] = [];
  private readonly seen = new Set<string>();
  private readonly running = new Map<string, Running>();
  private readonly nodes = new Map<string, Node>();
  private readonly stopping = new AbortController();
  private readonly nodeApis = new Map<string, Promise<Api>>();
  private loop?: Promise<void>;

  private readonly api: Api;
  private readonly o: KubeletOptions;

  private constructor(api: Api, o: KubeletOptions) {
    this.api = api;
    this.o = o;
  }

  static async start(o: KubeletOptions): Promise<Kubelet> {
    const k = new Kubelet(await Api.fromKubeconfig(o.kubeconfig), o);
    await mkdir(o.workDir, { recursive: true });
    // A test process that ends without stop() takes its pods' process groups with it.
    const onExit = () => {
      for (const r of k.running.values()) signalGroup(r.child, "SIGKILL");
    };
    process.once("exit", onExit);
    k.stopping.signal.addEventListener("abort", () => process.off("exit", onExit), { once: true });
    k.loop = Promise.all([k.watchPods(), k.watchNodes()]).then(() => {});
    return k;
  }

  /** Kills a running pod's container as a crash or an OOM kill would (the pod stays; it fails). */
  kill(podName: string, signal: NodeJS.Signals = "SIGKILL"): boolean {
    for (const r of this.running.values()) {
      if (r.run.pod === podName || r.run.pod.endsWith(`/${podName}`)) {
        signalGroup(r.child, signal);
        return true;
      }
    }
    return false;
  }

  /** Pod runs still going. */
  active(): PodRun[] {
    return [...this.running.values()].map((r) => r.run);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const r of this.running.values()) signalGroup(r.child, "SIGKILL");
    await Promise.allSettled([this.loop, ...this.runs.map((r) => r.done)]);
    await this.api.close();
    for (const a of this.nodeApis.values()) await a.then((x) => x.close()).catch(() => {});
  }

  private log(line: string) {
    this.o.log?.(`[kubelet] ${line}`);
  }

  // ---- watching ---------------------------------------------------------------------------------

  private async watchPods(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        const list = await this.api.request<{ metadata: { resourceVersion: string }; items: Pod[] }>(
          "GET",
          "/api/v1/pods",
        );
        const live = new Set(list.items.map((p) => p.metadata.uid));
        for (const r of this.running.values()) if (!live.has(r.run.uid)) this.onDeleted(r.run.uid);
        for (const pod of list.items) this.onPod(pod);
        let rv = list.metadata.resourceVersion;
        let expired = false;
        await this.api.watch<Pod>(
          `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=120&resourceVersion=${rv}`,
          (e) => {
            if (e.type === "ERROR") {
              expired = true; // 410 Gone and friends: relist
              return;
            }
            rv = e.object.metadata.resourceVersion ?? rv;
            if (e.type === "DELETED") this.onDeleted(e.object.metadata.uid);
            else if (e.type !== "BOOKMARK") this.onPod(e.object);
          },
          signal,
        );
        if (expired) this.log("watch expired: relisting");
      } catch (e) {
        if (signal.aborted) return;
        this.log(`watch failed, relisting: ${(e as Error).message}`);
        await sleep(300);
      }
    }
  }

  /**
   * A Node that is deleted takes its machine with it: the processes of its pods die with no status
   * written (nobody is left to write it); the pod GC and the Job controller do the rest.
   */
  private async watchNodes(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        const list = await this.api.request<{ items: Node[] }>("GET", "/api/v1/nodes");
        const names = new Set(list.items.map((n) => n.metadata.name));
        for (const name of this.nodes.keys()) if (!names.has(name)) this.nodes.delete(name);
        for (const r of this.running.values()) {
          if (names.has(r.run.node) || r.deleting) continue;
          r.deleting = true;
          r.run.nodeLost = true;
          this.log(`${r.run.pod}: node ${r.run.node} is gone: SIGKILL`);
          signalGroup(r.child, "SIGKILL");
        }
      } catch (e) {
        if (!signal.aborted) this.log(`listing nodes failed: ${(e as Error).message}`);
      }
      await sleep(500);
    }
  }

  private onDeleted(uid: string) {
    const r = this.running.get(uid);
    if (!r || r.deleting) return;
    r.deleting = true;
    r.run.deleted = true;
    this.log(`${r.run.pod} deleted: SIGTERM`);
    signalPid(r.child, "SIGTERM");
    r.killTimer = setTimeout(() => signalGroup(r.child, "SIGKILL"), (this.o.killGraceSeconds ?? 5) * 1000);
  }

  private onPod(pod: Pod) {
    const uid = pod.metadata.uid;
    if (pod.metadata.deletionTimestamp) return this.onDeleted(uid);
    const nodeName = pod.spec.nodeName;
    if (!nodeName || pod.metadata.labels?.[SIMULATE_LABEL] === "true" || this.seen.has(uid)) return;
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    this.seen.add(uid);
    void this.admit(pod, nodeName).catch((e) => this.log(`${pod.metadata.name}: ${(e as Error).message}`));
  }

  private async node(name: string): Promise<Node | null> {
    if (!this.nodes.has(name)) {
      const n = await this.api.request<Node>("GET", `/api/v1/nodes/${name}`).catch(() => null);
      if (!n) return null;
      this.nodes.set(name, n);
    }
    return this.nodes.get(name) ?? null;
  }

  // ---- running a pod --------------------------------------------------------------------------

  private async admit(pod: Pod, nodeName: string): Promise<void> {
    const node = await this.node(nodeName);
    // Only KWOK's nodes are ours: on any other node a real kubelet would run the pod.
    if (node?.metadata.annotations?.[KWOK_ANNOTATION] !== "fake") return;
    const hostIP = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    const container = pod.spec.containers[0];
    if (!container || pod.spec.containers.length > 1 || pod.spec.initContainers?.length) {
      await this.writeStatus(
        pod,
        {
          state: "waiting",
          reason: "CreateContainerError",
          message: "the harness runs one container and no init containers",
        },
        hostIP,
      );
      return;
    }
    const image = this.o.images.find((i) => i.matches(container.image));
    if (!image) {
      await this.writeStatus(
        pod,
        {
          state: "waiting",
          reason: "ErrImageNeverPull",
          message: `image ${container.image} is not in the harness's image table`,
        },
        hostIP,
      );
      return;
    }
    const dir = join(this.o.workDir, `${pod.metadata.namespace}_${pod.metadata.name}_${uid8(pod)}`);
    const paths: Record<string, string> = {};
    for (const v of pod.spec.volumes ?? []) {
      const claim = (v.persistentVolumeClaim as { claimName?: string } | undefined)?.claimName;
      const host = v.emptyDir
        ? join(dir, "volumes", v.name)
        : claim
          ? join(this.o.workDir, "pvc", pod.metadata.namespace, claim)
          : undefined;
      if (!host) continue;
      await mkdir(host, { recursive: true });
      for (const m of container.volumeMounts ?? []) if (m.name === v.name) paths[m.mountPath] = host;
    }
    for (const d of image.dirs ?? []) {
      if (paths[d]) continue;
      paths[d] = join(dir, "rootfs", d);
      await mkdir(paths[d], { recursive: true });
    }
    const termFile = join(dir, "termination-log");
    await writeFile(termFile, "");
    paths[container.terminationMessagePath ?? "/dev/termination-log"] = termFile;

    // The kubelet retries a container whose Secret or ConfigMap is not there yet.
    let env: Record<string, string> | undefined;
    for (let attempt = 0; !env; attempt++) {
      try {
        env = await resolveEnv(pod, container, this.sources(pod), hostIP ? { hostIP } : {});
      } catch (e) {
        if (!(e instanceof ContainerConfigError)) throw e;
        if (attempt === 0)
          await this.writeStatus(pod, { state: "waiting", reason: e.reason, message: e.message }, hostIP);
        if (this.stopping.signal.aborted || !(await this.exists(pod))) return;
        await sleep(1000);
      }
    }
    let spec: ReturnType<typeof processSpec>;
    const startedAt = now();
    try {
      spec = processSpec(container, image, env, paths);
    } catch (e) {
      const err = e as ContainerStartError;
      await this.writeStatus(
        pod,
        {
          state: "terminated",
          exitCode: 128,
          reason: err.reason ?? "StartError",
          message: err.message,
          startedAt,
          finishedAt: now(),
        },
        hostIP,
      );
      return;
    }
    const logFile = join(dir, `${container.name}.log`);
    const fd = openSync(logFile, "a");
    const [cmd = "", ...args] = spec.argv;
    const child = spawn(cmd, args, {
      env: spec.env,
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
      stdio: ["ignore", fd, fd],
      // its own process group: a kill reaches ffmpeg and every other child, as a cgroup kill would
      detached: true,
    });
    closeSync(fd);
    let finished!: () => void;
    const run: PodRun = {
      pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
      uid: pod.metadata.uid,
      node: pod.spec.nodeName ?? "",
      labels: pod.metadata.labels ?? {},
      argv: spec.argv,
      logFile,
      startedAt: Date.now(),
      done: new Promise<void>((r) => {
        finished = r;
      }),
    };
    this.runs.push(run);
    const r: Running = { run, child, deleting: false };
    this.running.set(run.uid, r);
    this.log(`${run.pod} on ${run.node}: ${spec.argv.slice(1).join(" ")}`);
    // Running is written before the exit can be: a fast exit must not be overwritten by it.
    const runningWritten = this.writeStatus(pod, { state: "running", startedAt }, hostIP).catch((e) =>
      this.log(`${run.pod}: ${(e as Error).message}`),
    );
    child.once("exit", (code, signal) => {
      void runningWritten
        .then(() => this.exited(pod, r, code, signal, startedAt, container.terminationMessagePolicy, termFile, hostIP))
        .finally(finished);
    });
    child.once("error", (e) => this.log(`${run.pod}: spawn failed: ${e.message}`));
    await runningWritten;
  }

  private async exited(
    pod: Pod,
    r: Running,
    code: number | null,
    signal: NodeJS.Signals | null,
    startedAt: string,
    policy: "File" | "FallbackToLogsOnError" | undefined,
    termFile: string,
    hostIP: string | undefined,
  ) {
    const finishedAt = Date.now();
    clearTimeout(r.killTimer);
    // The container's init is gone: whatever it left running goes with it.
    signalGroup(r.child, "SIGKILL");
    this.running.delete(r.run.uid);
    const exitCode = exitCodeOf(code, signal);
    const [file, logs] = await Promise.all([
      readFile(termFile, "utf8").catch(() => ""),
      readFile(r.run.logFile, "utf8").catch(() => ""),
    ]);
    const message = terminationMessage({ file, logs, exitCode, ...(policy ? { policy } : {}) });
    Object.assign(r.run, { exitCode, message, finishedAt, ...(signal ? { signal } : {}) });
    this.log(`${r.run.pod} exited ${exitCode}${signal ? ` (${signal})` : ""}`);
    if (r.deleting || this.stopping.signal.aborted) return;
    await this.writeStatus(
      pod,
      {
        state: "terminated",
        exitCode,
        ...(signal ? { signal } : {}),
        message,
        startedAt,
        finishedAt: now(),
      },
      hostIP,
    ).catch((e) => this.log(`${r.run.pod}: status not written: ${(e as Error).message}`));
  }

  // ---- API ---------------------------------------------------------------------------------------

  /** The API as the pod's node's kubelet (see `nodeKubeconfig`). */
  private apiOf(pod: Pod): Promise<Api> {
    const node = pod.spec.nodeName ?? "";
    const make = this.o.nodeKubeconfig;
    if (!make || !node) return Promise.resolve(this.api);
    let a = this.nodeApis.get(node);
    if (!a) {
      a = make(node).then((k) => Api.fromKubeconfig(k));
      a.catch(() => this.nodeApis.delete(node));
      this.nodeApis.set(node, a);
    }
    return a;
  }

  private sources(pod: Pod) {
    const data = async (kind: "secrets" | "configmaps", ns: string, name: string) => {
      try {
        const o = await (await this.apiOf(pod)).request<{ data?: Record<string, string> }>(
          "GET",
          `/api/v1/namespaces/${ns}/${kind}/${name}`,
        );
        const d = o.data ?? {};
        return kind === "secrets"
          ? Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]))
          : d;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      }
    };
    return {
      secret: (ns: string, name: string) => data("secrets", ns, name),
      configMap: (ns: string, name: string) => data("configmaps", ns, name),
    };
  }

  private async exists(pod: Pod): Promise<boolean> {
    const p = await this.getPod(pod);
    return !!p && !p.metadata.deletionTimestamp;
  }

  private async getPod(pod: Pod): Promise<Pod | undefined> {
    return (await this.apiOf(pod))
      .request<Pod>("GET", `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`)
      .then((p) => (p.metadata.uid === pod.metadata.uid ? p : undefined))
      .catch((e) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      });
  }

  /** The status from the pod as it is now (conditions merged), written only over that version. */
  private async writeStatus(pod: Pod, run: ContainerRun, hostIP: string | undefined): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.getPod(pod);
      if (!current) return;
      const status = podStatus(current, run, {
        now: now(),
        containerID: `reel-kubelet://${pod.metadata.uid}`,
        ...(hostIP ? { hostIP } : {}),
      });
      try {
        await (await this.apiOf(pod)).request(
          "PATCH",
          `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
          { metadata: { resourceVersion: current.metadata.resourceVersion }, status },
          "application/merge-patch+json",
        );
        return;
      } catch (e) {
        if (e instanceof ApiError && (e.status === 409 || e.status === 404)) continue;
        throw e;
      }
    }
  }
}

function uid8(pod: Pod) {
  return pod.metadata.uid.slice(0, 8);
}

function signalPid(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    child.kill(signal);
  } catch {}
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {}
}
