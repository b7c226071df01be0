#!/usr/bin/env node
// The client side of the operator-scale benchmark, in its own process (Node 24 runs it by stripping
// types), over the operator's own HTTP stack: KubeApi (undici, keep-alive pool, the kubeconfig's
// TLS client certificate), so the baseline and the operator differ only in what they do.
//   node bench/tools/kube-load.ts jobs      '<options JSON>'  POST every Job the operator would plan
//   node bench/tools/kube-load.ts videojobs '<options JSON>'  create the VideoJobs, then wait until
//                                                             their Jobs all exist
//   node bench/tools/kube-load.ts cleanup   '<options JSON>'  remove a round's objects
// options: { namespace, videojobs, episodes, concurrency, qps, burst, verb?, pollMs?, timeoutMs? }; the
// kubeconfig comes from KUBECONFIG.
// Prints JSON lines on stdout: {"event":"start","pid"}, then {"event":"done","report"} (exit 0) or
// {"event":"error","code","message"} (exit 1).
import { VideoJob } from "@reel/crds";
import { parseConfig } from "../../operator/src/config.ts";
import { KubeApi, type KubeObject, loadKubeConfig } from "../../operator/src/kube/api.ts";
import { type KubeJob, type OperatorSettings, planEpisodeJobs } from "../../operator/src/plan/jobs.ts";

export interface LoadOptions {
  namespace: string;
  videojobs: number;
  episodes: number;
  concurrency: number;
  qps: number;
  burst: number;
  /** `jobs` only: POST (the default) or Server-Side Apply as the operator writes them. */
  verb?: "create" | "apply";
  /** How often `videojobs` counts the namespace's Jobs (a `limit=1` list). */
  pollMs?: number;
  timeoutMs?: number;
}

export const videoJobName = (i: number) => `bench-${String(i).padStart(5, "0")}`;

/** One VideoJob as a user would submit it: `episodes` episodes, CPU only, S3 output, merged. */
export function videoJobManifest(namespace: string, name: string, episodes: number) {
  return {
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name, namespace },
    spec: {
      episodes: Array.from({ length: episodes }, (_, i) => ({
        url: `https://cdn.example.com/${name}/episode-${i + 1}.mp4`,
        title: `Episode ${i + 1}`,
      })),
      gpu: { policy: "off" },
      output: { s3: { bucket: "videos", prefix: `${name}/`, credentialsSecret: "s3-creds" } },
      merge: { enabled: true, chapters: true },
    },
  };
}

/** The operator's planning settings with its defaults (what an unconfigured chart runs). */
export function defaultSettings(): OperatorSettings {
  const c = parseConfig({});
  return {
    image: c.REEL_WORKER_IMAGE,
    backoffLimit: c.REEL_BACKOFF_LIMIT,
    activeDeadlineSeconds: c.REEL_ACTIVE_DEADLINE_SECONDS,
    ttlSecondsAfterFinished: c.REEL_TTL_AFTER_FINISHED_SECONDS,
    kueueQueue: c.REEL_KUEUE_QUEUE,
    egressAllow: c.REEL_EGRESS_ALLOW,
    redisUrl: c.REEL_REDIS_URL,
  };
}

/**
 * The episode Jobs the operator plans for VideoJob number `i`, through the operator's own
 * planEpisodeJobs: same names, labels, env and owner reference shape (the uid is made up: nothing
 * collects garbage on this control plane).
 */
export function plannedJobs(namespace: string, i: number, episodes: number, settings: OperatorSettings): KubeJob[] {
  const name = videoJobName(i);
  const vj = VideoJob.parse({
    ...videoJobManifest(namespace, name, episodes),
    metadata: { name, namespace, uid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, generation: 1 },
  });
  return planEpisodeJobs(vj, [], new Map(), settings).map((p) => {
    if (!p.job) throw new Error(`episode ${p.index} not planned: ${p.refused?.message}`);
    return p.job;
  });
}

/** Runs fn over items with at most n at once; rejects on the first failure. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** This process's CPU seconds (user + system) since `from`: the client's own cost of the timed part. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};

const jobsPath = (ns: string) => `/apis/batch/v1/namespaces/${encodeURIComponent(ns)}/jobs`;
const vjPath = (ns: string) => `/apis/reel.dev/v1alpha1/namespaces/${encodeURIComponent(ns)}/videojobs`;

/** The namespace's Job count from a one-item list: the apiserver says how many it left out. */
async function countJobs(api: KubeApi, ns: string): Promise<number> {
  const r = await api.request<{ items: unknown[]; metadata: { remainingItemCount?: number } }>(
    "GET",
    `${jobsPath(ns)}?limit=1`,
  );
  return r.items.length + (r.metadata.remainingItemCount ?? 0);
}

