// Reuse of finished work on a real control plane (L2: etcd + kube-apiserver) with the real S3
// server of our tests (versitygw) and the sources served on loopback with ETags. Nothing runs the
// Jobs: the test plays the episode pods (it stages ep<i>.mp4 and its record as the worker does, with
// the validator the worker records at download, and leaves the worker's result as the pod's
// termination message) and the Job controller. It counts the batch/v1 Jobs the operator creates.
import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import type { S3Server } from "../../e2e/src/services/s3.ts";
import { until } from "../../e2e/src/until.ts";
import { serveDir, type StaticServer } from "../../worker-image/src/cli/serve.ts";
import { makeTempDir } from "../../worker-image/src/ffmpeg/test-media.ts";
import { startS3WithBucket } from "../../worker-image/src/testing/s3.ts";
import type { RunningOperator } from "./main.ts";
import { controlPlaneUp, createS3Secret, startReadyOperator } from "./testing/control-plane.ts";
import { kubeReader } from "./testing/kube-read.ts";
import { exitPod, finishJob } from "./testing/kube-status.ts";

interface Job {
  metadata: { name: string; labels: Record<string, string> };
  spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
}
interface VJ {
  metadata: { uid: string };
  status?: { phase?: string; episodes?: { index: number; phase: string; reusedFrom?: string; encoder?: string }[] };
}

