// Retention and the installation's output settings on a real control plane (L2: etcd +
// kube-apiserver) with the real S3 server of our tests (versitygw). Nothing runs the Jobs: the test
// writes Job and Pod status the way the Job controller and the kubelet would (the merge pod's
// termination message carries the worker's result), and checks what the operator does with short
// retentions: the output objects and staging deleted from S3 two seconds after the job finished,
// status.output.expiredAt set and the URL gone (and kept gone while the merge Job and its pod still
// report the URL), finished VideoJobs deleted ten seconds after, with an Event for each deletion and
// the Prometheus counter.
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import type { S3Server } from "../../e2e/src/services/s3.ts";
import { until } from "../../e2e/src/until.ts";
import { startS3WithBucket } from "../../worker-image/src/testing/s3.ts";
import type { RunningOperator } from "./main.ts";
import { controlPlaneUp, createS3Secret, startReadyOperator } from "./testing/control-plane.ts";
import { kubeReader } from "./testing/kube-read.ts";
import { exitPod, finishJob as jobFinished } from "./testing/kube-status.ts";

const built = k8sBinariesBuilt();
const PUBLIC = "https://cdn.example.com/videos";

interface Job {
  metadata: { name: string; labels: Record<string, string> };
  spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
}
interface VJ {
  metadata: { uid: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    completedAt?: string;
    output?: { location: string; url?: string; urlExpiresAt?: string; expiredAt?: string; sizeBytes?: number };
    outputs?: { location: string; url?: string; expiredAt?: string; episode?: number; title?: string }[];
    episodes?: { index: number; poster?: string }[];
  };
}

