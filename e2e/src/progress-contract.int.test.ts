// The progress contract end to end: real worker pods (an episode pod per episode, then the merge
// pod) run with the env the operator plans for them, publish their progress on a real redis-server,
// and the recorded stream is fed to the operator's reader (status through decide) and the shim's
// reader (the SSE/WebSocket events). Every stage maps to its phase, percentages only go up, and the
// merge pod's progress shows in status and in the stream. The pods store into a real S3 server.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import {
  EPISODE_STAGES,
  MERGE_STAGES,
  PROGRESS_PREFIX,
  parseVideoJob,
  type ProgressRead,
  parseWorkerResult,
  type VideoJob,
} from "@reel/crds";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProgress, progressEvent } from "../../api-shim/src/live/progress.ts";
import type { KubeJob } from "../../operator/src/plan/jobs.ts";
import { planEpisodeJobs, planMergeJob } from "../../operator/src/plan/jobs.ts";
import { type DecideSettings, decide } from "../../operator/src/reconcile/decide.ts";
import type { Observed, ObservedJob, ObservedPod } from "../../operator/src/reconcile/observed.ts";
import { readProgress } from "../../operator/src/reconcile/progress.ts";
import { type StaticServer, serveDir } from "../../worker-image/src/cli/serve.ts";
import { makeTestClip } from "../../worker-image/src/ffmpeg/test-media.ts";
import { startS3WithBucket } from "../../worker-image/src/testing/s3.ts";
import { workerMain } from "../../worker-image/src/worker/main.ts";
import { type RedisServer, type S3Server, startRedis } from "./services/index.ts";

let dir: string;
let server: StaticServer;
let redis: RedisServer;
let s3: S3Server;
let vj: VideoJob;
const settings = (): DecideSettings => ({
  image: "reel-worker:test",
  backoffLimit: 1,
  activeDeadlineSeconds: 600,
  ttlSecondsAfterFinished: 60,
  egressAllow: ["127.0.0.2/32"],
  redisUrl: redis.url,
  maxRunningPerNamespace: 0,
});
/** What the pods published, in order of arrival: the raw message and its channel. */
const stream: { channel: string; raw: string }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-progress-contract-"));
  await mkdir(join(dir, "src"));
  // Long enough that the encode reports more than once at the worker's 2 messages a second.
  await makeTestClip(join(dir, "src", "one.mp4"), { seconds: 8, width: 640, height: 360 });
  await makeTestClip(join(dir, "src", "two.mp4"), { seconds: 4, width: 640, height: 360 });
  server = await serveDir(join(dir, "src"), { host: "127.0.0.2" });
  [redis, { s3 }] = await Promise.all([startRedis(), startS3WithBucket("videos")]);
  vj = parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "live", namespace: "media", uid: "uid-live", generation: 1, finalizers: ["reel.dev/cleanup"] },
    spec: {
      episodes: [
        { url: `${server.origin}/one.mp4`, title: "One" },
        { url: `${server.origin}/two.mp4`, title: "Two" },
      ],
      quality: "480p",
      gpu: { policy: "off" },
      output: { s3: { bucket: "videos", prefix: "live/", endpoint: s3.endpoint, credentialsSecret: "s3-creds" } },
    },
  });
}, 300_000);

