// The operator on the L3 control plane: kube-controller-manager (the real Job controller and pod
// GC), kube-scheduler and simulated GPU nodes (KWOK). Nothing runs containers here, so the test
// plays the kubelet for each pod it cares about: it writes the container's exit code and the
// worker's termination message into the Pod's status, as a kubelet would report them.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import type { RunningOperator } from "./main.ts";
import { controlPlaneUp, startReadyOperator } from "./testing/control-plane.ts";
import { kubeReader } from "./testing/kube-read.ts";
import { exitPod as podExited } from "./testing/kube-status.ts";
import { until } from "../../e2e/src/until.ts";

const built = k8sBinariesBuilt();

interface Pod {
  metadata: {
    name: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp: string;
  };
  spec: { nodeName?: string; containers?: Array<{ env?: Array<{ name: string; valueFrom?: unknown }> }> };
  status: { phase: string };
}
interface VJ {
  status?: {
    phase?: string;
    episodes?: {
      index: number;
      phase: string;
      error?: { code: string };
      encoder?: string;
      segments?: { total: number; completed: number };
      node?: string;
      attempts?: number;
    }[];
  };
}

function videoJob(name: string, episodes: number, spec: Record<string, unknown> = {}) {
  return JSON.stringify({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name, namespace: "media" },
    spec: {
      episodes: Array.from({ length: episodes }, (_, i) => ({ url: `https://cdn.example.com/${name}/${i}.mp4` })),
      output: { s3: { bucket: "videos", prefix: `${name}/`, credentialsSecret: "s3-creds" } },
      merge: { enabled: true, allowPartial: true },
      ...spec,
    },
  });
}