describe.skipIf(!k8sBinariesBuilt())("reuse of finished episodes on a real kube-apiserver and S3 (L2)", () => {
  let cluster: Cluster;
  let s3: S3Server;
  let client: S3Client;
  let op: RunningOperator;
  let web: StaticServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
  const { jobsOf, vjOf } = kubeReader<Job, VJ>(kubectl, "media");
  const url = (i: number) => `${web.origin}/ep${i}.mp4`;
  const stagingOf = async (name: string) => `season/.reel-staging/${(await vjOf(name)).metadata.uid}/`;
  const keys = async (prefix: string) =>
    ((await client.send(new ListObjectsV2Command({ Bucket: "videos", Prefix: prefix }))).Contents ?? [])
      .map((o) => (o.Key ?? "").slice(prefix.length))
      .sort();
  const body = async (key: string) =>
    Buffer.from(
      await ((await client.send(new GetObjectCommand({ Bucket: "videos", Key: key }))).Body?.transformToByteArray() ??
        []),
    );

  function videoJob(name: string, urls: string[], sources?: object) {
    return JSON.stringify({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name, namespace: "media" },
      spec: {
        episodes: urls.map((u, i) => ({ url: u, title: `Ep ${i + 1}` })),
        gpu: { policy: "off" },
        ...(sources ? { sources } : {}),
        merge: { enabled: true, chapters: true, allowPartial: false },
        // One prefix for all: reuse copies inside one bucket under one Secret.
        output: { s3: { bucket: "videos", prefix: "season/", endpoint: s3.endpoint, credentialsSecret: "s3-creds" } },
      },
    });
  }

  /** The validator the worker records at download: the origin's ETag and the length. */
  const validatorOf = async (u: string) => {
    const r = await fetch(u, { method: "HEAD" });
    return `etag ${r.headers.get("etag")} length ${r.headers.get("content-length")}`;
  };

  /** Plays episode i's pod and the Job controller: staged file and record on success, then the result. */
  async function runEpisode(vj: string, i: number, outcome: "Completed" | "Failed", validator?: string) {
    const job = `${vj}-ep${i}`;
    if (outcome === "Completed") {
      const staging = await stagingOf(vj);
      const bytes = randomBytes(2048);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      await client.send(new PutObjectCommand({ Bucket: "videos", Key: `${staging}ep${i}.mp4`, Body: bytes }));
      const status = {
        index: i,
        phase: "Completed",
        progress: 100,
        attempts: 1,
        encoder: "libx264",
        bytesOutput: 2048,
      };
      const record = {
        v: 1,
        videojob: `media/${vj}`,
        uid: "",
        index: i,
        stagingKey: "k",
        encodeKey: "e",
        sha256,
        status,
      };
      const withValidator = { ...record, sourceValidator: validator ?? (await validatorOf(url(i))) };
      await client.send(
        new PutObjectCommand({ Bucket: "videos", Key: `${staging}ep${i}.json`, Body: JSON.stringify(withValidator) }),
      );
    }
    const pod = `${job}-pod`;
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: pod,
          namespace: "media",
          labels: {
            "app.kubernetes.io/managed-by": "reel-operator",
            "reel.dev/videojob": vj,
            "reel.dev/role": "episode",
            "batch.kubernetes.io/job-name": job,
          },
        },
        spec: { restartPolicy: "Never", containers: [{ name: "worker", image: "reel-worker:test" }] },
      }),
    );
    const error = { code: "REEL_SOURCE_HTTP", message: "HTTP 503" };
    const result = { mode: "episode", index: i, phase: outcome, ...(outcome === "Failed" ? { error } : {}) };
    await exitPod(kubectl, "media", pod, outcome === "Completed" ? 0 : 1, result);
    await finishJob(kubectl, "media", job, outcome === "Completed" ? "Complete" : "Failed");
  }

  const episodeJobs = async (vj: string) =>
    (await jobsOf(vj)).filter((j) => j.metadata.labels["reel.dev/role"] === "episode").map((j) => j.metadata.name);
  const phaseIs = (vj: string, phase: string) => async () =>
    (await vjOf(vj)).status?.phase === phase ? true : undefined;

  beforeAll(async () => {
    tmp = await makeTempDir("reel-reuse-int-");
    for (const i of [0, 1, 2, 3]) await writeFile(join(tmp.dir, `ep${i}.mp4`), randomBytes(4096));
    web = await serveDir(tmp.dir, { host: "127.0.0.2", etag: true });
    [cluster, { s3, client }] = await Promise.all([
      controlPlaneUp({ level: 2, namespaces: ["media"] }),
      startS3WithBucket("videos"),
    ]);
    await kubectl(["-n", "media", "create", "serviceaccount", "default"]);
    await createS3Secret(cluster, "media", "s3-creds", s3);
    op = await startReadyOperator(
      { REEL_LEADER_ELECT: "false", REEL_RESYNC_SECONDS: "3600", REEL_EGRESS_ALLOW: "127.0.0.2/32" },
      20_000,
    );
  }, 180_000);

  afterAll(async () => {
    await op?.stop();
    client?.destroy();
    await Promise.all([cluster?.down(), s3?.stop(), web?.close()]);
    await tmp?.cleanup();
  });

  it("a retry of a job with two failed episodes creates Jobs for those two only; the merge lists all four", async () => {
    const urls = [0, 1, 2, 3].map(url);
    await kubectl(["apply", "-f", "-"], videoJob("season", urls));
    await until("season's four Jobs", async () => ((await episodeJobs("season")).length === 4 ? true : undefined));
    for (const [i, o] of [
      [0, "Completed"],
      [1, "Failed"],
      [2, "Completed"],
      [3, "Failed"],
    ] as const) {
      await runEpisode("season", i, o);
    }
    await until("season to fail", phaseIs("season", "Failed"));

    await kubectl(["apply", "-f", "-"], videoJob("season-r1", urls));
    const r1 = await until("season-r1's reused episodes", async () => {
      const s = (await vjOf("season-r1")).status?.episodes;
      return s?.filter((e) => e.reusedFrom).length === 2 ? s : undefined;
    });
    expect(r1.map((e) => [e.index, e.phase, e.reusedFrom])).toEqual([
      [0, "Completed", "season/1"],
      [1, "Pending", undefined],
      [2, "Completed", "season/3"],
      [3, "Pending", undefined],
    ]);
    expect((await episodeJobs("season-r1")).sort()).toEqual(["season-r1-ep1", "season-r1-ep3"]);
    const [from, to] = [await stagingOf("season"), await stagingOf("season-r1")];
    expect(await keys(to)).toEqual(["ep0.json", "ep0.mp4", "ep2.json", "ep2.mp4"]);
    expect((await body(`${to}ep2.mp4`)).equals(await body(`${from}ep2.mp4`))).toBe(true);
    const record = JSON.parse((await body(`${to}ep0.json`)).toString()) as { uid: string; index: number };
    expect(record).toMatchObject({ uid: (await vjOf("season-r1")).metadata.uid, index: 0 });

    await runEpisode("season-r1", 1, "Completed");
    await runEpisode("season-r1", 3, "Completed");
    const merge = await until("season-r1's merge Job", async () =>
      (await jobsOf("season-r1")).find((j) => j.metadata.labels["reel.dev/role"] === "merge"),
    );
    const env = Object.fromEntries(merge.spec.template.spec.containers[0]?.env.map((e) => [e.name, e.value]) ?? []);
    expect(JSON.parse(String(env.REEL_MERGE_EPISODES)).map((e: { index: number }) => e.index)).toEqual([0, 1, 2, 3]);
    expect(await episodeJobs("season-r1")).toHaveLength(2);
  }, 120_000);

  it("another job of the namespace reuses a first job's episode; a changed source runs again", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("special", [url(2)]));
    const special = await until("special's episode", async () => (await vjOf("special")).status?.episodes?.[0]);
    expect(special).toMatchObject({ phase: "Completed", reusedFrom: "season/3" });
    // Its source changed since season staged it (new bytes, length and ETag): it runs again.
    await writeFile(join(tmp.dir, "ep0.mp4"), randomBytes(5000));
    await kubectl(["apply", "-f", "-"], videoJob("changed", [url(0)]));
    await until("changed's Job", async () => ((await episodeJobs("changed")).length === 1 ? true : undefined));
    expect((await vjOf("changed")).status?.episodes?.[0]?.reusedFrom).toBeUndefined();
    expect(await episodeJobs("special")).toEqual([]);
  }, 60_000);

  it("deleting the first job leaves the retry's copies in place", async () => {
    const to = await stagingOf("season-r1");
    const from = await stagingOf("season");
    await kubectl(["-n", "media", "delete", "videojob", "season", "--wait=true", "--timeout=30s"]);
    await until("season's staging removed", async () => ((await keys(from)).length === 0 ? true : undefined));
    expect(await keys(to)).toEqual(expect.arrayContaining(["ep0.mp4", "ep2.mp4"]));
  }, 60_000);

  it("an s3:// source is reused while HeadObject answers its ETag and size, and runs again once it is rewritten", async () => {
    const src = "s3://videos/sources/ep.mp4";
    const sources = { s3: { endpoint: s3.endpoint, credentialsSecret: "s3-creds" } };
    const write = (n: number) =>
      client.send(new PutObjectCommand({ Bucket: "videos", Key: "sources/ep.mp4", Body: randomBytes(n) }));
    await write(3000);
    const head = await client.send(new HeadObjectCommand({ Bucket: "videos", Key: "sources/ep.mp4" }));
    await kubectl(["apply", "-f", "-"], videoJob("s3-first", [src], sources));
    await until("s3-first's Job", async () => ((await episodeJobs("s3-first")).length === 1 ? true : undefined));
    // The worker records the presigned download's ETag and length.
    await runEpisode("s3-first", 0, "Completed", `etag ${head.ETag} length 3000`);
    await until(
      "s3-first's episode",
      async () => (await vjOf("s3-first")).status?.episodes?.[0]?.phase === "Completed" || undefined,
    );

    await kubectl(["apply", "-f", "-"], videoJob("s3-second", [src], sources));
    const second = await until("s3-second's episode", async () => (await vjOf("s3-second")).status?.episodes?.[0]);
    expect(second).toMatchObject({ phase: "Completed", reusedFrom: "s3-first/1" });
    expect(await episodeJobs("s3-second")).toEqual([]);

    await write(3001);
    await kubectl(["apply", "-f", "-"], videoJob("s3-third", [src], sources));
    await until("s3-third's Job", async () => ((await episodeJobs("s3-third")).length === 1 ? true : undefined));
    expect((await vjOf("s3-third")).status?.episodes?.[0]?.reusedFrom).toBeUndefined();
  }, 60_000);
});
