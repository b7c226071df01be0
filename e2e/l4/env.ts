// The L4 environment: the L3 control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, KWOK nodes), real Redis, PostgreSQL and S3 (versitygw), Reel's chart rendered by
// the pinned helm and applied but for its workloads (CRD, RBAC, PriorityClasses, admission policy…), the
// operator and the shim run as local processes with the env the chart's Deployments give them
// (resolved like a kubelet would, authenticated as the chart's ServiceAccounts with tokens from
// `kubectl create token`), and the kubelet harness running the worker pods.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { parse, parseAllDocuments, stringify } from "yaml";
import { type Cluster, clusterUp, k8sBinDir } from "../cluster/cluster.ts";
import { Api } from "../src/kubelet/api.ts";
import { resolveEnv } from "../src/kubelet/env.ts";
import { workerImage } from "../src/kubelet/images.ts";
import { Kubelet } from "../src/kubelet/kubelet.ts";
import type { Container, Pod } from "../src/kubelet/types.ts";
import {
  freePort,
  type PostgresServer,
  type RedisServer,
  type S3Server,
  startPostgres,
  startRedis,
  startS3,
} from "../src/services/index.ts";
import { until } from "../src/until.ts";

const run = promisify(execFile);
export const root = join(import.meta.dirname, "..", "..");
const chart = join(root, "charts", "reel");
export const RELEASE_NS = "reel-system";
export const TENANT_NS = "media";

export function helmPath(): string {
  return execFileSync("bash", [join(root, "e2e", "scripts", "build-helm.sh"), "--print"], { encoding: "utf8" }).trim();
}

export function helmBuilt(): boolean {
  try {
    execFileSync("bash", [join(root, "e2e", "scripts", "build-helm.sh"), "--check"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec: { containers: Container[] } } };
};

/** A program of the chart (operator or shim) run here as the chart's Deployment would run it. */
export class Component {
  private child?: ChildProcess;
  readonly name: string;
  readonly logFile: string;
  private readonly argv: string[];
  private readonly env: Record<string, string>;

  constructor(name: string, argv: string[], env: Record<string, string>, logFile: string) {
    this.name = name;
    this.argv = argv;
    this.env = env;
    this.logFile = logFile;
  }

  start(): void {
    const fd = openSync(this.logFile, "a");
    const [cmd = "", ...args] = this.argv;
    const child = spawn(cmd, args, { cwd: root, env: this.env, stdio: ["ignore", fd, fd] });
    closeSync(fd);
    this.child = child;
    // never outlive the test process
    const onExit = () => child.kill("SIGKILL");
    process.once("exit", onExit);
    child.once("exit", () => process.off("exit", onExit));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** SIGTERM (a rolling update) or SIGKILL (a crash); resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => c.kill("SIGKILL"), 10_000);
      c.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      c.kill(signal);
    });
  }

  async logs(): Promise<string> {
    return readFile(this.logFile, "utf8").catch(() => "");
  }
}

export interface L4 {
  dir: string;
  cluster: Cluster;
  s3: S3Server;
  s3Client: S3Client;
  redis: RedisServer;
  postgres: PostgresServer;
  api: Api;
  kubelet: Kubelet;
  operator: Component;
  shim: Component;
  shimUrl: string;
  /** The operator's /metrics, /healthz and /readyz (the chart's metricsPort). */
  operatorUrl: string;
  /** An API key of user alice (role operator, tenant media). */
  apiKey: string;
  kubectl(args: string[], input?: string): Promise<string>;
  /** Seconds from the CRD's Established to the first VideoJob the apiserver admitted. */
  admissionDelaySeconds: number;
  /** The chart's manifests as rendered for this run. */
  manifests: Manifest[];
  stop(): Promise<void>;
}

/**
 * What the chart renders that this environment runs itself instead: the operator and the shim as
 * local processes, and no node probe (its pods would land on KWOK nodes, and the nodes' capability
 * labels are nodes.yaml's). Everything else is applied as `helm install` would.
 */
const RUN_LOCALLY = new Set(["Deployment", "DaemonSet", "HorizontalPodAutoscaler"]);

/** A kubeconfig that authenticates as a ServiceAccount with a token from `kubectl create token`. */
async function serviceAccountKubeconfig(c: Cluster, sa: string, path: string): Promise<void> {
  const token = (await c.kubectl(["create", "token", sa, "-n", RELEASE_NS, "--duration", "2h"])).trim();
  await writeKubeconfig(c, path, sa, { token });
}

/** A kubeconfig for the cluster of `c` (its server and CA) with one user's credentials, mode 0600. */
async function writeKubeconfig(c: Cluster, path: string, name: string, user: Record<string, string>): Promise<void> {
  const admin = parse(await readFile(c.kubeconfig, "utf8")) as { clusters: Array<{ name: string; cluster: unknown }> };
  const cluster = admin.clusters[0];
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [cluster],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: cluster?.name, user: name } }],
      "current-context": name,
    }),
    { mode: 0o600 },
  );
}

