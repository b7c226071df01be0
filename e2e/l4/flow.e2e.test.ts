// Level L4: the whole flow on a real control plane. The L3 cluster (real kube-apiserver, Job
// controller and scheduler; KWOK nodes), real Redis, PostgreSQL and S3 (versitygw), the chart's
// CRD and RBAC applied, the operator and the shim run as local processes with the chart's env as
// the chart's ServiceAccounts, and the kubelet harness (e2e/src/kubelet) running each worker pod's
// command from the real Pod spec (`reel worker` -> node worker-image/src/cli/main.ts worker).
//
// examples/videojob.yaml is applied as it is, except what cannot be in a committed file: the
// sources' origin (https://cdn.example.com -> the loopback server's random port), the S3 endpoint
// (AWS when absent -> the versitygw server) and the webhook URL (-> the loopback receiver). The
// loopback is opened past the egress guard by the chart's `egressAllow` (e2e/l4/values.yaml).
//
// Skipped, with the reason in the title, when the Kubernetes binaries or helm are not built
// (scripts/bootstrap.sh builds both).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { episodePosterName, posterLocation } from "@reel/crds";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { k8sBinariesBuilt } from "../cluster/cluster.ts";
import { Redis } from "ioredis";
import { until } from "../src/until.ts";
import { helmBuilt, kubectlPath, type L4, root, startL4, TENANT_NS } from "./env.ts";
import { type Receiver, type Sources, serveSources, startReceiver } from "./media.ts";

const run = promisify(execFile);
const ready = k8sBinariesBuilt() && helmBuilt();
const why = "the Kubernetes binaries or helm are not built; run scripts/bootstrap.sh";
// `npm run e2e` sets REEL_E2E_REQUIRE: there a skip would be a silent pass.
if (!ready && process.env.REEL_E2E_REQUIRE) throw new Error(`[flow.e2e.test] cannot run: ${why}`);
if (!ready) console.warn(`[flow.e2e.test] SKIPPED: ${why}`);

type Spec = {
  episodes: Array<{ url: string; title?: string }>;
  output: { s3: Record<string, unknown> };
  notification?: { webhook?: { url: string } };
  [k: string]: unknown;
};
type VideoJob = { metadata: { name: string; namespace?: string }; spec: Spec };
type Status = {
  phase?: string;
  episodes?: Array<{
    index: number;
    phase: string;
    node?: string;
    attempts?: number;
    encoder?: string;
    error?: { code: string; message: string };
  }>;
  output?: { location: string; chapters?: number; sizeBytes?: number };
  outputs?: Array<{ location: string; episode?: number; title?: string; sizeBytes?: number; checksum?: string }>;
  activity?: string;
  conditions?: Array<{ type: string; status: string; reason: string }>;
};

/** Bytes used by the files under `dir` (blocks, so a sparse file counts what it holds). */
async function du(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).blocks * 512;
  }
  return total;
}

const log = process.env.REEL_E2E_VERBOSE ? (l: string) => console.log(l) : () => {};

