// The operator on a real control plane (L2: etcd + kube-apiserver from e2e/cluster/cluster.sh).
// Nothing runs the Jobs here (no controller-manager, no kubelet): the test writes Job status the
// way the Job controller would, and checks what the operator makes of it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import type { Redis } from "ioredis";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { startRedis } from "../../e2e/src/services/redis.ts";
import { startS3WithBucket } from "../../worker-image/src/testing/s3.ts";
import { redisProgress, workerRedis } from "../../worker-image/src/worker/progress.ts";
import { type RunningOperator, startOperator } from "./main.ts";
import { controlPlaneUp, createS3Secret, operatorConfig, startReadyOperator } from "./testing/control-plane.ts";
import { kubeReader } from "./testing/kube-read.ts";
import { finishJob as jobFinished } from "./testing/kube-status.ts";
import { until } from "../../e2e/src/until.ts";

const built = k8sBinariesBuilt();

interface Job {
  metadata: {
    name: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: { uid: string; controller: boolean }[];
  };
  spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
}
interface VJ {
  metadata: { uid: string; finalizers?: string[]; generation: number };
  status?: {
    phase?: string;
    progress?: number;
    episodesSummary?: string;
    observedGeneration?: number;
    episodes?: { index: number; phase: string; error?: { code: string }; encoder?: string }[];
    conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[];
    output?: { location: string; chapters?: number };
  };
}

function videoJob(name: string, episodes: number, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name, namespace: "media" },
    spec: {
      episodes: Array.from({ length: episodes }, (_, i) => ({
        url: `https://cdn.example.com/${name}/${i}.mp4`,
        title: `Ep ${i + 1}`,
      })),
      gpu: { policy: "off" },
      output: { s3: { bucket: "videos", prefix: `${name}/`, credentialsSecret: "s3-creds" } },
      merge: { enabled: true, chapters: true, allowPartial: true },
      ...extra,
    },
  });
}