describe.skipIf(!built)(
  "operator on the L3 control plane (real scheduler, Job controller, simulated GPU nodes)",
  () => {
    let cluster: Cluster;
    let op: RunningOperator;
    const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);
    const podsOf = async (vj: string, episode: number) =>
      (
        JSON.parse(
          await kubectl([
            "-n",
            "media",
            "get",
            "pods",
            "-l",
            `reel.dev/videojob=${vj},reel.dev/episode=${episode}`,
            "-o",
            "json",
          ]),
        ) as { items: Pod[] }
      ).items.sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
    const { vjOf } = kubeReader<never, VJ>(kubectl, "media");
    /** The latest pod of an episode once the scheduler has bound it (and it is not `other`). */
    const boundPod = (vj: string, episode: number, other?: string) =>
      until(
        `a bound pod of ${vj} episode ${episode}`,
        async () => {
          const p = (await podsOf(vj, episode)).filter((x) => x.metadata.name !== other && x.spec.nodeName).at(-1);
          return p;
        },
        60_000,
      );
    /** Plays the kubelet: the worker container ran and exited with this code and result. */
    const exitPod = (pod: Pod, exitCode: number, result: Record<string, unknown>) =>
      podExited(kubectl, "media", pod.metadata.name, exitCode, result);
    const ok = (index: number) => ({
      mode: "episode",
      index,
      phase: "Completed",
      encoder: "libx264",
      quality: { ssim: 0.99, psnr: 44 },
    });
    const err = (index: number, code: string) => ({
      mode: "episode",
      index,
      phase: "Failed",
      error: { code, message: `episode ${index}: ${code}` },
    });

    beforeAll(async () => {
      cluster = await controlPlaneUp({ level: 3, namespaces: ["media"] });
      // The chart installs these (issue 6); pods naming a missing PriorityClass are refused.
      for (const [name, value] of [
        ["reel-low", 100],
        ["reel-normal", 1000],
        ["reel-high", 10000],
      ] as const) {
        await kubectl(["create", "priorityclass", name, `--value=${value}`, "--description=Reel episodes"]);
      }
      op = await startReadyOperator({ REEL_LEADER_ELECT: "false", REEL_BACKOFF_LIMIT: "1" });
    }, 180_000);

    afterAll(async () => {
      await op?.stop();
      await cluster?.down();
    });

    it("places pods on nodes of the asked vendor whose encoder works, and CPU work off GPU nodes", async () => {
      await kubectl(["apply", "-f", "-"], videoJob("on-nvidia", 1, { gpu: { policy: "require", vendor: "nvidia" } }));
      await kubectl(
        ["apply", "-f", "-"],
        videoJob("on-intel", 1, { codec: "hevc", gpu: { policy: "require", vendor: "intel" } }),
      );
      await kubectl(["apply", "-f", "-"], videoJob("on-cpu", 1, { gpu: { policy: "off" } }));
      // nvidia-1 is an H100: it decodes on the GPU but has no NVENC, so only nvidia-2 (L4) qualifies.
      expect((await boundPod("on-nvidia", 0)).spec.nodeName).toBe("nvidia-2");
      expect((await boundPod("on-intel", 0)).spec.nodeName).toBe("intel-1");
      expect(["cpu-1", "cpu-2"]).toContain((await boundPod("on-cpu", 0)).spec.nodeName);
      // Deleted, they free the GPUs they hold (the finalizer removes their Jobs, whose pods go too).
      await kubectl([
        "-n",
        "media",
        "delete",
        "videojob",
        "on-nvidia",
        "on-intel",
        "on-cpu",
        "--wait=true",
        "--timeout=30s",
      ]);
      await until("their pods gone", async () => (await podsOf("on-nvidia", 0)).length === 0);
    });

    it("retries a failing episode with backoff, then marks it failed while the other finishes and is merged", async () => {
      await kubectl(["apply", "-f", "-"], videoJob("flaky", 2, { gpu: { policy: "off" } }));
      await exitPod(await boundPod("flaky", 0), 0, ok(0));
      const first = await boundPod("flaky", 1);
      await exitPod(first, 1, err(1, "REEL_SOURCE_UNREACHABLE"));
      // The Job controller makes a second pod after its backoff (backoffLimit 1).
      const second = await boundPod("flaky", 1, first.metadata.name);
      await exitPod(second, 1, err(1, "REEL_SOURCE_UNREACHABLE"));
      const v = await until(
        "episode 2 failed and the merge started",
        async () => {
          const x = await vjOf("flaky");
          return x.status?.phase === "Merging" ? x : undefined;
        },
        60_000,
      );
      expect(v.status?.episodes?.[0]).toMatchObject({ phase: "Completed", encoder: "libx264" });
      expect(v.status?.episodes?.[1]).toMatchObject({
        phase: "Failed",
        attempts: 2,
        error: { code: "REEL_SOURCE_UNREACHABLE" },
      });
    }, 90_000);

    it("fails bad input at once: no second pod", async () => {
      await kubectl(["apply", "-f", "-"], videoJob("bad-input", 1, { gpu: { policy: "off" } }));
      await exitPod(await boundPod("bad-input", 0), 2, err(0, "REEL_SOURCE_NOT_FOUND"));
      const v = await until("Failed", async () => {
        const x = await vjOf("bad-input");
        return x.status?.phase === "Failed" ? x : undefined;
      });
      expect(v.status?.episodes?.[0]?.error?.code).toBe("REEL_SOURCE_NOT_FOUND");
      await new Promise((r) => setTimeout(r, 2000));
      expect(await podsOf("bad-input", 0)).toHaveLength(1);
    });

    it("retries an episode whose GPU encoder failed on another node, here the CPU (gpu.policy auto)", async () => {
      await kubectl(["apply", "-f", "-"], videoJob("enc-fail", 1, { gpu: { policy: "auto", vendor: "nvidia" } }));
      const gpuPod = await boundPod("enc-fail", 0);
      expect(gpuPod.spec.nodeName).toBe("nvidia-2");
      await exitPod(gpuPod, 3, err(0, "REEL_ENCODER_FAILED"));
      const retry = await boundPod("enc-fail", 0, gpuPod.metadata.name);
      expect(retry.metadata.labels["reel.dev/attempt"]).toBe("1");
      expect(["cpu-1", "cpu-2"]).toContain(retry.spec.nodeName);
      await exitPod(retry, 0, ok(0));
      await until("Merging", async () => (await vjOf("enc-fail")).status?.phase === "Merging");
    }, 90_000);

    it("runs a split episode's Indexed Job through the real Job controller: a pod per segment, then the merge", async () => {
      await kubectl(["apply", "-f", "-"], videoJob("split-1", 2, { gpu: { policy: "off" } }));
      await exitPod(await boundPod("split-1", 1), 0, ok(1));
      await exitPod(await boundPod("split-1", 0), 0, {
        mode: "episode",
        index: 0,
        phase: "Completed",
        split: { segments: 3 },
        durationSecs: 3600,
      });
      const segmentPods = await until(
        "three bound segment pods",
        async () => {
          const pods = (await podsOf("split-1", 0)).filter(
            (p) => p.metadata.labels["reel.dev/role"] === "segment" && p.spec.nodeName,
          );
          return pods.length === 3 ? pods : undefined;
        },
        60_000,
      );
      // The Job controller numbers the pods and hands each its index (JOB_COMPLETION_INDEX).
      const indexes = segmentPods.map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"]);
      expect(indexes.sort()).toEqual(["0", "1", "2"]);
      expect(segmentPods[0]?.spec.containers?.[0]?.env?.map((e) => e.name)).toContain("JOB_COMPLETION_INDEX");
      const during = await until("episode 1 transcoding in segments", async () => {
        const x = await vjOf("split-1");
        return x.status?.episodes?.[0]?.segments ? x : undefined;
      });
      expect(during.status?.episodes?.[0]).toMatchObject({
        phase: "Transcoding",
        segments: { total: 3, completed: 0 },
      });
      for (const p of segmentPods) {
        const k = Number(p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"]);
        await exitPod(p, 0, {
          mode: "segment",
          index: 0,
          segment: k,
          phase: "Completed",
          encoder: "libx264",
          frames: 100,
        });
      }
      const v = await until(
        "Merging",
        async () => {
          const x = await vjOf("split-1");
          return x.status?.phase === "Merging" ? x : undefined;
        },
        60_000,
      );
      expect(v.status?.episodes?.[0]).toMatchObject({ phase: "Completed", segments: { total: 3, completed: 3 } });
      const merge = JSON.parse(await kubectl(["-n", "media", "get", "job", "split-1-merge", "-o", "json"])) as {
        spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
      };
      const list = merge.spec.template.spec.containers[0]?.env.find((e) => e.name === "REEL_MERGE_EPISODES")?.value;
      expect(JSON.parse(list ?? "[]")).toEqual([
        { index: 0, title: "Episode 1", segments: 3 },
        { index: 1, title: "Episode 2" },
      ]);
    }, 120_000);

    it("fails a split episode at once when one segment is bad input", async () => {
      await kubectl(["apply", "-f", "-"], videoJob("split-bad", 1, { gpu: { policy: "off" } }));
      await exitPod(await boundPod("split-bad", 0), 0, {
        mode: "episode",
        index: 0,
        phase: "Completed",
        split: { segments: 2 },
      });
      const seg = await until("a bound segment pod", async () =>
        (await podsOf("split-bad", 0)).find((p) => p.metadata.labels["reel.dev/role"] === "segment" && p.spec.nodeName),
      );
      await exitPod(seg, 2, {
        mode: "segment",
        index: 0,
        segment: 0,
        phase: "Failed",
        error: { code: "REEL_MEDIA_INVALID", message: "bad piece" },
      });
      const v = await until("Failed", async () => {
        const x = await vjOf("split-bad");
        return x.status?.phase === "Failed" ? x : undefined;
      });
      expect(v.status?.episodes?.[0]).toMatchObject({ phase: "Failed", error: { code: "REEL_MEDIA_INVALID" } });
    }, 90_000);

    it("reschedules the episode of a node that is removed mid-job", async () => {
      await kubectl(["apply", "-f", "-"], videoJob("node-loss", 1, { gpu: { policy: "off" } }));
      const pod = await boundPod("node-loss", 0);
      const lost = pod.spec.nodeName ?? "";
      await kubectl(["delete", "node", lost, "--wait=false"]);
      try {
        // The pod GC removes pods bound to a node that is gone; the Job controller replaces them.
        const again = await until(
          "a replacement pod on another node",
          async () =>
            (await podsOf("node-loss", 0)).find((p) => p.metadata.name !== pod.metadata.name && p.spec.nodeName),
          120_000,
        );
        expect(again.spec.nodeName).not.toBe(lost);
      } finally {
        await kubectl(["apply", "-f", join(import.meta.dirname, "..", "..", "e2e", "cluster", "nodes.yaml")]);
      }
    }, 150_000);
  },
);