describe.skipIf(!built)("retention and output settings on a real kube-apiserver and S3 (L2)", () => {
  let cluster: Cluster;
  let s3: S3Server;
  let client: S3Client;
  let op: RunningOperator;
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
  const { getJson, jobsOf, vjOf } = kubeReader<Job, VJ>(kubectl, "media");
  const gone = async (name: string) => {
    const out = await kubectl(["-n", "media", "get", "videojob", name, "--ignore-not-found", "-o", "name"]);
    return out.trim() === "";
  };
  const envOf = (j: Job) =>
    Object.fromEntries(j.spec.template.spec.containers[0]?.env.map((e) => [e.name, e.value]) ?? []);
  const keys = async (prefix: string) =>
    ((await client.send(new ListObjectsV2Command({ Bucket: "videos", Prefix: prefix }))).Contents ?? [])
      .map((o) => o.Key)
      .sort();
  const put = (key: string) => client.send(new PutObjectCommand({ Bucket: "videos", Key: key, Body: "x" }));
  const metric = async (what: string) => {
    const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
    return Number(
      new RegExp(`^reel_operator_retention_deletions_total\\{what="${what}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0,
    );
  };
  const events = async (name: string, reason: string) =>
    (
      await getJson<{ items: { type: string; message: string; involvedObject: { uid: string } }[] }>([
        "-n",
        "media",
        "get",
        "events",
        "--field-selector",
        `involvedObject.name=${name},reason=${reason}`,
      ])
    ).items;

  function videoJob(name: string, over: Record<string, unknown> = {}) {
    return JSON.stringify({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name, namespace: "media" },
      spec: {
        episodes: [{ url: `https://cdn.example.com/${name}/0.mp4`, title: "Ep 1" }],
        ...over,
        gpu: { policy: "off" },
        output: { s3: { bucket: "videos", prefix: `${name}/`, endpoint: s3.endpoint, credentialsSecret: "s3-creds" } },
      },
    });
  }
  /** The Job controller's part: the Job finished. */
  const finishJob = (name: string, outcome: "Complete" | "Failed") => jobFinished(kubectl, "media", name, outcome);
  /** The kubelet's part: the merge pod ran and left the worker's result as its termination message. */
  const mergePodDone = async (vj: string, job: string, result: object) => {
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
            "reel.dev/role": "merge",
            "batch.kubernetes.io/job-name": job,
          },
        },
        spec: { restartPolicy: "Never", containers: [{ name: "worker", image: "reel-worker:test" }] },
      }),
    );
    await exitPod(kubectl, "media", pod, 0, result);
  };

  beforeAll(async () => {
    [cluster, { s3, client }] = await Promise.all([
      controlPlaneUp({ level: 2, namespaces: ["media"] }),
      startS3WithBucket("videos"),
    ]);
    // No controller-manager at L2 makes the namespace's default ServiceAccount the test's Pod needs.
    await kubectl(["-n", "media", "create", "serviceaccount", "default"]);
    await createS3Secret(cluster, "media", "s3-creds", s3);
    op = await startReadyOperator(
      {
        REEL_LEADER_ELECT: "false",
        REEL_RESYNC_SECONDS: "3600",
        REEL_S3_SSE: "aws:kms",
        REEL_S3_SSE_KMS_KEY_ID: "alias/reel",
        REEL_OUTPUT_PUBLIC_BASE_URL: `${PUBLIC}/`,
        REEL_OUTPUT_RETENTION: "2s",
        REEL_FINISHED_RETENTION: "10s",
      },
      20_000,
    );
  }, 180_000);

  afterAll(async () => {
    await op?.stop();
    client?.destroy();
    await Promise.all([cluster?.down(), s3?.stop()]);
  });

  let uid = "";
  let completedAt = 0;

  it("passes SSE to episode and merge pods, and the public base URL to the merge pod", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("season-1"));
    const [ep] = await until("the episode Job", async () => {
      const j = await jobsOf("season-1");
      return j.length ? j : undefined;
    });
    expect(envOf(ep as Job)).toMatchObject({ REEL_S3_SSE: "aws:kms", REEL_S3_SSE_KMS_KEY_ID: "alias/reel" });
    expect(envOf(ep as Job).REEL_OUTPUT_PUBLIC_BASE_URL).toBeUndefined();
    uid = (await vjOf("season-1")).metadata.uid;
    // What the episode pod staged, the merge pod's output, and a neighbour that must stay.
    for (const key of [
      `season-1/.reel-staging/${uid}/ep0.mp4`,
      `season-1/.reel-staging/${uid}/ep0.json`,
      `season-1/.reel-staging/${uid}/merge.json`,
      "season-1/Season 1.mp4",
      // Its seek thumbnails, which go with it.
      "season-1/Season 1-thumbs.vtt",
      "season-1/Season 1-thumbs-001.jpg",
      "season-1/Season 1-thumbs-002.jpg",
      // Its episode's poster (named by the crds rule from the merged file's location).
      "season-1/Season 1-ep001-poster.jpg",
      "season-1/notes.txt",
    ]) {
      await put(key);
    }
    await finishJob("season-1-ep0", "Complete");
    const merge = await until("the merge Job", async () =>
      (await jobsOf("season-1")).find((j) => j.metadata.labels["reel.dev/role"] === "merge"),
    );
    expect(envOf(merge)).toMatchObject({
      REEL_S3_SSE: "aws:kms",
      REEL_S3_SSE_KMS_KEY_ID: "alias/reel",
      REEL_OUTPUT_PUBLIC_BASE_URL: PUBLIC,
    });
  });

  it("reports the merge pod's <base>/<key> URL, then deletes the output and its staging 2s after the job finished", async () => {
    await mergePodDone("season-1", "season-1-merge", {
      mode: "merge",
      phase: "Completed",
      output: {
        location: "s3://videos/season-1/Season 1.mp4",
        bytes: 1,
        sha256: "ab".repeat(32),
        url: `${PUBLIC}/season-1/Season%201.mp4`,
        thumbnails: { vtt: "s3://videos/season-1/Season 1-thumbs.vtt", sheets: 2 },
        posters: { stored: 1 },
      },
    });
    await finishJob("season-1-merge", "Complete");
    const done = await until("Completed with the public URL", async () => {
      const v = await vjOf("season-1");
      return v.status?.phase === "Completed" && v.status.output?.url ? v : undefined;
    });
    expect(done.status?.output).toMatchObject({ url: `${PUBLIC}/season-1/Season%201.mp4`, sizeBytes: 1 });
    expect(done.status?.output?.urlExpiresAt).toBeUndefined();
    expect(done.status?.episodes?.[0]?.poster).toBe("s3://videos/season-1/Season 1-ep001-poster.jpg");
    completedAt = Date.parse(done.status?.completedAt ?? "");

    const expired = await until("the output expired", async () => {
      const v = await vjOf("season-1");
      return v.status?.output?.expiredAt ? v : undefined;
    });
    const expiredAt = Date.parse(expired.status?.output?.expiredAt ?? "");
    // Not before its time (second precision in completedAt), and not long after.
    expect(expiredAt).toBeGreaterThanOrEqual(completedAt + 2000);
    expect(expiredAt).toBeLessThan(completedAt + 8000);
    expect(expired.status?.output).toEqual({
      location: "s3://videos/season-1/Season 1.mp4",
      sizeBytes: 1,
      checksum: `sha256:${"ab".repeat(32)}`,
      thumbnails: { vtt: "s3://videos/season-1/Season 1-thumbs.vtt", sheets: 2 },
      expiredAt: expired.status?.output?.expiredAt,
    });
    expect(expired.status?.phase).toBe("Completed");
    expect(await keys("season-1/")).toEqual(["season-1/notes.txt"]);
    expect(await events("season-1", "OutputExpired")).toEqual([
      expect.objectContaining({
        type: "Normal",
        involvedObject: expect.objectContaining({ uid }),
        message:
          "deleted the output s3://videos/season-1/Season 1.mp4 and its staging (8 object(s)), 2s after the job finished (REEL_OUTPUT_RETENTION)",
      }),
    ]);
    expect(await metric("output")).toBe(1);
  });

  it("keeps the dead link out of status while the merge Job and its pod still report it", async () => {
    op.controller()?.resyncAll();
    await op.controller()?.idle();
    const v = await vjOf("season-1");
    expect(v.status?.output?.url).toBeUndefined();
    expect(v.status?.output?.expiredAt).toBeDefined();
  });

  it("deletes finished VideoJobs (Completed, Failed) 10s after they finished; the finalizer still cleans the staging; running ones stay", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("broken"));
    await kubectl(["apply", "-f", "-"], videoJob("running"));
    await until("the Jobs", async () =>
      (await jobsOf("broken")).length && (await jobsOf("running")).length ? true : undefined,
    );
    const brokenUid = (await vjOf("broken")).metadata.uid;
    await put(`broken/.reel-staging/${brokenUid}/ep0.json`);
    await finishJob("broken-ep0", "Failed");
    const failed = await until("Failed", async () => {
      const v = await vjOf("broken");
      return v.status?.phase === "Failed" ? v : undefined;
    });
    const failedAt = Date.parse(failed.status?.completedAt ?? "");

    await until("season-1 deleted", () => gone("season-1"), 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(completedAt + 10_000);
    await until("broken deleted", () => gone("broken"), 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(failedAt + 10_000);
    expect(await keys("broken/")).toEqual([]); // the finalizer's cleanup
    expect(await gone("running")).toBe(false);
    expect((await events("season-1", "Expired"))[0]).toMatchObject({
      type: "Normal",
      involvedObject: { uid },
      message:
        "deleting the VideoJob 10s after it finished (REEL_FINISHED_RETENTION); its finalizer removes the staging",
    });
    expect(await events("broken", "Expired")).toHaveLength(1);
    expect(await metric("videojob")).toBe(2);
    expect(await metric("output")).toBe(1); // the failed job had no output to delete
  }, 60_000);

  it("with merge off, runs the merge Job, lists each stored file, and expires every one of them (and only them)", async () => {
    const episodes = [0, 1].map((i) => ({ url: `https://cdn.example.com/separate/${i}.mp4`, title: `Ep ${i + 1}` }));
    await kubectl(["apply", "-f", "-"], videoJob("separate", { episodes, merge: { enabled: false } }));
    await until("the episode Jobs", async () => ((await jobsOf("separate")).length === 2 ? true : undefined));
    const sepUid = (await vjOf("separate")).metadata.uid;
    await finishJob("separate-ep0", "Complete");
    await finishJob("separate-ep1", "Complete");
    const merge = await until("the merge Job, merge off or not", async () =>
      (await jobsOf("separate")).find((j) => j.metadata.labels["reel.dev/role"] === "merge"),
    );
    expect(JSON.parse(envOf(merge).REEL_MERGE_EPISODES ?? "[]")).toEqual([
      { index: 0, title: "Ep 1" },
      { index: 1, title: "Ep 2" },
    ]);
    // What the merge pod leaves: two files beside staging, staging cleared to its record.
    const files = ["separate/separate-001-Ep 1.mp4", "separate/separate-002-Ep 2.mp4"];
    for (const key of [...files, `separate/.reel-staging/${sepUid}/merge.json`, "separate/notes.txt"]) await put(key);
    const stored = (key: string) => ({
      location: `s3://videos/${key}`,
      bytes: 1,
      sha256: "cd".repeat(32),
      url: `${PUBLIC}/${key.replace(" ", "%20")}`,
    });
    await mergePodDone("separate", "separate-merge", {
      mode: "merge",
      phase: "Completed",
      outputs: files.map(stored),
    });
    await finishJob("separate-merge", "Complete");
    const done = await until("Completed with both files", async () => {
      const v = await vjOf("separate");
      return v.status?.phase === "Completed" && v.status.outputs?.length === 2 ? v : undefined;
    });
    expect(done.status?.output).toBeUndefined();
    expect(done.status?.outputs?.map((o) => [o.location, o.episode, o.title, o.url])).toEqual([
      ["s3://videos/separate/separate-001-Ep 1.mp4", 0, "Ep 1", `${PUBLIC}/separate/separate-001-Ep%201.mp4`],
      ["s3://videos/separate/separate-002-Ep 2.mp4", 1, "Ep 2", `${PUBLIC}/separate/separate-002-Ep%202.mp4`],
    ]);

    const expired = await until("both files expired", async () => {
      const v = await vjOf("separate");
      return v.status?.outputs?.every((o) => o.expiredAt) ? v : undefined;
    });
    expect(expired.status?.outputs?.map((o) => o.url)).toEqual([undefined, undefined]);
    // Both outputs and the staging record gone; what the job did not write stays.
    expect(await keys("separate/")).toEqual(["separate/notes.txt"]);
    expect((await events("separate", "OutputExpired"))[0]?.message).toBe(
      "deleted the output s3://videos/separate/separate-001-Ep 1.mp4 and 1 more and its staging (3 object(s)), 2s after the job finished (REEL_OUTPUT_RETENTION)",
    );
    expect(await metric("output")).toBe(2);
  }, 60_000);
});
