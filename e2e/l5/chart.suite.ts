// The chart on the real L5 node, as a user installs it: the three images built from their
// Dockerfiles (e2e/images/build.sh) imported into the node's containerd, `helm install reel
// charts/reel` (helm v4.3.2, e2e/helm/build-helm.sh) with the images by digest, the operator (two
// replicas, leader election), the shim and the node probe as the chart's own pods on the kubelet.
// PostgreSQL, Redis and versitygw are processes on the host (e2e/src/services), reached from the
// pods through relays on the bridge: no image of them is built here. Registered inside
// l5.e2e.test.ts's suite, between its pod test and its down test (one L5 at a time on a machine).
import { execFile, execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { addUser } from "../../api-shim/src/admin.ts";
import { connectPostgres } from "../../api-shim/src/db/database.ts";
import { chromiumPath } from "../../api-shim/src/dashboard/browser.ts";
import { serveDir } from "../../worker-image/src/cli/serve.ts";
import { startPostgres, startRedis, startS3 } from "../src/services/index.ts";
import { until } from "../src/until.ts";
import {
  type ImageRefs,
  nodePodLog,
  parseImageRefs,
  podMemory,
  type Relay,
  relay,
  serviceRouter,
  serviceRoutes,
} from "./chart.ts";
import { dashboardJobs, reel } from "./clients.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const script = join(import.meta.dirname, "run.sh");
const GW = "10.244.50.1"; // run.sh's bridge address on the host
const SUBNET = "10.244.50.0/24"; // run.sh's pod range
const NODE = "reel-l5";
const RELEASE_NS = "reel-system";
const TENANT_NS = "media";
const cache = process.env.REEL_CACHE_DIR ?? join(process.env.HOME ?? "/root", ".cache", "reel");
const podLogsDir = join(cache, "l5", "state", "pod-logs"); // run.sh's kubelet podLogsDir
const buildahStorage = [
  "--root",
  join(cache, "images", "storage-overlay"),
  "--runroot",
  "/run/reel-images-overlay",
  "--storage-driver",
  "overlay",
];

export function helmPath(): string {
  return execFileSync("bash", [join(root, "e2e", "helm", "build-helm.sh"), "--print"], { encoding: "utf8" }).trim();
}

/** Why the chart part cannot run here (helm v4 or the Dockerfiles' images not built), or undefined. */
export function chartSkipReason(): string | undefined {
  const why: string[] = [];
  try {
    execFileSync("bash", [join(root, "e2e", "helm", "build-helm.sh"), "--check"], { stdio: "ignore" });
  } catch {
    why.push("helm v4 is not built (bash e2e/helm/build-helm.sh)");
  }
  for (const n of ["worker", "operator", "shim"]) {
    try {
      execFileSync("buildah", [...buildahStorage, "inspect", "--type", "image", `reel.local/reel-${n}:0.1.0`], {
        stdio: "ignore",
      });
    } catch {
      why.push(`reel.local/reel-${n}:0.1.0 is not built (bash e2e/images/build.sh)`);
    }
  }
  return why.length ? why.join("; ") : undefined;
}

interface Env {
  kubectl(args: string[], input?: string): Promise<string>;
  helm(args: string[]): Promise<string>;
  s3: S3Client;
  s3Endpoint: string;
  origin: string;
  images: ImageRefs;
  /** the host's PostgreSQL (the shim's database), for the first API key as `reel-shim admin` makes it */
  pgUrl: string;
  installedAt: number;
  /** routes the chart's Services for pods, as kube-proxy would, from their EndpointSlices now */
  syncServices(): Promise<void>;
  /** an admin API key of tenant media, made once as `reel-shim admin add-user` makes it */
  apiKey(): Promise<string>;
  stop(): Promise<void>;
}

async function sh(args: string[], timeout: number): Promise<string> {
  const { stdout } = await run("bash", [script, ...args], { timeout, maxBuffer: 16 << 20 }).catch((e) => {
    throw new Error(`run.sh ${args.join(" ")} failed: ${e.message}\n${e.stderr ?? ""}`);
  });
  return stdout;
}

/** Three 2 s sources (show/) and three 30 s ones (long/: a job that outlasts a rollout), served on the bridge. */
async function sources(dir: string, stops: Array<() => Promise<void>>): Promise<string> {
  for (const [folder, secs] of [
    ["show", 2],
    ["long", 30],
  ] as const) {
    await mkdir(join(dir, "src", folder), { recursive: true });
    for (const [i, hz] of [440, 660, 880].entries()) {
      await run("ffmpeg", [
        ...["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=320x240:rate=25`],
        ...["-f", "lavfi", "-i", `sine=frequency=${hz}:sample_rate=48000`, "-t", String(secs)],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
        join(dir, "src", folder, `ep${i + 1}.mp4`),
      ]);
    }
  }
  const server = await serveDir(join(dir, "src"), { host: GW });
  stops.push(server.close);
  return server.origin;
}

/** Host services, each behind a relay on the bridge; the apiserver behind one too, and its route. */
async function services(kubeconfig: string, stops: Array<() => Promise<void>>) {
  const track = async <T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> => {
    const started = await p;
    stops.push(() => started.stop());
    return started;
  };
  const [s3, redis, pg] = await Promise.all([track(startS3()), track(startRedis()), track(startPostgres())]);
  const on = async (port: number): Promise<Relay> => {
    const r = await relay(GW, port);
    stops.push(r.close);
    return r;
  };
  const apiPort = Number(/server: https:\/\/127\.0\.0\.1:(\d+)/.exec(await readFile(kubeconfig, "utf8"))?.[1]);
  const api = await on(apiPort);
  await sh(["service-route", "add", String(api.port)], 10_000);
  stops.push(() => sh(["service-route", "delete", String(api.port)], 10_000).then(() => {}));
  const s3Port = Number(new URL(s3.endpoint).port);
  return {
    s3,
    redisUrl: `redis://${(await on(redis.port)).address}`,
    pgUrl: `postgres://reel@${(await on(pg.port)).address}/reel`,
    pgLocalUrl: pg.url,
    s3Relay: `http://${(await on(s3Port)).address}`,
  };
}

async function setUp(kubeconfig: string, kubectlBin: string, dir: string): Promise<Env> {
  const stops: Array<() => Promise<void>> = [];
  const kubectl = (args: string[], input?: string) =>
    new Promise<string>((resolve, reject) => {
      const c = execFile(
        kubectlBin,
        ["--kubeconfig", kubeconfig, ...args],
        { maxBuffer: 64 << 20 },
        (err, out, errOut) =>
          err ? reject(new Error(`kubectl ${args.join(" ")}: ${errOut || err.message}`)) : resolve(out),
      );
      if (input !== undefined) c.stdin?.end(input);
    });
  const helm = async (args: string[]) =>
    (await run(helmPath(), ["--kubeconfig", kubeconfig, ...args], { maxBuffer: 16 << 20 })).stdout;
  try {
    const images = parseImageRefs(await sh(["dockerfile-images"], 600_000));
    const svc = await services(kubeconfig, stops);
    const origin = await sources(dir, stops);
    const s3 = new S3Client({
      endpoint: svc.s3.endpoint,
      region: svc.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: svc.s3.accessKeyId, secretAccessKey: svc.s3.secretAccessKey },
    });
    stops.push(async () => s3.destroy());
    await s3.send(new CreateBucketCommand({ Bucket: "videos" }));
    // run.sh pod's stand-ins for the chart's PriorityClass and CRD (applied by kubectl from the working
    // tree): helm would refuse to adopt the one and conflict with the other's field manager
    await kubectl(["delete", "priorityclass", "reel-normal", "--ignore-not-found"]);
    await kubectl(["delete", "crd", "videojobs.reel.dev", "--ignore-not-found", "--wait=true", "--timeout=60s"]);
    for (const ns of [RELEASE_NS, TENANT_NS]) await kubectl(["create", "namespace", ns]);
    await kubectl(["create", "secret", "generic", "reel-db", "-n", RELEASE_NS, `--from-literal=url=${svc.pgUrl}`]);
    await kubectl([
      ...["create", "secret", "generic", "s3-creds", "-n", TENANT_NS],
      `--from-literal=accessKeyId=${svc.s3.accessKeyId}`,
      `--from-literal=secretAccessKey=${svc.s3.secretAccessKey}`,
    ]);
    const set = (["worker", "operator", "shim"] as const).flatMap((n) => [
      ...["--set", `images.${n}.repository=${images[n].repository}`],
      ...["--set", `images.${n}.tag=0.1.0@${images[n].digest}`],
    ]);
    const router = serviceRouter(SUBNET);
    stops.push(router.close);
    const installedAt = Date.now();
    await helm([
      ...["install", "reel", join(root, "charts", "reel"), "-n", RELEASE_NS],
      ...["-f", join(import.meta.dirname, "values.yaml"), "--set", `redis.url=${svc.redisUrl}`, ...set],
    ]);
    return {
      ...{ kubectl, helm, s3, s3Endpoint: svc.s3Relay, origin, images, pgUrl: svc.pgLocalUrl, installedAt },
      syncServices: () => syncServices(kubectl, router),
      apiKey: once(() => makeKey(svc.pgLocalUrl)),
      stop: () => stopAll(stops),
    };
  } catch (e) {
    await stopAll(stops);
    throw e;
  }
}

const CHART_SERVICES = ["reel-shim", "reel-operator-metrics"];

async function syncServices(kubectl: Env["kubectl"], router: ReturnType<typeof serviceRouter>): Promise<void> {
  const routes = [];
  for (const name of CHART_SERVICES) {
    const svc = JSON.parse(await kubectl(["get", "service", "-n", RELEASE_NS, name, "-o", "json"]));
    const slices = JSON.parse(
      await kubectl([
        "get",
        "endpointslices",
        "-n",
        RELEASE_NS,
        "-l",
        `kubernetes.io/service-name=${name}`,
        "-o",
        "json",
      ]),
    ).items;
    routes.push(...serviceRoutes(svc, slices));
  }
  await router.sync(routes);
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

async function makeKey(pgUrl: string): Promise<string> {
  const sql = connectPostgres(pgUrl, 1);
  const user = { name: "alice", role: "admin" as const, tenant: TENANT_NS, namespace: TENANT_NS };
  return (await addUser(sql, user).finally(() => sql.end())).key;
}

/** The shim Service's ready endpoints (address:port), from its EndpointSlices. */
async function shimEndpoints(e: Env): Promise<string[]> {
  const slices = JSON.parse(
    await e.kubectl([
      "get",
      "endpointslices",
      "-n",
      RELEASE_NS,
      "-l",
      "kubernetes.io/service-name=reel-shim",
      "-o",
      "json",
    ]),
  ).items as Array<{
    endpoints?: Array<{ addresses: string[]; conditions: { ready?: boolean } }>;
    ports?: Array<{ port: number }>;
  }>;
  return slices.flatMap((sl) =>
    (sl.endpoints ?? []).filter((p) => p.conditions.ready).map((p) => `${p.addresses[0]}:${sl.ports?.[0]?.port}`),
  );
}

/** The shim Service's one ready endpoint: no kube-proxy on this node, so the host calls it there. */
async function shimUrl(e: Env): Promise<string> {
  const ready = await shimEndpoints(e);
  expect(ready).toHaveLength(1);
  return `http://${ready[0]}`;
}

async function stopAll(stops: Array<() => Promise<void>>): Promise<void> {
  for (const s of stops.reverse()) await s().catch(() => {});
}

type Pod = {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers: Array<{ image: string }> };
  status: { phase: string; conditions?: Array<{ type: string; status: string }> };
};
const ready = (p: Pod) => p.status.conditions?.find((c) => c.type === "Ready")?.status === "True";

export function chartSuite(node: () => { kubeconfig: string; kubectl: string }, log: (l: string) => void): void {
  let env: Env | undefined;
  let dir = "";
  const pods = async (ns: string, selector: string) =>
    JSON.parse(await (env as Env).kubectl(["get", "pods", "-n", ns, "-l", selector, "-o", "json"])).items as Pod[];

  beforeAll(async () => {
    dir = await mkdtemp(join(process.env.TMPDIR ?? "/tmp", "reel-l5-chart-"));
    env = await setUp(node().kubeconfig, node().kubectl, dir);
  }, 900_000);

  afterAll(async () => {
    await env?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it("helm install runs the chart's operator (2 replicas, one leading) and shim on the real node from the images by digest", async () => {
    const e = env as Env;
    for (const d of ["reel-operator", "reel-shim"]) {
      await e.kubectl(["rollout", "status", "-n", RELEASE_NS, `deploy/${d}`, "--timeout=300s"]);
    }
    const operators = await pods(RELEASE_NS, "app.kubernetes.io/component=operator");
    const shims = await pods(RELEASE_NS, "app.kubernetes.io/component=shim");
    expect(operators).toHaveLength(2);
    expect(shims).toHaveLength(1);
    for (const p of [...operators, ...shims]) {
      expect(p.spec.nodeName).toBe(NODE);
      expect(ready(p)).toBe(true);
    }
    expect(operators[0]?.spec.containers[0]?.image).toBe(
      `${e.images.operator.repository}:0.1.0@${e.images.operator.digest}`,
    );
    const holder = (
      await e.kubectl(["get", "lease", "-n", RELEASE_NS, "reel-operator", "-o", "jsonpath={.spec.holderIdentity}"])
    ).trim();
    expect(operators.map((p) => p.metadata.name)).toContain(holder);
    log(
      `[l5 chart] Deployments Ready ${((Date.now() - e.installedAt) / 1000).toFixed(1)} s after helm install; leader ${holder}`,
    );
  }, 360_000);

  it("a three-episode VideoJob with merge, applied with kubectl, completes on the real node: Ready, the merged file in S3", async () => {
    const e = env as Env;
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(videoJob("season", e)));
    await e.kubectl(["wait", "-n", TENANT_NS, "--for=condition=Ready", "videojob/season", "--timeout=600s"]);
    const firstCompleted = (Date.now() - e.installedAt) / 1000;
    const vj = JSON.parse(await e.kubectl(["get", "videojob", "-n", TENANT_NS, "season", "-o", "json"]));
    expect(vj.status.phase).toBe("Completed");
    expect(vj.status.episodes.map((x: { phase: string; node?: string }) => [x.phase, x.node])).toEqual(
      [0, 1, 2].map(() => ["Completed", NODE]),
    );
    const chapters = await mergedChapters(e, vj.status.output.location, dir);
    expect(chapters).toEqual(["Pilot", "The Signal", "Crossroads"]);
    log(`[l5 chart] helm install -> first VideoJob Completed: ${firstCompleted.toFixed(1)} s`);
    log(
      `[l5 chart] pods' memory (working set / RSS, MiB): ${await memoryLine(await pods(RELEASE_NS, "app.kubernetes.io/instance=reel"))}`,
    );
    const labels = JSON.parse(await e.kubectl(["get", "node", NODE, "-o", "json"])).metadata.labels;
    expect(labels["reel.dev/encoder.libx264"]).toBe("true");
  }, 720_000);

  it("helm test runs the chart's smoke pod (the shim, the operator and the VideoJob CRD through their Services); it fails when the shim has no pod", async () => {
    const e = env as Env;
    await e.syncServices();
    const started = Date.now();
    const pass = await helmTest(e);
    const passSecs = (Date.now() - started) / 1000;
    // the pod exits 0 only when every check passed
    expect(pass.ok, pass.out).toBe(true);
    expect(pass.out).toMatch(/TEST SUITE: +reel-smoke-test[\s\S]*Phase: +Succeeded/);
    // hook-delete-policy hook-succeeded
    await until("the passed smoke pod deleted", async () => (await pods(RELEASE_NS, SMOKE)).length === 0, 60_000, 500);

    await e.kubectl(["scale", "-n", RELEASE_NS, "deploy/reel-shim", "--replicas=0"]);
    await until("no shim endpoint", async () => (await shimEndpoints(e)).length === 0, 120_000, 500);
    await e.syncServices();
    const fail = await helmTest(e);
    expect(fail.ok, fail.out).toBe(false);
    expect(fail.out).toMatch(/Phase: +Failed/);
    // the failed pod stays for its log
    const [failed] = await pods(RELEASE_NS, SMOKE);
    expect(failed?.status.phase).toBe("Failed");
    const m = (failed as Pod).metadata;
    const smokeLog = await nodePodLog(podLogsDir, { ns: RELEASE_NS, name: m.name, uid: m.uid }, "smoke");
    expect(smokeLog).toMatch(/^FAIL {2}shim ready \(Service reel-shim[^\n]*ECONNREFUSED/m);
    expect(smokeLog).toMatch(/^ok {4}operator ready/m);
    expect(smokeLog).toMatch(/^ok {4}operator metrics/m);
    expect(smokeLog).toMatch(/^ok {4}VideoJob CRD served/m);
    expect(smokeLog).toContain("1 of 4 checks failed");

    await e.kubectl(["scale", "-n", RELEASE_NS, "deploy/reel-shim", "--replicas=1"]);
    await e.kubectl(["rollout", "status", "-n", RELEASE_NS, "deploy/reel-shim", "--timeout=300s"]);
    await until("one ready shim endpoint", async () => (await shimEndpoints(e)).length === 1, 120_000, 500);
    await e.syncServices();
    await e.kubectl(["delete", "pod", "-n", RELEASE_NS, "-l", SMOKE, "--wait=true"]);
    log(
      `[l5 chart] helm test passed in ${passSecs.toFixed(1)} s; failed as it should with the shim at 0 replicas; whole test ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 600_000);

  it("the same job through the shim's Service (REST, an API key made as `reel-shim admin` makes it) completes with the merged file", async () => {
    const e = env as Env;
    const key = await e.apiKey();
    const shim = await shimUrl(e);
    const auth = { Authorization: `Bearer ${key}`, "content-type": "application/json" };
    const res = await fetch(`${shim}/api/v1/jobs`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "season-api", spec: videoJob("season-api", e).spec }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const status = await until(
      "season-api final",
      async () => {
        const s = (await (await fetch(`${shim}/api/v1/jobs/season-api/status`, { headers: auth })).json()) as {
          phase?: string;
        };
        return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
      },
      600_000,
      1000,
    );
    expect(status.phase).toBe("Completed");
    const vj = JSON.parse(await e.kubectl(["get", "videojob", "-n", TENANT_NS, "season-api", "-o", "json"]));
    expect(await mergedChapters(e, vj.status.output.location, dir)).toEqual(["Pilot", "The Signal", "Crossroads"]);
  }, 720_000);

  it("the same job through the `reel` CLI against the shim's Service: submit --watch follows it to Completed, status shows the merged file", async () => {
    const e = env as Env;
    const home = join(dir, "cli-home");
    await mkdir(join(home, "config"), { recursive: true });
    const manifest = join(dir, "season-cli.yaml");
    await writeFile(manifest, JSON.stringify(videoJob("season-cli", e))); // JSON is YAML
    const o = { server: await shimUrl(e), key: await e.apiKey(), home, timeoutMs: 600_000 };
    const started = Date.now();
    const sub = await reel(["submit", manifest, "--watch"], o);
    expect(sub.code, `${sub.stdout}\n${sub.stderr}`).toBe(0);
    expect(sub.stdout).toMatch(/^submitted season-cli to media \(3 episodes\)\n/);
    expect(sub.stdout).toContain("Completed");
    const st = await reel(["status", "season-cli", "--json"], o);
    expect(st.code, st.stderr).toBe(0);
    const job = JSON.parse(st.stdout) as { status: { phase: string; output: { location: string } } };
    expect(job.status.phase).toBe("Completed");
    expect(await mergedChapters(e, job.status.output.location, dir)).toEqual(["Pilot", "The Signal", "Crossroads"]);
    const done = sub.stdout.split("\n").find((l) => l.includes("Completed"));
    log(
      `[l5 chart] reel submit --watch season-cli: exit 0 after ${((Date.now() - started) / 1000).toFixed(1)} s; it printed "${done}"`,
    );
  }, 720_000);

  it.skipIf(!chromiumPath())(
    "the dashboard served by the shim pod loads in chromium, signs in with the key and lists the three jobs Completed",
    async () => {
      const e = env as Env;
      // kept after the run for a person to look at, beside the dashboard tests' own screenshots
      const shots = await mkdtemp(join(process.env.TMPDIR ?? "/tmp", "reel-dashboard-shots-l5-"));
      const shot = join(shots, "l5-jobs.png");
      const jobs = ["season", "season-api", "season-cli"];
      const r = await dashboardJobs(await shimUrl(e), await e.apiKey(), jobs, shot);
      expect(r.who).toBe("Signed in as alice (admin) · tenant media");
      expect(r.rows.filter((x) => jobs.includes(x.id)).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
        jobs.map((id) => ({ id, phase: "Completed" })),
      );
      expect(r.problems).toEqual([]);
      log(`[l5 chart] dashboard screenshot: ${shot}`);
    },
    180_000,
  );

  it("helm upgrade with a changed value while a job runs: the operator pods roll, the job completes with one Job per episode and no episode lost", async () => {
    const e = env as Env;
    const before = (await pods(RELEASE_NS, "app.kubernetes.io/component=operator")).map((p) => p.metadata.name);
    await e.kubectl(["apply", "-f", "-"], JSON.stringify(videoJob("midjob", e, "long")));
    await until("midjob's first episode Job", async () => (await jobsOf(e, "midjob")).length > 0, 120_000, 500);
    // no --wait: the job is to be running while the operator's pods are replaced
    await e.helm([
      ...["upgrade", "reel", join(root, "charts", "reel"), "-n", RELEASE_NS, "--reuse-values"],
      ...["--set", "operator.logLevel=debug"],
    ]);
    const phaseAt = async () =>
      JSON.parse(await e.kubectl(["get", "videojob", "-n", TENANT_NS, "midjob", "-o", "json"])).status?.phase;
    const atUpgrade = await phaseAt();
    await e.kubectl(["rollout", "status", "-n", RELEASE_NS, "deploy/reel-operator", "--timeout=300s"]);
    const atRollout = await phaseAt();
    log(
      `[l5 chart] helm upgrade (operator.logLevel=debug): midjob ${atUpgrade} when it returned, ${atRollout} when the rollout ended`,
    );
    expect(atUpgrade).not.toBe("Completed");
    // rollout status returns once the new pods are ready; the old ones may still be terminating
    await until(
      "only the upgraded operator pods",
      async () => {
        const now = (await pods(RELEASE_NS, "app.kubernetes.io/component=operator")).map((p) => p.metadata.name);
        return now.length === 2 && now.every((n) => !before.includes(n));
      },
      180_000,
      1000,
    );
    await e.kubectl(["wait", "-n", TENANT_NS, "--for=condition=Ready", "videojob/midjob", "--timeout=600s"]);
    const vj = JSON.parse(await e.kubectl(["get", "videojob", "-n", TENANT_NS, "midjob", "-o", "json"]));
    expect(vj.status.episodes.map((x: { phase: string }) => x.phase)).toEqual(["Completed", "Completed", "Completed"]);
    const jobs = await jobsOf(e, "midjob");
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual(["midjob-ep0", "midjob-ep1", "midjob-ep2", "midjob-merge"]);
    for (const j of jobs)
      expect([j.metadata.name, j.status.succeeded, j.status.failed ?? 0]).toEqual([j.metadata.name, 1, 0]);
    expect(await mergedChapters(e, vj.status.output.location, dir)).toEqual(["Pilot", "The Signal", "Crossroads"]);
  }, 900_000);

  it("helm uninstall removes the chart's pods and leaves the CRD, the VideoJob and its outputs (NOTES.txt says so)", async () => {
    const e = env as Env;
    expect(await e.helm(["get", "notes", "reel", "-n", RELEASE_NS])).toMatch(
      /leaves the VideoJob CRD[\s\S]*outputs stay/,
    );
    await e.helm(["uninstall", "reel", "-n", RELEASE_NS, "--wait", "--timeout", "120s"]);
    await until(
      "the chart's pods gone",
      async () => (await pods(RELEASE_NS, "app.kubernetes.io/instance=reel")).length === 0,
      120_000,
      1000,
    );
    await e.kubectl(["get", "crd", "videojobs.reel.dev"]);
    const vj = JSON.parse(await e.kubectl(["get", "videojob", "-n", TENANT_NS, "season", "-o", "json"]));
    const { bucket, key } = s3Location(vj.status.output.location);
    // HEAD, not GET: an unread GET body is aborted when versitygw stops, an uncaught ECONNRESET (run 6)
    const head = await e.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentLength).toBeGreaterThan(0);
  }, 240_000);
}

const SMOKE = "app.kubernetes.io/component=smoke-test";

/** `helm test` (no --logs: see nodePodLog): whether it passed, and what it printed. */
async function helmTest(e: Env): Promise<{ ok: boolean; out: string }> {
  return e.helm(["test", "reel", "-n", RELEASE_NS, "--timeout", "180s"]).then(
    (out) => ({ ok: true, out }),
    (err: { stdout?: string; stderr?: string; message: string }) => ({
      ok: false,
      out: `${err.stdout ?? ""}\n${err.stderr || err.message}`,
    }),
  );
}

type Job = { metadata: { name: string }; status: { succeeded?: number; failed?: number } };
async function jobsOf(e: Env, videojob: string): Promise<Job[]> {
  const out = await e.kubectl(["get", "jobs", "-n", TENANT_NS, "-l", `reel.dev/videojob=${videojob}`, "-o", "json"]);
  return JSON.parse(out).items as Job[];
}

function videoJob(name: string, e: Env, folder = "show") {
  const titles = ["Pilot", "The Signal", "Crossroads"];
  return {
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name, namespace: TENANT_NS },
    spec: {
      episodes: titles.map((title, i) => ({ url: `${e.origin}/${folder}/ep${i + 1}.mp4`, title })),
      quality: "480p",
      codec: "h264",
      gpu: { policy: "off" },
      merge: { enabled: true, chapters: true },
      output: {
        s3: {
          bucket: "videos",
          prefix: `${name}/`,
          endpoint: e.s3Endpoint,
          region: "us-east-1",
          credentialsSecret: "s3-creds",
        },
      },
    },
  };
}

function s3Location(location: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!m) throw new Error(`not an s3:// location: ${location}`);
  return { bucket: m[1] as string, key: m[2] as string };
}

/** The merged file from S3, its chapter titles as ffprobe reads them. */
async function mergedChapters(e: Env, location: string, dir: string): Promise<string[]> {
  const { bucket, key } = s3Location(location);
  const obj = await e.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const file = join(dir, "merged.mp4");
  await writeFile(file, await (obj.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  const { stdout } = await run("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", file]);
  return (JSON.parse(stdout).chapters as Array<{ tags?: { title?: string } }>).map((c) => c.tags?.title ?? "");
}

async function memoryLine(list: Pod[]): Promise<string> {
  const MiB = 1 << 20;
  const parts: string[] = [];
  for (const p of list.filter((x) => x.spec.nodeName === NODE)) {
    const m = await podMemory(p.metadata.uid).catch(() => undefined);
    parts.push(
      `${p.metadata.name} ${m ? `${(m.workingSetBytes / MiB).toFixed(0)}/${(m.rssBytes / MiB).toFixed(0)}` : "?"}`,
    );
  }
  return parts.join(", ");
}
