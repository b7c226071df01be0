// The installation's output settings (the chart's s3.serverSideEncryption/kmsKeyId and
// outputs.publicBaseUrl, parsed once in config.ts) as the worker pods' environment. SSE goes to
// every pod: episode pods write staged episodes and records, the merge pod the outputs. The public
// base URL and the outputs' S3 storage class only to the merge pod, the one that stores outputs and
// reports their URLs (staging keeps the bucket's default: crds contract/storage-class.ts). Nothing is added when a setting
// is unset, so the planned Jobs (and their spec hashes) of an installation without them do not change.
// The OTLP endpoint (tracing) and the per-source byte cap go to every pod too.
import { type OutputSettings, storageClassEnv } from "@reel/crds";

export type InstallationSettings = OutputSettings & {
  /** The operator's OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, passed on to every pod. */
  otlpEndpoint?: string;
  otlpTracesEndpoint?: string;
  /** The per-source byte cap the worker enforces (REEL_MAX_SOURCE_BYTES); scratch is sized for it. */
  maxSourceBytes?: number;
};

export function installationEnv(
  s: InstallationSettings | undefined,
  /** The pod's REEL_MODE; only "merge" reports output URLs. */
  role: string,
): Array<{ name: string; value: string }> {
  if (!s) return [];
  return [
    ...(s.sse ? [{ name: "REEL_S3_SSE", value: s.sse }] : []),
    ...(s.sse === "aws:kms" && s.kmsKeyId ? [{ name: "REEL_S3_SSE_KMS_KEY_ID", value: s.kmsKeyId }] : []),
    ...(role === "merge" && s.publicBaseUrl ? [{ name: "REEL_OUTPUT_PUBLIC_BASE_URL", value: s.publicBaseUrl }] : []),
    ...(role === "merge" ? storageClassEnv(s.storageClass) : []),
    // Traces: the pods export their spans (parent TRACEPARENT) where the operator exports its own.
    ...(s.otlpTracesEndpoint ? [{ name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value: s.otlpTracesEndpoint }] : []),
    ...(s.otlpEndpoint ? [{ name: "OTEL_EXPORTER_OTLP_ENDPOINT", value: s.otlpEndpoint }] : []),
    // Last, so the env before it keeps its order: the pods enforce the cap their scratch was sized for.
    ...(s.maxSourceBytes !== undefined ? [{ name: "REEL_MAX_SOURCE_BYTES", value: String(s.maxSourceBytes) }] : []),
  ];
}