/**
 * A kubelet's client credentials for `node`: a P-256 key and a certificate for CN=system:node:<node>,
 * O=system:nodes signed by the cluster CA (what TLS bootstrapping would have given it), in a
 * kubeconfig. The apiserver then applies the Node authorizer and NodeRestriction to it.
 */
async function nodeKubeconfig(c: Cluster, stateDir: string, node: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const pki = join(stateDir, "pki");
  const [key, csr, crt] = ["key", "csr", "crt"].map((x) => join(dir, `${node}.${x}`)) as [string, string, string];
  await run("openssl", [
    ...["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-subj", `/O=system:nodes/CN=system:node:${node}`, "-keyout", key, "-out", csr],
  ]);
  await run("openssl", [
    ...["x509", "-req", "-in", csr, "-CA", join(pki, "ca.crt"), "-CAkey", join(pki, "ca.key")],
    ...["-CAcreateserial", "-CAserial", join(dir, "ca.srl"), "-days", "1", "-out", crt],
  ]);
  const b64 = async (f: string) => (await readFile(f)).toString("base64");
  const path = join(dir, `${node}.kubeconfig`);
  await writeKubeconfig(c, path, node, {
    "client-certificate-data": await b64(crt),
    "client-key-data": await b64(key),
  });
  return path;
}