describe.skipIf(!built)("operator on a real kube-apiserver (L2)", () => {
  let cluster: Cluster;
  let op: RunningOperator;
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
  const { getJson, jobsOf, vjOf } = kubeReader<Job, VJ>(kubectl, "media");
  const env = (over: Record<string, string>) => ({ REEL_LEASE_SECONDS: "3", REEL_RESYNC_SECONDS: "3600", ...over });
  /** Marks a Job finished the way the Job controller does (status subresource). */
  const finishJob = (name: string, outcome: "Complete" | "Failed", message?: string) =>
    jobFinished(kubectl, "media", name, outcome, message);
  const writes = async () => {
    const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
    return [...text.matchAll(/^reel_operator_api_writes_total\{verb="[^"]+"\} (\d+)/gm)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
  };

  beforeAll(async () => {
    cluster = await controlPlaneUp({ level: 2, namespaces: ["media", "reel-system"] });
    op = await startReadyOperator(env({ POD_NAME: "op-a" }));
  }, 120_000);

  afterAll(async () => {
    await op?.stop();
    await cluster?.down();
  });

  it("turns a VideoJob into one owned Job per episode, with a finalizer and a readable status", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("season-1", 3));
    const jobs = await until("3 Jobs", async () => {
      const j = await jobsOf("season-1");
      return j.length === 3 ? j : undefined;
    });
    const vj = await vjOf("season-1");
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual(["season-1-ep0", "season-1-ep1", "season-1-ep2"]);
    for (const j of jobs) {
      expect(j.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: vj.metadata.uid, controller: true })]);
      expect(j.metadata.labels["app.kubernetes.io/managed-by"]).toBe("reel-operator");
    }
    expect(vj.metadata.finalizers).toContain("reel.dev/cleanup");
    const st = await until("status", async () => {
      const v = await vjOf("season-1");
      return v.status?.phase ? v.status : undefined;
    });
    expect(st.phase).toBe("Pending");
    expect(st.episodesSummary).toBe("0/3");
    expect(st.conditions?.find((c) => c.type === "Reconciling")).toMatchObject({
      status: "True",
      observedGeneration: 1,
    });
    // kubectl's printer columns read it.
    const table = await kubectl(["-n", "media", "get", "videojobs"]);
    expect(table).toMatch(/NAME\s+PHASE\s+PROGRESS\s+EPISODES\s+ACTIVITY\s+AGE/);
    expect(table).toMatch(/season-1\s+Pending\s+0\s+0\/3/);
    const managers = await getJson<{ metadata: { managedFields: { manager: string }[] } }>([
      "-n",
      "media",
      "get",
      "job",
      "season-1-ep0",
      "--show-managed-fields",
    ]);
    expect(managers.metadata.managedFields.map((m) => m.manager)).toContain("reel-operator");
  });

  it("records finished episodes, merges the good ones when partial output is allowed, and becomes Ready", async () => {
    await finishJob("season-1-ep0", "Complete");
    await finishJob("season-1-ep1", "Failed", "Job has reached the specified backoff limit");
    await finishJob("season-1-ep2", "Complete");
    const merge = await until("the merge Job", async () =>
      (await jobsOf("season-1")).find((j) => j.metadata.labels["reel.dev/role"] === "merge"),
    );
    const env = Object.fromEntries(merge.spec.template.spec.containers[0]?.env.map((e) => [e.name, e.value]) ?? []);
    expect(JSON.parse(env.REEL_MERGE_EPISODES ?? "[]")).toEqual([
      { index: 0, title: "Ep 1" },
      { index: 2, title: "Ep 3" },
    ]);
    const merging = await until("Merging", async () =>
      (await vjOf("season-1")).status?.phase === "Merging" ? true : undefined,
    );
    expect(merging).toBe(true);
    const v = await vjOf("season-1");
    expect(v.status?.episodes?.[1]).toMatchObject({ phase: "Failed", error: { code: "REEL_WORKER_FAILED" } });
    await finishJob(merge.metadata.name, "Complete");
    const done = await until("Completed", async () => {
      const x = await vjOf("season-1");
      return x.status?.phase === "Completed" ? x : undefined;
    });
    expect(done.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "Completed",
    });
    expect(done.status?.progress).toBe(100);
    // kubectl wait reads the same condition.
    await kubectl(["-n", "media", "wait", "--for=condition=Ready", "videojob/season-1", "--timeout=10s"]);
  });

  it("writes nothing during a full resync when nothing changed", async () => {
    await op.controller()?.idle();
    const before = await writes();
    op.controller()?.resyncAll();
    await op.controller()?.idle();
    expect(await writes()).toBe(before);
  });

  it("refuses an invalid VideoJob at the apiserver with a readable message", async () => {
    const bad = videoJob("bad", 1, {
      output: { s3: { bucket: "videos", credentialsSecret: "c" }, local: { path: "/x" } },
    });
    await expect(kubectl(["apply", "-f", "-"], bad)).rejects.toThrow(
      /output must name exactly one of s3, volume or local/,
    );
    const ftp = JSON.parse(videoJob("ftp", 1));
    ftp.spec.episodes[0].url = "ftp://example.com/a.mp4";
    await expect(kubectl(["apply", "-f", "-"], JSON.stringify(ftp))).rejects.toThrow(/http/);
  });

  it("cancels: running Jobs removed, phase Cancelled, and cancel cannot be undone", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("to-cancel", 2));
    await until("2 Jobs", async () => ((await jobsOf("to-cancel")).length === 2 ? true : undefined));
    await kubectl(["-n", "media", "patch", "videojob", "to-cancel", "--type=merge", "-p", '{"spec":{"cancel":true}}']);
    await until("Jobs removed", async () => ((await jobsOf("to-cancel")).length === 0 ? true : undefined));
    const v = await until("Cancelled", async () => {
      const x = await vjOf("to-cancel");
      return x.status?.phase === "Cancelled" ? x : undefined;
    });
    expect(v.status?.episodes?.map((e) => e.phase)).toEqual(["Cancelled", "Cancelled"]);
    await expect(
      kubectl(["-n", "media", "patch", "videojob", "to-cancel", "--type=merge", "-p", '{"spec":{"cancel":false}}']),
    ).rejects.toThrow(/cannot be resumed/);
  });

  it("deletes: the finalizer runs and the VideoJob goes", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("to-delete", 1));
    await until("finalizer", async () => (await vjOf("to-delete")).metadata.finalizers?.includes("reel.dev/cleanup"));
    await kubectl(["-n", "media", "delete", "videojob", "to-delete", "--wait=true", "--timeout=20s"]);
    await expect(vjOf("to-delete")).rejects.toThrow(/NotFound|not found/);
  });

  it("on deletion removes the staged episodes from S3 (credentials from the job's Secret), then the VideoJob", async () => {
    const { s3, client } = await startS3WithBucket("videos");
    try {
      await createS3Secret(cluster, "media", "s3-live", s3);
      const job = JSON.parse(videoJob("staged", 2));
      job.spec.output.s3 = { bucket: "videos", prefix: "staged/", endpoint: s3.endpoint, credentialsSecret: "s3-live" };
      await kubectl(["apply", "-f", "-"], JSON.stringify(job));
      const vj = await until("finalizer", async () => {
        const v = await vjOf("staged");
        return v.metadata.finalizers?.includes("reel.dev/cleanup") ? v : undefined;
      });
      // What the episode pods would have staged, plus the finished output that must stay.
      const staging = `staged/.reel-staging/${vj.metadata.uid}/`;
      for (const key of [`${staging}ep0.mp4`, `${staging}ep0.json`, `${staging}ep1.mp4`, "staged/staged.mp4"]) {
        await client.send(new PutObjectCommand({ Bucket: "videos", Key: key, Body: "x" }));
      }
      await kubectl(["-n", "media", "delete", "videojob", "staged", "--wait=true", "--timeout=30s"]);
      const left = await client.send(new ListObjectsV2Command({ Bucket: "videos", Prefix: "staged/" }));
      expect((left.Contents ?? []).map((o) => o.Key)).toEqual(["staged/staged.mp4"]);
      client.destroy();
    } finally {
      await s3.stop();
    }
  }, 60_000);

  it("restarted, creates no duplicate Job and writes nothing for what is already done", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("restart", 4));
    await until("4 Jobs", async () => ((await jobsOf("restart")).length === 4 ? true : undefined));
    await op.controller()?.idle();
    await op.stop();
    op = await startReadyOperator(env({ POD_NAME: "op-b" }), 20_000);
    await op.controller()?.idle();
    expect((await jobsOf("restart")).length).toBe(4);
    expect(await writes()).toBe(0);
  });

  it("two replicas never both lead; the standby takes over when the leader stops", async () => {
    const second = await startOperator(operatorConfig(env({ POD_NAME: "op-c" })));
    try {
      await new Promise((r) => setTimeout(r, 2500));
      expect([op.isLeader(), second.isLeader()]).toEqual([true, false]);
      expect(second.controller()).toBeUndefined();
      await op.stop();
      await until("the standby to lead", async () => second.isLeader(), 15_000);
      const lease = await getJson<{ spec: { holderIdentity: string; leaseTransitions: number } }>([
        "-n",
        "reel-system",
        "get",
        "lease",
        "reel-operator",
      ]);
      expect(lease.spec.holderIdentity).toBe("op-c");
    } finally {
      op = second;
    }
  });

  const watchEvents = async (event: string) => {
    const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
    return [
      ...text.matchAll(
        new RegExp(`^reel_operator_watch_events_total\\{resource="[^"]+",event="${event}"\\} (\\d+)`, "gm"),
      ),
    ].reduce((a, m) => a + Number(m[1]), 0);
  };

  it("recovers its watches when the apiserver restarts on a compacted etcd", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("before-restart", 1));
    await until("its Job", async () => ((await jobsOf("before-restart")).length === 1 ? true : undefined));
    const lists = await watchEvents("list");
    // Old resourceVersions are gone from etcd: resuming from one would answer 410 Gone.
    await cluster.compact();
    await cluster.restartApiserver();
    await kubectl(["apply", "-f", "-"], videoJob("after-restart", 2));
    await until(
      "Jobs of a VideoJob created after the restart",
      async () => ((await jobsOf("after-restart")).length === 2 ? true : undefined),
      45_000,
    );
    // Every watch came back through a fresh list.
    expect(await watchEvents("list")).toBeGreaterThan(lists);
  }, 90_000);

  it("reconnects a watch that falls silent (apiserver frozen with SIGSTOP), then carries on", async () => {
    await op.stop();
    op = await startReadyOperator(
      env({ POD_NAME: "op-stall", REEL_LEADER_ELECT: "false", REEL_WATCH_STALL_SECONDS: "5" }),
      20_000,
    );
    // An event first: the stall clock runs from the last thing a watch delivered.
    await kubectl(["apply", "-f", "-"], videoJob("pre-stall", 1));
    await until("its Job", async () => ((await jobsOf("pre-stall")).length === 1 ? true : undefined));
    const before = await watchEvents("reconnect");
    const pid = cluster.pid("kube-apiserver");
    process.kill(pid, "SIGSTOP"); // connections stay open and say nothing
    try {
      await new Promise((r) => setTimeout(r, 8000));
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect(await watchEvents("reconnect")).toBeGreaterThan(before);
    await kubectl(["apply", "-f", "-"], videoJob("after-stall", 1));
    await until("a Job of a VideoJob created after the stall", async () =>
      (await jobsOf("after-stall")).length === 1 ? true : undefined,
    );
  }, 60_000);

  it("shows a worker's fine progress from Redis in status, published as the namespace's own Redis user, and serves health and metrics", async () => {
    // An installation's Redis: the default user needs the password only the operator's URL carries.
    const redis = await startRedis({ password: "operator-admin-password" });
    let client: Redis | undefined;
    try {
      await op.stop();
      op = await startReadyOperator(
        env({ POD_NAME: "op-redis", REEL_LEADER_ELECT: "false", REEL_REDIS_URL: redis.url }),
        20_000,
      );
      await kubectl(["apply", "-f", "-"], videoJob("live", 1));
      await until("its Job", async () => ((await jobsOf("live")).length === 1 ? true : undefined));
      // The pod's env as planned: the URL without the operator's password, the user by reference only.
      const podEnv = (await jobsOf("live"))[0]?.spec.template.spec.containers[0]?.env ?? [];
      const redisEnv = podEnv.filter((e) => e.name.startsWith("REEL_REDIS_"));
      expect(redisEnv).toEqual([
        { name: "REEL_REDIS_URL", value: redis.bareUrl },
        { name: "REEL_REDIS_USERNAME", valueFrom: { secretKeyRef: { name: "reel-redis-worker", key: "username" } } },
        { name: "REEL_REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "reel-redis-worker", key: "password" } } },
      ]);
      // What the kubelet would fill in: the Secret the operator made in the namespace.
      const secret = JSON.parse(await kubectl(["-n", "media", "get", "secret", "reel-redis-worker", "-o", "json"]));
      const b64 = (v: string) => Buffer.from(v, "base64").toString("utf8");
      const auth = { username: b64(secret.data.username), password: b64(secret.data.password) };
      expect(auth.username).toBe("reel-w-media");
      expect(secret.metadata.ownerReferences).toBeUndefined();
      client = workerRedis(redis.bareUrl, auth);
      client.on("error", () => {});
      // What a worker pod publishes while it encodes (worker-image/src/worker/progress.ts), as its user.
      const errors: Error[] = [];
      const sink = redisProgress(client, "media/live", { intervalMs: 10, onError: (e) => errors.push(e) });
      sink.report({ index: 0, stage: "encode", fraction: 0.5 });
      await sink.close();
      expect(errors).toEqual([]);
      const v = await until("the stage in status", async () => {
        const x = await vjOf("live");
        return x.status?.episodes?.[0]?.phase === "Transcoding" ? x : undefined;
      });
      expect(v.status?.phase).toBe("Processing");
      expect(v.status?.episodes?.[0]).toMatchObject({ phase: "Transcoding", progress: 61 });
      const base = `http://127.0.0.1:${op.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^reel_operator_videojobs\{phase="Processing"\} [1-9]/m);
      expect(metrics).toMatch(/^reel_operator_reconcile_duration_seconds_count [1-9]/m);
      expect(metrics).toMatch(/^reel_operator_queue_depth \d+/m);
      // Exact figures for the chart's alerts: the oldest Pending job's age, and finished jobs by phase.
      expect(metrics).toMatch(/^reel_operator_oldest_pending_seconds [0-9.e+]+$/m);
      await kubectl(["-n", "media", "patch", "videojob", "live", "--type=merge", "-p", '{"spec":{"cancel":true}}']);
      await until("the cancel counted", async () =>
        /^reel_operator_videojobs_finished_total\{phase="Cancelled"\} 1$/m.test(
          await (await fetch(`${base}/metrics`)).text(),
        ),
      );
    } finally {
      client?.disconnect();
      await redis.stop();
    }
  }, 60_000);
});
