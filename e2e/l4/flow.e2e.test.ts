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
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { k8sBinariesBuilt } from "../cluster/cluster.ts";
import type { PodRun } from "../src/kubelet/kubelet.ts";
import { until } from "../src/until.ts";
import { helmBuilt, kubectlPath, type L4, root, startL4, TENANT_NS } from "./env.ts";
import { type Receiver, type Sources, serveSources, startReceiver } from "./media.ts";

const run = promisify(execFile);
const ready = k8sBinariesBuilt() && helmBuilt();
const why = "the Kubernetes binaries or helm are not built; run scripts/bootstrap.sh";
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
  conditions?: Array<{ type: string; status: string; reason: string }>;
};

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
    expect(vj.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "True" });
    const eps = vj.status?.episodes ?? [];
    expect(eps.map((e) => e.phase)).toEqual(["Completed", "Completed", "Completed", "Failed"]);
    // ep4.mp4 is the first 4 KiB of an MP4: bad input, failed at once with its code
    expect(eps[3]?.error?.code).toMatch(/^REEL_(MEDIA_INVALID|MERGE_INVALID_INPUT)$/);
    expect(runsOf("season-1").filter((r) => r.labels["reel.dev/episode"] === "3")).toHaveLength(1);

    // The scheduler put every first attempt on a node of the asked vendor that passed an NVENC
    // test encode (nvidia-2; nvidia-1 is an H100 without NVENC).
    const firsts = runsOf("season-1").filter((r) => r.labels["reel.dev/attempt"] === "0");
    expect(firsts.map((r) => r.node)).toEqual(["nvidia-2", "nvidia-2", "nvidia-2", "nvidia-2"]);
    log(
      runsOf("season-1")
        .map((r) => `${r.pod} on ${r.node} exit ${r.exitCode}: ${r.message?.slice(0, 160)}`)
        .join("\n"),
    );

    const r = await result("season-1");
    expect(r.location).toBe("s3://videos/season-1/season-1.mp4");
    expect(r.chapters).toEqual(["Pilot", "The Signal", "Crossroads"]);
    expect(r.streams).toEqual(["audio:aac", "video:h264"]);
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
  }, 200_000);

  it.todo("gives the same result for the job submitted through the shim's REST API and through the CLI");
});

export type { PodRun };