describe.skipIf(!ready)(`L4: the whole flow${ready ? "" : ` (SKIPPED: ${why})`}`, () => {
  let dir: string;
  let env: L4;
  let sources: Sources;
  let hooks: Receiver;
  const hookSecret = `whsec_${randomBytes(32).toString("base64")}`;

  /** examples/videojob.yaml with the loopback origin, S3 endpoint and receiver put in. */
  async function example(name?: string): Promise<VideoJob> {
    const job = parse(await readFile(join(root, "examples", "videojob.yaml"), "utf8")) as VideoJob;
    if (name) job.metadata.name = name;
    for (const e of job.spec.episodes) e.url = e.url.replace("https://cdn.example.com", sources.origin);
    Object.assign(job.spec.output.s3, {
      endpoint: env.s3.endpoint,
      region: env.s3.region,
      prefix: `${job.metadata.name}/`,
    });
    if (job.spec.notification?.webhook) job.spec.notification.webhook.url = hooks.url;
    return job;
  }

  const videojob = async (name: string) =>
    JSON.parse(await env.kubectl(["get", "videojob", name, "-n", TENANT_NS, "-o", "json"])) as VideoJob & {
      status?: Status;
    };
  const runsOf = (name: string, role = "episode") =>
    env.kubelet.runs.filter((r) => r.labels["reel.dev/videojob"] === name && r.labels["reel.dev/role"] === role);

  /** A VideoJob of our own (not the example): gpu off, so the scheduler may use any node. */
  async function applyJob(
    name: string,
    episodes: Array<{ path: string; title: string }>,
    over: Record<string, unknown> = {},
  ): Promise<void> {
    const job = {
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name, namespace: TENANT_NS },
      spec: {
        episodes: episodes.map((e) => ({ url: `${sources.origin}${e.path}`, title: e.title })),
        quality: "480p",
        gpu: { policy: "off" },
        output: {
          s3: {
            bucket: "videos",
            prefix: `${name}/`,
            endpoint: env.s3.endpoint,
            region: env.s3.region,
            credentialsSecret: "s3-creds",
          },
        },
        ...over,
      },
    };
    await env.kubectl(["apply", "-f", "-"], JSON.stringify(job));
  }

  const waitReady = (name: string, timeout = 150) =>
    run(kubectlPath(), [
      ...["--kubeconfig", env.cluster.kubeconfig, "wait", "--for=condition=Ready", `videojob/${name}`],
      ...["-n", TENANT_NS, `--timeout=${timeout}s`],
    ]).catch(async (e) => {
      const vj = await videojob(name).catch(() => undefined);
      throw new Error(`${(e as Error).message}\n${JSON.stringify(vj?.status, null, 2)}`);
    });

  /** The worker's own progress on Redis (reel:progress:<ns>/<name>:<index>), as the pod publishes it. */
  async function transcoding(name: string, index: number): Promise<void> {
    const redis = new Redis(env.redis.url);
    try {
      await until(
        `${name} episode ${index} transcoding`,
        async () => {
          const p = JSON.parse((await redis.get(`reel:progress:${TENANT_NS}/${name}:${index}`)) ?? "{}");
          return p.stage === "encode";
        },
        60_000,
        50,
      );
    } finally {
      redis.disconnect();
    }
  }

  const jobNames = async (name: string) =>
    (
      await env.kubectl([
        "get",
        "jobs",
        "-n",
        TENANT_NS,
        "-l",
        `reel.dev/videojob=${name}`,
        "-o",
        "jsonpath={.items[*].metadata.name}",
      ])
    )
      .split(" ")
      .filter(Boolean)
      .sort();

  async function objects(prefix: string): Promise<string[]> {
    const r = await env.s3Client.send(new ListObjectsV2Command({ Bucket: "videos", Prefix: prefix }));
    return (r.Contents ?? []).map((o) => o.Key ?? "").sort();
  }

  async function ffprobe(location: string) {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
    if (!m) throw new Error(`not an S3 location: ${location}`);
    const obj = await env.s3Client.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    const file = join(dir, `${m[2].replace(/\//g, "_")}`);
    await writeFile(file, await (obj.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    const { stdout } = await run("ffprobe", [
      "-v",
      "error",
      "-show_chapters",
      "-show_format",
      "-show_streams",
      "-of",
      "json",
      file,
    ]);
    return JSON.parse(stdout) as {
      chapters: Array<{ tags?: { title?: string } }>;
      format: { duration: string };
      streams: Array<{ codec_type: string; codec_name: string }>;
    };
  }

  /** What every route must agree on: episode outcomes, the merged file's chapters and streams. */
  async function result(name: string) {
    const s = (await videojob(name)).status ?? {};
    const probe = await ffprobe(s.output?.location ?? "");
    return {
      phase: s.phase,
      episodes: (s.episodes ?? []).map((e) => ({ index: e.index, phase: e.phase, code: e.error?.code })),
      chapters: probe.chapters.map((c) => c.tags?.title),
      streams: probe.streams.map((x) => `${x.codec_type}:${x.codec_name}`).sort(),
      location: s.output?.location,
    };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "reel-l4-"));
    [sources, hooks, env] = await Promise.all([
      serveSources(join(dir, "sources")),
      startReceiver(hookSecret),
      startL4(join(dir, "env"), log),
    ]);
    await env.kubectl([
      ...["create", "secret", "generic", "s3-creds", "-n", TENANT_NS],
      `--from-literal=accessKeyId=${env.s3.accessKeyId}`,
      `--from-literal=secretAccessKey=${env.s3.secretAccessKey}`,
    ]);
    await env.kubectl(["create", "secret", "generic", "hook", "-n", TENANT_NS, `--from-literal=secret=${hookSecret}`]);
  }, 180_000);

  afterAll(async () => {
    if (process.env.REEL_E2E_KEEP) console.log(`[flow.e2e.test] logs kept in ${dir}`);
    await env?.stop();
    await sources?.close();
    await hooks?.close();
    if (dir && !process.env.REEL_E2E_KEEP) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it("runs examples/videojob.yaml from kubectl apply to a merged file in S3 with a chapter per good episode", async () => {
    const file = join(dir, "season-1.yaml");
    await writeFile(file, stringify(await example()));
    await env.kubectl(["apply", "-f", file]);
    // `kubectl wait` as a user runs it, started at once: it returns when the operator says Ready.
    const wait = run(kubectlPath(), [
      ...["--kubeconfig", env.cluster.kubeconfig, "wait", "--for=condition=Ready", "videojob/season-1"],
      ...["-n", TENANT_NS, "--timeout=150s"],
    ]);
    const waited = await wait.catch(async (e) => {
      throw new Error(
        `${(e as Error).message}\n${JSON.stringify((await videojob("season-1")).status, null, 2)}\n${await env.operator.logs()}`,
      );
    });
    expect(waited.stdout.trim()).toBe("videojob.reel.dev/season-1 condition met");

    const vj = await videojob("season-1");
    expect(vj.status?.phase).toBe("Completed");
    // The chart's MutatingAdmissionPolicy put the cleanup finalizer on at create: the operator
    // never patched the VideoJob itself (its metrics count every write; status goes through /status).
    expect((vj.metadata as { finalizers?: string[] }).finalizers).toContain("reel.dev/cleanup");
    const writes = await (await fetch(`${env.operatorUrl}/metrics`)).text();
    expect(writes).not.toMatch(/^reel_operator_api_writes_total\{verb="patch",kind="VideoJob"\} [1-9]/m);
    expect(writes).toMatch(/^reel_operator_api_writes_total\{verb="patch-status",kind="VideoJob"\} [1-9]/m);
    expect(vj.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "True" });
    const eps = vj.status?.episodes ?? [];
    expect(eps.map((e) => e.phase)).toEqual(["Completed", "Completed", "Completed", "Failed"]);
    // ep4.mp4 is the first 4 KiB of an MP4: bad input, failed at once with its code
    expect(eps[3]?.error?.code).toBe("REEL_MEDIA_INVALID");
    expect(runsOf("season-1").filter((r) => r.labels["reel.dev/episode"] === "3")).toHaveLength(1);

    // The scheduler put every first attempt on a node of the asked vendor that passed an NVENC
    // test encode (nvidia-2; nvidia-1 is an H100 without NVENC).
    const firsts = runsOf("season-1").filter((r) => r.labels["reel.dev/attempt"] === "0");
    expect(firsts.map((r) => r.node)).toEqual(["nvidia-2", "nvidia-2", "nvidia-2", "nvidia-2"]);
    // This machine has no NVENC: each good episode's worker exited 3 (REEL_ENCODER_FAILED) and the
    // operator planned attempt 1 on the CPU (gpu.policy auto), which the scheduler put on a CPU node.
    for (const index of ["0", "1", "2"]) {
      const runs = runsOf("season-1").filter((r) => r.labels["reel.dev/episode"] === index);
      expect(runs.map((r) => [r.labels["reel.dev/attempt"], r.exitCode])).toEqual([
        ["0", 3],
        ["1", 0],
      ]);
      expect(JSON.parse(runs[0]?.message ?? "{}").error?.code).toBe("REEL_ENCODER_FAILED");
      expect(runs[1]?.node).toMatch(/^cpu-\d$/);
    }
    log(
      runsOf("season-1")
        .map((r) => `${r.pod} on ${r.node} exit ${r.exitCode}: ${r.message?.slice(0, 160)}`)
        .join("\n"),
    );

    const r = await result("season-1");
    expect(r.location).toBe("s3://videos/season-1/season-1.mp4");
    expect(r.chapters).toEqual(["Pilot", "The Signal", "Crossroads"]);
    expect(r.streams).toEqual(["audio:aac", "data:bin_data", "video:h264"]); // data: the chapter track
    expect(vj.status?.output?.chapters).toBe(3);
    // the merge ran once, as a pod of its own Job
    expect(runsOf("season-1", "merge").map((m) => m.exitCode)).toEqual([0]);

    // The shim's sender delivered each phase change, signed; the receiver checked every signature.
    const done = await until(
      "the Completed webhook",
      async () => hooks.deliveries.find((d) => d.event.data.job === "season-1" && d.event.data.phase === "Completed"),
      30_000,
    );
    const mine = hooks.deliveries.filter((d) => d.event.data.job === "season-1");
    expect(mine.every((d) => d.verified)).toBe(true);
    expect(mine.every((d) => d.event.type === "videojob.phase")).toBe(true);
    expect(done.event.data.namespace).toBe(TENANT_NS);
    expect(mine.map((d) => d.event.data.phase)).toContain("Merging");
    log(
      `webhooks for season-1: ${mine.map((d) => `${d.event.data.previousPhase ?? "-"}->${d.event.data.phase}`).join(" ")}`,
    );
  }, 200_000);

  it("gives the same result for the job submitted through the shim's REST API and through the CLI", async () => {
    const expected = await result("season-1");
    const auth = { Authorization: `Bearer ${env.apiKey}`, "content-type": "application/json" };

    // REST: POST /api/v1/jobs with the example's spec, then the status until it is final.
    const viaApi = (async () => {
      const job = await example("season-1-api");
      const res = await fetch(`${env.shimUrl}/api/v1/jobs`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ name: "season-1-api", spec: job.spec }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      expect(await res.json()).toMatchObject({ id: "season-1-api", namespace: TENANT_NS });
      return until(
        "season-1-api final",
        async () => {
          const s = (await (
            await fetch(`${env.shimUrl}/api/v1/jobs/season-1-api/status`, { headers: auth })
          ).json()) as Status;
          return s.phase === "Completed" || s.phase === "Failed" ? s : undefined;
        },
        150_000,
        500,
      );
    })();

    // CLI: reel login (the key on stdin, saved under a private XDG_CONFIG_HOME), reel submit --watch.
    const viaCli = (async () => {
      const file = join(dir, "season-1-cli.yaml");
      await writeFile(file, stringify(await example("season-1-cli")));
      const cliEnv = { PATH: process.env.PATH ?? "", HOME: dir, XDG_CONFIG_HOME: join(dir, "xdg") };
      const cli = join(root, "worker-image", "src", "cli", "main.ts");
      const login = run(process.execPath, [cli, "login", "--server", env.shimUrl], { env: cliEnv });
      login.child.stdin?.end(`${env.apiKey}\n`);
      expect((await login).stdout).toContain("as alice (operator, tenant media");
      return run(process.execPath, [cli, "submit", file, "--watch"], { env: cliEnv, timeout: 150_000 }).catch((e) => {
        throw new Error(`reel submit --watch: ${(e as Error).message}`);
      });
    })();

    const [apiStatus, cliOut] = await Promise.all([viaApi, viaCli]);
    expect(apiStatus.phase).toBe("Completed");
    const text = `${cliOut.stdout}${cliOut.stderr}`;
    log(text);
    expect(text).toContain("submitted season-1-cli to media (4 episodes)");
    expect(text).toMatch(/season-1-cli: Completed \(100%\)/);
    expect(text).toContain("REEL_MEDIA_INVALID");
    expect(text).toContain("output: s3://videos/season-1-cli/season-1-cli.mp4");

    for (const name of ["season-1-api", "season-1-cli"]) {
      const r = await result(name);
      expect({ ...r, location: undefined }).toEqual({ ...expected, location: undefined });
      expect(r.location).toBe(`s3://videos/${name}/${name}.mp4`);
      // the shim's webhook sender reported these too, signed
      await until(`${name}'s Completed webhook`, async () =>
        hooks.deliveries.some((d) => d.event.data.job === name && d.event.data.phase === "Completed"),
      );
    }
    expect(hooks.deliveries.every((d) => d.verified)).toBe(true);
  }, 200_000);

  it("stores each episode as its own file with merge off, lists them in status, and keeps them when the VideoJob goes", async () => {
    await applyJob(
      "separate",
      [
        { path: "/show/ep1.mp4", title: "Pilot" },
        { path: "/show/ep3.mkv", title: "Crossroads" },
        { path: "/long/ep1.mp4", title: "Long one" },
      ],
      { merge: { enabled: false } },
    );
    // `kubectl get videojobs` as a user watches it: Progress never goes back, Activity says what runs.
    const rows: string[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const out = await env.kubectl(["get", "videojob", "separate", "-n", TENANT_NS, "--no-headers"]).catch(() => "");
        if (out.trim()) rows.push(out.trim());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await waitReady("separate");
    watching = false;
    await watch;
    // The poll may have last run just before the Ready status: one more row, after it.
    rows.push((await env.kubectl(["get", "videojob", "separate", "-n", TENANT_NS, "--no-headers"])).trim());
    log(rows.join("\n"));
    const progress = rows.map((r) => Number(r.split(/\s+/)[2])).filter(Number.isFinite);
    expect(progress.every((p, i) => i === 0 || p >= (progress[i - 1] as number))).toBe(true);
    expect(progress.at(-1)).toBe(100);
    expect(rows.some((r) => /\bep\d (Downloading|Probing|Transcoding|Measuring|Uploading) \d+%/.test(r))).toBe(true);

    const vj = await videojob("separate");
    expect(vj.status?.phase).toBe("Completed");
    expect(vj.status?.output).toBeUndefined();
    expect(vj.status?.activity).toBeUndefined();
    const files = vj.status?.outputs ?? [];
    expect(files.map((f) => [f.location, f.episode, f.title])).toEqual([
      ["s3://videos/separate/separate-001-Pilot.mp4", 0, "Pilot"],
      ["s3://videos/separate/separate-002-Crossroads.mp4", 1, "Crossroads"],
      ["s3://videos/separate/separate-003-Long one.mp4", 2, "Long one"],
    ]);
    for (const f of files) {
      const probe = await ffprobe(f.location);
      expect(probe.streams.map((x) => x.codec_type).sort()).toEqual(["audio", "video"]);
      expect(probe.chapters).toEqual([]);
    }
    // The merge pod stored them and cleared staging (its record stays until the VideoJob goes).
    const uid = (vj.metadata as { uid?: string }).uid;
    expect(await objects(`separate/.reel-staging/${uid}/`)).toEqual([`separate/.reel-staging/${uid}/merge.json`]);

    await env.kubectl(["delete", "videojob", "separate", "-n", TENANT_NS, "--wait=true", "--timeout=60s"]);
    // Each file and its poster beside it (crds posterLocation) stay.
    const kept = files.flatMap((f) => [f.location, posterLocation(f.location) ?? ""]);
    expect(await objects("separate/")).toEqual(kept.map((l) => l.replace("s3://videos/", "")).sort());
  }, 200_000);

  it("fails a worker pod whose source exceeds the byte cap with REEL_SOURCE_TOO_LARGE, in a pod with bounded memory and scratch", async () => {
    // 1 GiB claimed (a sparse file: no disk used) against the suite's 64 MiB cap (e2e/l4/values.yaml).
    const huge = join(sources.dir, "huge", "ep1.mp4");
    await mkdir(join(sources.dir, "huge"), { recursive: true });
    await (await open(huge, "w")).truncate(2 ** 30);
    await applyJob("too-large", [{ path: "/huge/ep1.mp4", title: "Huge" }]);
    const failed = await until(
      "too-large to fail",
      async () => {
        const vj = await videojob("too-large");
        return vj.status?.phase === "Failed" ? vj : undefined;
      },
      120_000,
    ).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${JSON.stringify((await videojob("too-large")).status, null, 2)}`);
    });
    expect(failed.status?.episodes?.[0]?.error?.code).toBe("REEL_SOURCE_TOO_LARGE");
    // Bad input: the podFailurePolicy fails the Job at the first pod's exit 2, no retry.
    const runs = runsOf("too-large");
    expect(runs.map((r) => r.exitCode)).toEqual([2]);
    // The refused source never reached the pod's scratch (a claimed length over the cap is refused up front).
    const scratch = join(dirname(runs[0]?.logFile ?? ""), "volumes", "scratch");
    expect(await du(scratch)).toBeLessThan(64 * 2 ** 20);

    // The planned pod: memory limit, ephemeral storage, a sized emptyDir, and the cap in its env.
    const job = JSON.parse(await env.kubectl(["get", "job", "too-large-ep0", "-n", TENANT_NS, "-o", "json"])) as {
      spec: {
        template: {
          spec: {
            containers: Array<{ resources: unknown; env: Array<{ name: string; value?: string }> }>;
            volumes: Array<{ name: string; emptyDir?: { sizeLimit?: string } }>;
          };
        };
      };
    };
    const pod = job.spec.template.spec;
    // 64 MiB cap: scratch 2 x 64Mi + 2Gi = 2176Mi; ephemeral-storage limit 1Gi more for logs.
    expect(pod.containers[0]?.resources).toEqual({
      requests: { cpu: "1", memory: "1Gi", "ephemeral-storage": "2176Mi" },
      limits: { memory: "8Gi", "ephemeral-storage": "3200Mi" },
    });
    expect(pod.volumes.find((v) => v.name === "scratch")).toEqual({
      name: "scratch",
      emptyDir: { sizeLimit: "2176Mi" },
    });
    expect(pod.containers[0]?.env).toContainEqual({ name: "REEL_MAX_SOURCE_BYTES", value: String(64 * 2 ** 20) });
  }, 180_000);

  it("retries a worker pod killed mid-transcode and writes the output once", async () => {
    await applyJob("killed", [{ path: "/long/ep1.mp4", title: "Long" }]);
    await transcoding("killed", 0);
    const [victim] = runsOf("killed");
    expect(env.kubelet.kill(victim?.pod ?? "", "SIGKILL")).toBe(true);
    await waitReady("killed");

    const runs = runsOf("killed");
    expect(runs.map((r) => [r.exitCode, r.signal])).toEqual([
      [137, "SIGKILL"],
      [0, undefined],
    ]);
    // the Job controller made the replacement only once the killed pod had failed (podReplacementPolicy: Failed)
    expect(runs[1]?.startedAt).toBeGreaterThanOrEqual(runs[0]?.finishedAt ?? Number.POSITIVE_INFINITY);
    const job = JSON.parse(await env.kubectl(["get", "job", "killed-ep0", "-n", TENANT_NS, "-o", "json"]));
    expect(job.status).toMatchObject({ failed: 1, succeeded: 1 });
    expect(await jobNames("killed")).toEqual(["killed-ep0", "killed-merge"]);
    expect(runsOf("killed", "merge").map((r) => r.exitCode)).toEqual([0]);
    const keys = await objects("killed/");
    // The output, its episode's poster and its seek thumbnails (24 s: 12 tiles on one sheet), nothing else.
    expect(keys.filter((k) => !k.includes("/.reel-staging/"))).toEqual([
      episodePosterName("killed/killed", 0),
      "killed/killed-thumbs-001.jpg",
      "killed/killed-thumbs.vtt",
      "killed/killed.mp4",
    ]);
    // The merge stored the output and cleared staging down to its record.
    expect(keys.filter((k) => k.includes("/.reel-staging/")).map((k) => k.split("/").at(-1))).toEqual(["merge.json"]);
    const r = await result("killed");
    expect(r.chapters).toEqual(["Long"]);
    expect((await videojob("killed")).status?.episodes?.[0]).toMatchObject({ phase: "Completed" });
  }, 150_000);

  it("resumes a job after the operator is killed mid-job, without duplicate Jobs", async () => {
    await applyJob("restarted", [
      { path: "/show/ep1.mp4", title: "One" },
      { path: "/show/ep3.mkv", title: "Two" },
    ]);
    await until("both episode Jobs", async () => (await jobNames("restarted")).length === 2);
    await env.operator.stop("SIGKILL");
    // the episodes finish while no operator runs: the new one must find them done
    await until(
      "both episode pods done",
      async () => runsOf("restarted").filter((r) => r.exitCode === 0).length === 2,
      60_000,
    );
    env.operator.start();
    await waitReady("restarted");
    // what the new process wrote: the merge Job, nothing else (its metrics count every create)
    const metrics = await (await fetch(`${env.operatorUrl}/metrics`)).text();
    expect(metrics).toMatch(/^reel_operator_api_writes_total\{verb="create",kind="Job"\} 1$/m);
    expect(await jobNames("restarted")).toEqual(["restarted-ep0", "restarted-ep1", "restarted-merge"]);
    expect(runsOf("restarted").map((r) => r.exitCode)).toEqual([0, 0]);
    expect(runsOf("restarted", "merge").map((r) => r.exitCode)).toEqual([0]);
    expect((await result("restarted")).chapters).toEqual(["One", "Two"]);
  }, 150_000);

  it("reschedules the episode of a node removed mid-job onto another node", async () => {
    await applyJob("node-loss", [{ path: "/long/ep1.mp4", title: "Long" }]);
    await transcoding("node-loss", 0);
    const [first] = runsOf("node-loss");
    const lost = first?.node ?? "";
    await env.kubectl(["delete", "node", lost, "--wait=false"]);
    try {
      // The pod GC deletes the pods of a node that is gone (after its quarantine); the harness kills
      // the process as the node's kubelet would have been gone with it; the Job makes a new pod.
      await waitReady("node-loss", 180);
      const runs = runsOf("node-loss");
      expect(runs).toHaveLength(2);
      expect(runs[0]?.nodeLost).toBe(true);
      expect(runs[1]?.node).not.toBe(lost);
      expect(runs[1]?.exitCode).toBe(0);
      expect((await videojob("node-loss")).status?.episodes?.[0]).toMatchObject({
        phase: "Completed",
        node: runs[1]?.node,
      });
      expect((await result("node-loss")).chapters).toEqual(["Long"]);
    } finally {
      await env.kubectl(["apply", "-f", join(root, "e2e", "cluster", "nodes.yaml")]);
    }
  }, 240_000);

  it("needed no permission beyond the chart's RBAC (operator, shim) and the Node authorizer (the harness as each node)", async () => {
    const kubeconfig = join(dir, "env", "reel-operator.kubeconfig");
    const who = JSON.parse(
      (await run(kubectlPath(), ["--kubeconfig", kubeconfig, "auth", "whoami", "-o", "json"])).stdout,
    );
    expect(who.status.userInfo.username).toBe("system:serviceaccount:reel-system:reel-operator");
    // The harness wrote pod status and read the pods' Secrets as each node's kubelet
    // (system:node:<name>): the Node authorizer gives a node only the Secrets its pods reference.
    const nodeName = (await readdir(join(dir, "env", "nodes")))
      .find((f) => f.endsWith(".kubeconfig"))
      ?.replace(/\.kubeconfig$/, "");
    const node = join(dir, "env", "nodes", `${nodeName}.kubeconfig`);
    const asNode = (args: string[]) => run(kubectlPath(), ["--kubeconfig", node, ...args]);
    expect(JSON.parse((await asNode(["auth", "whoami", "-o", "json"])).stdout).status.userInfo).toMatchObject({
      username: `system:node:${nodeName}`,
      groups: expect.arrayContaining(["system:nodes"]),
    });
    await expect(asNode(["get", "secret", "reel-db", "-n", "reel-system"])).rejects.toThrow(/forbidden/i);
    for (const c of [env.operator, env.shim]) {
      const logs = await c.logs();
      expect(logs.length, c.name).toBeGreaterThan(0);
      expect(logs.match(/.*(forbidden|\b403\b).*/gi) ?? [], c.name).toEqual([]);
    }
  });
});