async function runJobs(api: KubeApi, o: LoadOptions) {
  const settings = defaultSettings();
  const jobs: KubeJob[] = [];
  for (let i = 0; i < o.videojobs; i++) jobs.push(...plannedJobs(o.namespace, i, o.episodes, settings));
  const bytes = JSON.stringify(jobs[0]).length;
  const send = o.verb === "apply" ? (j: KubeObject) => api.apply(j) : (j: KubeObject) => api.create(j);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(jobs, o.concurrency, (job) => send(job as unknown as KubeObject));
  const elapsedMs = performance.now() - t0;
  const cpuS = cpuSince(cpu0);
  const count = await countJobs(api, o.namespace);
  return { created: jobs.length, counted: count, elapsedMs, cpuS, jobBytes: bytes };
}

async function runVideoJobs(api: KubeApi, o: LoadOptions) {
  const expected = o.videojobs * o.episodes;
  const pollMs = o.pollMs ?? 100;
  const deadline = performance.now() + (o.timeoutMs ?? 600_000);
  const manifests = Array.from({ length: o.videojobs }, (_, i) =>
    videoJobManifest(o.namespace, videoJobName(i), o.episodes),
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let createdMs = 0;
  const creating = pool(manifests, o.concurrency, (vj) => api.create(vj as KubeObject)).then(() => {
    createdMs = performance.now() - t0;
  });
  let failed: unknown;
  creating.catch((e) => {
    failed = e;
  });
  let polls = 0;
  let count = 0;
  for (;;) {
    if (failed) throw failed;
    count = await countJobs(api, o.namespace);
    polls++;
    if (count >= expected) break;
    if (performance.now() > deadline) throw new Error(`timed out: ${count} of ${expected} Jobs exist`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const allJobsMs = performance.now() - t0;
  const cpuS = cpuSince(cpu0);
  await creating;
  return { videojobs: manifests.length, createdMs, jobs: count, allJobsMs, cpuS, polls, pollMs };
}

/** Finalizers off (the operator is stopped), then every VideoJob, Job and Event of the namespace. */
async function runCleanup(api: KubeApi, o: LoadOptions) {
  const vjs = await api.request<{ items: KubeObject[] }>("GET", vjPath(o.namespace));
  const withFinalizers = vjs.items.filter((v) => v.metadata.finalizers?.length);
  await pool(withFinalizers, o.concurrency, (v) =>
    api.patch("reel.dev/v1alpha1", "VideoJob", o.namespace, v.metadata.name, { metadata: { finalizers: null } }),
  );
  const opts = { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background" };
  for (const path of [
    vjPath(o.namespace),
    jobsPath(o.namespace),
    `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/events`,
  ]) {
    await api.request("DELETE", path, opts);
  }
  // On L2 nothing finishes a namespace's deletion (no namespace controller); it stays Terminating,
  // empty, and no later round uses its name.
  await api.delete("v1", "Namespace", undefined, o.namespace);
  return {
    videojobs: vjs.items.length,
    finalizersRemoved: withFinalizers.length,
    left: await countJobs(api, o.namespace),
  };
}

if (import.meta.main) {
  const [mode = "", json = "{}"] = process.argv.slice(2);
  const emit = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  emit({ event: "start", pid: process.pid });
  let api: KubeApi | undefined;
  try {
    const o = JSON.parse(json) as LoadOptions;
    api = await KubeApi.create({ kubeConfig: loadKubeConfig(), qps: o.qps, burst: o.burst });
    const run = { jobs: runJobs, videojobs: runVideoJobs, cleanup: runCleanup }[mode];
    if (!run) throw Object.assign(new Error(`unknown mode ${mode}`), { code: "BENCH_USAGE" });
    emit({ event: "done", report: await run(api, o) });
    await api.close();
  } catch (err) {
    const e = err as { code?: string; reason?: string; message?: string };
    emit({ event: "error", code: e.code ?? e.reason ?? "error", message: e.message ?? String(err) });
    process.exitCode = 1;
    await api?.close().catch(() => {});
  }
}