afterAll(async () => {
  await server?.close();
  await Promise.all([redis?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs a planned Job's pod as the kubelet would: its env (Secret references resolved), fresh scratch. */
async function runPod(job: KubeJob, n: number) {
  const container = (job.spec as { template: { spec: { containers: Array<{ env: unknown[] }> } } }).template.spec
    .containers[0];
  const secret: Record<string, string> = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const v of (container?.env ?? []) as Array<{
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef: { key: string } };
  }>) {
    env[v.name] = v.value ?? secret[v.valueFrom?.secretKeyRef.key ?? ""];
  }
  env.REEL_CACHE_DIR = join(dir, `scratch-${n}`);
  env.REEL_TERMINATION_LOG = join(dir, `termination-${n}`);
  const code = await workerMain(env, { logStream: new PassThrough().resume() });
  return { code, result: parseWorkerResult(await readFile(env.REEL_TERMINATION_LOG, "utf8")) };
}

const observedWith = (o: Partial<Observed>): Observed => ({
  jobs: [],
  pods: [],
  nodes: [{ name: "cpu-1", labels: {} }],
  namespaceActive: 0,
  ...o,
});
const job = (name: string, role: string, episode?: number, status: ObservedJob["status"] = { active: 1 }) =>
  ({
    metadata: {
      name,
      labels: { "reel.dev/role": role, ...(episode === undefined ? {} : { "reel.dev/episode": String(episode) }) },
    },
    status,
  }) as ObservedJob;
const running = (jobName: string) =>
  ({
    metadata: { name: `${jobName}-x`, labels: { "batch.kubernetes.io/job-name": jobName } },
    status: { phase: "Running" },
  }) as ObservedPod;

describe("the progress contract, from real worker pods to the operator's and the shim's readers", () => {
  it("runs the planned episode pods and the merge pod, publishing on Redis", async () => {
    const sub = new Redis(redis.url);
    sub.on("pmessage", (_p: string, channel: string, raw: string) => stream.push({ channel, raw }));
    await sub.psubscribe(`${PROGRESS_PREFIX}*`);
    try {
      const planned = planEpisodeJobs(vj, [{ name: "cpu-1", labels: {} }], new Map(), settings());
      for (const [i, p] of planned.entries()) {
        const r = await runPod(p.job as KubeJob, i);
        expect(r.code, JSON.stringify(r.result)).toBe(0);
      }
      const merge = planMergeJob(
        vj,
        [
          { index: 0, title: "One" },
          { index: 1, title: "Two" },
        ],
        settings(),
      );
      const m = await runPod(merge, 9);
      expect(m.code, JSON.stringify(m.result)).toBe(0);
      expect(m.result?.output?.chapters).toBe(2);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      sub.disconnect();
    }
    const indexes = new Set(stream.map((s) => JSON.parse(s.raw).index));
    expect(indexes).toEqual(new Set([0, 1, "merge"]));
  }, 300_000);

  it("the operator reads each episode message as its stage's phase, with a percentage that only goes up", () => {
    for (const index of [0, 1]) {
      const mine = stream.filter((s) => JSON.parse(s.raw).index === index);
      const jobs = [job("live-ep0", "episode", 0), job("live-ep1", "episode", 1)];
      let last = -1;
      const seen: string[] = [];
      for (const { raw } of mine) {
        const stored = index === 0 ? [raw, null] : [null, raw];
        const progress = readProgress(stored, 2);
        const read = progress.get(index) as NonNullable<ReturnType<typeof progress.get>>;
        const d = decide(
          vj,
          observedWith({ jobs, pods: [running(`live-ep${index}`)], progress }),
          settings(),
          new Date(),
        );
        const ep = d.status.episodes?.[index];
        const want =
          read.stage === "done" ? "Uploading" : EPISODE_STAGES[read.stage as keyof typeof EPISODE_STAGES].phase;
        expect(ep?.phase, raw).toBe(want);
        expect(ep?.progress ?? -1, raw).toBeGreaterThanOrEqual(last);
        last = ep?.progress ?? last;
        seen.push(ep?.phase ?? "");
        expect(d.status.activity).toMatch(new RegExp(`^ep${index + 1} ${want} \\d+%$`));
      }
      // The pod's first and last word: it downloads first and ends uploaded, at 100 %.
      expect(seen[0]).toBe("Downloading");
      expect(seen.at(-1)).toBe("Uploading");
      expect(last).toBe(100);
      expect(seen).toContain("Transcoding");
    }
  });

  it("the operator moves the job through Merging from 95 % towards 99 % with the merge pod's messages", () => {
    const merge = stream.filter((s) => JSON.parse(s.raw).index === "merge");
    expect(merge.length).toBeGreaterThanOrEqual(2);
    const done = (i: number, title: string) => ({ index: i, title, phase: "Completed", progress: 100, attempts: 1 });
    let status = { ...vj.status, phase: "Merging" as const, progress: 95, episodes: [done(0, "One"), done(1, "Two")] };
    for (const { raw } of merge) {
      const progress = readProgress([null, null, raw], 2);
      const at = { ...vj, status } as VideoJob;
      const d = decide(at, observedWith({ jobs: [job("live-merge", "merge")], progress }), settings(), new Date());
      expect(d.status.phase).toBe("Merging");
      expect(d.status.progress ?? 0).toBeGreaterThanOrEqual(status.progress);
      expect(d.status.progress ?? 0).toBeLessThanOrEqual(99);
      expect(d.status.activity).toMatch(/^(merging|storing) \d+%$/);
      status = { ...status, progress: d.status.progress ?? 0 };
    }
    expect(status.progress).toBeGreaterThan(95);
  });

  it("the shim turns every message into an event with the stage's phase and a rising percent, merge included", () => {
    const last = new Map<number | "merge", number>();
    for (const { channel, raw } of stream) {
      const p = parseProgress(channel, raw);
      expect(p, raw).toBeDefined();
      const msg = p?.msg as ProgressRead;
      expect(p?.key).toBe("media/live");
      const e = progressEvent(msg);
      const pod = msg.index === "merge" ? e.merge : e.episode;
      expect(pod, raw).toBeDefined();
      const table = msg.index === "merge" ? MERGE_STAGES : EPISODE_STAGES;
      if (msg.stage !== "done") expect(pod?.phase).toBe(table[msg.stage as keyof typeof table].phase);
      else expect(pod?.phase).toBe("Completed");
      expect(pod?.progress ?? -1).toBeGreaterThanOrEqual(last.get(msg.index) ?? 0);
      last.set(msg.index, pod?.progress ?? 0);
    }
    expect([...last.values()]).toEqual([100, 100, 100]);
  });
});