export async function startL4(
  dir: string,
  log: (line: string) => void = () => {},
  /** uploads: the shim's upload area (tus) in bucket "videos", its keys in Secret reel-uploads. */
  opts: { uploads?: boolean } = {},
): Promise<L4> {
  const t0 = Date.now();
  const step = (what: string) => log(`[l4] ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  await mkdir(join(dir, "logs"), { recursive: true });
  const started: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s().catch(() => {});
  };
  try {
    const [cluster, s3, redis, postgres] = await Promise.all([
      clusterUp({ level: 3, dir: join(dir, "cluster") }).then((c) => {
        started.push(() => c.down());
        return c;
      }),
      startS3().then((s) => {
        started.push(() => s.stop());
        return s;
      }),
      startRedis().then((s) => {
        started.push(() => s.stop());
        return s;
      }),
      startPostgres().then((s) => {
        started.push(() => s.stop());
        return s;
      }),
    ]);
    step("control plane, S3, Redis and PostgreSQL up");
    const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    started.push(async () => s3Client.destroy());
    await s3Client.send(new CreateBucketCommand({ Bucket: "videos" }));

    // ---- the chart ----
    const [operatorPort, shimPort] = [await freePort(), await freePort()];
    const { stdout: rendered } = await run(
      helmPath(),
      [
        ...["template", "reel", chart, "-n", RELEASE_NS, "--kube-version", "1.37.2"],
        ...["-f", join(import.meta.dirname, "values.yaml")],
        ...[
          "--set",
          `redis.url=${redis.url}`,
          "--set",
          `operator.metricsPort=${operatorPort}`,
          "--set",
          `shim.port=${shimPort}`,
          ...(opts.uploads ? ["--set", "uploads.bucket=videos", "--set", `uploads.endpoint=${s3.endpoint}`] : []),
          ...(opts.uploads
            ? ["--set", `uploads.region=${s3.region}`, "--set", "uploads.credentialsSecret=reel-uploads"]
            : []),
        ],
      ],
      { maxBuffer: 32 << 20 },
    );
    const manifests = parseAllDocuments(rendered)
      .map((d) => d.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
    await kubectl(["apply", "--server-side", "-f", join(chart, "crds")]);
    for (const ns of [RELEASE_NS, TENANT_NS]) await kubectl(["create", "namespace", ns]);
    const rest = manifests.filter((m) => !RUN_LOCALLY.has(m.kind));
    await kubectl(["apply", "--server-side", "-f", "-"], rest.map((m) => JSON.stringify(m)).join("\n---\n"));
    await kubectl(["wait", "--for=condition=Established", "crd/videojobs.reel.dev"]);
    await kubectl(["create", "secret", "generic", "reel-db", "-n", RELEASE_NS, `--from-literal=url=${postgres.url}`]);
    // The shim's keys to the upload area, and the tenant's for the workers reading `upload:` episodes.
    for (const ns of opts.uploads ? [RELEASE_NS, TENANT_NS] : []) {
      await kubectl([
        ...["create", "secret", "generic", "reel-uploads", "-n", ns],
        ...[`--from-literal=accessKeyId=${s3.accessKeyId}`, `--from-literal=secretAccessKey=${s3.secretAccessKey}`],
      ]);
    }
    step(`chart applied: ${[...new Set(rest.map((m) => m.kind))].join(", ")}`);
    // Found here: with the chart's finalizer MutatingAdmissionPolicy installed, creating a VideoJob
    // answers 503 "Resource kind reel.dev/v1alpha1, Kind=VideoJob not found" for several seconds
    // after the CRD is Established (the policy's admission does not know the new kind yet;
    // failurePolicy Ignore does not cover it). An installer has to wait the same way; the delay is logged.
    const probe = JSON.stringify({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "admission-probe", namespace: TENANT_NS },
      spec: {
        episodes: [{ url: "https://cdn.example.com/x.mp4" }],
        output: { s3: { bucket: "videos", credentialsSecret: "none" } },
      },
    });
    const established = Date.now();
    await until(
      "VideoJobs admitted",
      () => kubectl(["create", "--dry-run=server", "-f", "-"], probe).then(() => true),
      60_000,
      250,
    );
    const admissionDelaySeconds = (Date.now() - established) / 1000;
    step(`VideoJobs admitted ${admissionDelaySeconds.toFixed(1)} s after the CRD was Established`);

    // ---- operator and shim, as the Deployments run them ----
    const api = await Api.fromKubeconfig(cluster.kubeconfig);
    started.push(() => api.close());
    const sources = {
      secret: async (ns: string, name: string) => {
        const s = await api
          .request<{ data?: Record<string, string> }>("GET", `/api/v1/namespaces/${ns}/secrets/${name}`)
          .catch(() => undefined);
        return (
          s &&
          Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]))
        );
      },
      configMap: async () => undefined,
    };
    const deploymentEnv = async (name: string, sa: string): Promise<Record<string, string>> => {
      const d = manifests.find((m) => m.kind === "Deployment" && m.metadata.name === name);
      const container = d?.spec?.template?.spec.containers[0];
      if (!container) throw new Error(`the chart rendered no Deployment ${name}`);
      const pod: Pod = {
        metadata: { name: `${name}-local-0`, namespace: RELEASE_NS, uid: `${name}-local` },
        spec: { serviceAccountName: sa, containers: [container] },
      };
      const kubeconfig = join(dir, `${sa}.kubeconfig`);
      await serviceAccountKubeconfig(cluster, sa, kubeconfig);
      // A container's env holds what the image and the chart set: no variable of this test process.
      return {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: join(dir, name),
        KUBECONFIG: kubeconfig,
        ...(await resolveEnv(pod, container, sources)),
      };
    };
    const node = process.execPath;
    const operatorEnv = await deploymentEnv("reel-operator", "reel-operator");
    const operator = new Component(
      "operator",
      [node, join(root, "operator", "src", "main.ts")],
      operatorEnv,
      join(dir, "logs", "operator.log"),
    );
    const shimEnv = await deploymentEnv("reel-shim", "reel-shim");
    const shim = new Component(
      "shim",
      [node, join(root, "api-shim", "src", "main.ts")],
      shimEnv,
      join(dir, "logs", "shim.log"),
    );
    await mkdir(operatorEnv.HOME as string, { recursive: true });
    await mkdir(shimEnv.HOME as string, { recursive: true });

    // The first user and key, as an administrator does it (`npm run shim:admin -- add-user …`).
    const { stdout: added } = await run(
      node,
      [
        join(root, "api-shim", "src", "admin.ts"),
        "add-user",
        "--name",
        "alice",
        "--role",
        "operator",
        "--tenant",
        TENANT_NS,
      ],
      { cwd: root, env: shimEnv },
    );
    const apiKey = /API key \(shown once\): (\S+)/.exec(added)?.[1];
    if (!apiKey) throw new Error(`shim:admin add-user printed no key:\n${added}`);

    operator.start();
    started.push(() => operator.stop());
    shim.start();
    started.push(() => shim.stop());
    const shimUrl = `http://127.0.0.1:${shimPort}`;
    await until(
      "the operator leading",
      async () => /reel_operator_leader 1/.test(await (await fetch(`http://127.0.0.1:${operatorPort}/metrics`)).text()),
      30_000,
    ).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await operator.logs()}`);
    });
    await until("the shim healthy", async () => (await fetch(`${shimUrl}/api/health`)).ok, 30_000).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await shim.logs()}`);
    });
    step("operator leading and shim healthy (as their ServiceAccounts)");

    const kubelet = await Kubelet.start({
      kubeconfig: cluster.kubeconfig,
      nodeKubeconfig: (node) => nodeKubeconfig(cluster, join(dir, "cluster"), node, join(dir, "nodes")),
      images: [workerImage()],
      workDir: join(dir, "kubelet"),
      log,
    });
    started.push(() => kubelet.stop());

    return {
      dir,
      cluster,
      s3,
      s3Client,
      redis,
      postgres,
      api,
      kubelet,
      operator,
      shim,
      shimUrl,
      operatorUrl: `http://127.0.0.1:${operatorPort}`,
      apiKey,
      kubectl,
      manifests,
      admissionDelaySeconds,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** kubectl's path (the pinned build), for commands the test runs as a user would. */
export function kubectlPath(): string {
  return join(k8sBinDir(), "kubectl");
}

export const cacheDir = process.env.REEL_CACHE_DIR ?? join(homedir(), ".cache", "reel");
