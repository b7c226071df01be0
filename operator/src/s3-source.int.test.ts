// s3:// episodes on a real kube-apiserver (L2): the CRD takes them (and refuses a bucket without a
// key), and the operator's episode Job carries the source's keys by Secret reference only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, k8sBinariesBuilt } from "../../e2e/cluster/cluster.ts";
import { until } from "../../e2e/src/until.ts";
import type { RunningOperator } from "./main.ts";
import { controlPlaneUp, startReadyOperator } from "./testing/control-plane.ts";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}
interface Job {
  metadata: { name: string };
  spec: { template: { spec: { containers: { env: EnvVar[] }[] } } };
}

function videoJob(name: string, url: string) {
  return JSON.stringify({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name, namespace: "media" },
    spec: {
      episodes: [{ url, title: "From S3", s3: { credentialsSecret: "media-keys" } }],
      sources: { s3: { endpoint: "http://minio.storage:9000", region: "eu-1" } },
      gpu: { policy: "off" },
      output: { s3: { bucket: "videos", prefix: `${name}/`, credentialsSecret: "s3-creds" } },
    },
  });
}

describe.skipIf(!k8sBinariesBuilt())("s3:// episodes on a real kube-apiserver (L2)", () => {
  let cluster: Cluster;
  let op: RunningOperator;
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, input);

  beforeAll(async () => {
    cluster = await controlPlaneUp({ level: 2, namespaces: ["media", "reel-system"] });
    op = await startReadyOperator({ REEL_LEASE_SECONDS: "3", REEL_RESYNC_SECONDS: "3600", POD_NAME: "op-s3" });
  }, 120_000);

  afterAll(async () => {
    await op?.stop();
    await cluster?.down();
  });

  it("plans the episode's Job with its own Secret as REEL_SOURCE_AWS_* references, no values", async () => {
    await kubectl(["apply", "-f", "-"], videoJob("from-s3", "s3://media/season 1/ep1.mp4"));
    const job = await until("the episode Job", async () => {
      const text = await kubectl(["-n", "media", "get", "job", "from-s3-ep0", "-o", "json"]).catch(() => "");
      return text ? (JSON.parse(text) as Job) : undefined;
    });
    const env = job.spec.template.spec.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === "REEL_EPISODE_URL")?.value).toBe("s3://media/season 1/ep1.mp4");
    const refs = env.filter((e) => e.valueFrom).map((e) => `${e.name}=${e.valueFrom?.secretKeyRef.name}`);
    expect(refs).toEqual(
      expect.arrayContaining([
        "AWS_ACCESS_KEY_ID=s3-creds",
        "AWS_SECRET_ACCESS_KEY=s3-creds",
        "REEL_SOURCE_AWS_ACCESS_KEY_ID=media-keys",
        "REEL_SOURCE_AWS_SECRET_ACCESS_KEY=media-keys",
      ]),
    );
    expect(env.filter((e) => e.name.includes("AWS_")).every((e) => e.value === undefined)).toBe(true);
  });

  it("refuses an s3 URL without a key at the apiserver", async () => {
    await expect(kubectl(["apply", "-f", "-"], videoJob("no-key", "s3://media"))).rejects.toThrow(/s3:/);
  });
});
