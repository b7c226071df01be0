import { parseVideoJob } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { installationEnv } from "./installation-env.ts";
import { type OperatorSettings, planEpisodeJobs, planMergeJob, SPEC_HASH } from "./jobs.ts";

const KEY = "arn:aws:kms:eu-west-1:111122223333:key/k";

describe("installationEnv", () => {
  it.each([
    ["nothing set", undefined, "episode", []],
    ["nothing set", {}, "merge", []],
    [
      "an OTLP endpoint, segment pod (its spans go where the operator's go)",
      { otlpEndpoint: "http://otel-collector.observability:4318" },
      "segment",
      [{ name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: "http://otel-collector.observability:4318" }],
    ],
    [
      "an OTLP traces endpoint",
      { otlpTracesEndpoint: "https://otel.example.com/v1/traces" },
      "episode",
      [{ name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value: "https://otel.example.com/v1/traces" }],
    ],
    ["AES256, episode pod", { sse: "AES256" as const }, "episode", [{ name: "REEL_S3_SSE", value: "AES256" }]],
    [
      "aws:kms with a key, episode pod (writes staging)",
      { sse: "aws:kms" as const, kmsKeyId: KEY, publicBaseUrl: "https://cdn.example.com" },
      "episode",
      [
        { name: "REEL_S3_SSE", value: "aws:kms" },
        { name: "REEL_S3_SSE_KMS_KEY_ID", value: KEY },
      ],
    ],
    [
      "aws:kms with a key and a public base URL, merge pod (writes and reports outputs)",
      { sse: "aws:kms" as const, kmsKeyId: KEY, publicBaseUrl: "https://cdn.example.com" },
      "merge",
      [
        { name: "REEL_S3_SSE", value: "aws:kms" },
        { name: "REEL_S3_SSE_KMS_KEY_ID", value: KEY },
        { name: "REEL_OUTPUT_PUBLIC_BASE_URL", value: "https://cdn.example.com" },
      ],
    ],
    [
      "public base URL only, merge pod",
      { publicBaseUrl: "https://cdn.example.com/v" },
      "merge",
      [{ name: "REEL_OUTPUT_PUBLIC_BASE_URL", value: "https://cdn.example.com/v" }],
    ],
    [
      "a storage class, merge pod (stores the outputs)",
      { sse: "AES256" as const, storageClass: "STANDARD_IA" },
      "merge",
      [
        { name: "REEL_S3_SSE", value: "AES256" },
        { name: "REEL_S3_STORAGE_CLASS", value: "STANDARD_IA" },
      ],
    ],
    [
      "a storage class, episode pod (writes staging only: keeps the bucket's default)",
      { storageClass: "STANDARD_IA" },
      "episode",
      [],
    ],
  ])("%s (%j, %s)", (_, s, role, want) => {
    expect(installationEnv(s, role)).toEqual(want);
  });
});

describe("the planned pods carry the installation's settings", () => {
  const base: OperatorSettings = {
    image: "ghcr.io/reel/worker:0.1.0",
    backoffLimit: 3,
    activeDeadlineSeconds: 21_600,
    ttlSecondsAfterFinished: 3600,
    egressAllow: [],
  };
  const vj = parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "season-1", namespace: "media", uid: "uid-1", generation: 1 },
    spec: {
      episodes: [{ url: "https://cdn.example.com/1.mp4" }],
      gpu: { policy: "off" },
      output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
    },
  });
  type Env = { name: string; value?: string }[];
  const envOf = (job: unknown) =>
    Object.fromEntries(
      (
        (job as { spec: { template: { spec: { containers: { env: Env }[] } } } }).spec.template.spec.containers[0]
          ?.env ?? []
      ).map((e) => [e.name, e.value]),
    );
  const installation = { sse: "aws:kms" as const, kmsKeyId: KEY, publicBaseUrl: "https://cdn.example.com" };

  it("episode and merge pods get SSE; only the merge pod gets the public base URL", () => {
    const s = { ...base, installation };
    const episode = envOf(planEpisodeJobs(vj, [], new Map(), s)[0]?.job);
    const merge = envOf(planMergeJob(vj, [{ index: 0, title: "Episode 1" }], s));
    expect(episode).toMatchObject({ REEL_S3_SSE: "aws:kms", REEL_S3_SSE_KMS_KEY_ID: KEY });
    expect(episode.REEL_OUTPUT_PUBLIC_BASE_URL).toBeUndefined();
    expect(merge).toMatchObject({
      REEL_S3_SSE: "aws:kms",
      REEL_S3_SSE_KMS_KEY_ID: KEY,
      REEL_OUTPUT_PUBLIC_BASE_URL: "https://cdn.example.com",
    });
  });

  it("only the merge pod gets the outputs' storage class; episode pods write staging with the bucket's default", () => {
    const s = { ...base, installation: { storageClass: "STANDARD_IA" } };
    const episode = envOf(planEpisodeJobs(vj, [], new Map(), s)[0]?.job);
    const merge = envOf(planMergeJob(vj, [{ index: 0, title: "Episode 1" }], s));
    expect(episode.REEL_S3_STORAGE_CLASS).toBeUndefined();
    expect(merge.REEL_S3_STORAGE_CLASS).toBe("STANDARD_IA");
  });

  it("changes nothing (not even the spec hash) when no setting is made", () => {
    const hash = (s: OperatorSettings) =>
      planEpisodeJobs(vj, [], new Map(), s)[0]?.job?.metadata.annotations[SPEC_HASH];
    expect(hash({ ...base, installation: {} })).toBe(hash(base));
    expect(hash({ ...base, installation })).not.toBe(hash(base));
  });
});
