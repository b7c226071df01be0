// Where an episode's pod may run, from the job's GPU policy, its codec and what the nodes are
// known to do. Pure: the reconciler passes what it observed (capability labels written by the
// node-probe DaemonSet after a real test encode on each node, and the nodes that already failed).
//
// Data-centre NVIDIA GPUs (A100/H100/H200) have NVDEC but no NVENC: their nodes carry
// `reel.dev/decoder.cuda=true` but `reel.dev/encoder.h264_nvenc=false`, so an encode is only
// sent to a node whose label says that encoder really worked there.
import type { VideoJobSpec } from "@reel/crds";

export type Vendor = "nvidia" | "amd" | "intel" | "apple";
type Codec = VideoJobSpec["codec"];

export const VENDOR_LABEL = "reel.dev/gpu-vendor";
export const encoderLabel = (encoder: string) => `reel.dev/encoder.${encoder}`;

/** The extended resource each vendor's device plugin advertises. */
export const GPU_RESOURCE: Record<Exclude<Vendor, "apple">, string> = {
  nvidia: "nvidia.com/gpu",
  amd: "amd.com/gpu",
  intel: "gpu.intel.com/i915",
};

/** GPU encoders per vendor and codec, in order of preference. */
export const GPU_ENCODERS: Record<Exclude<Vendor, "apple">, Record<Codec, string[]>> = {
  nvidia: { h264: ["h264_nvenc"], hevc: ["hevc_nvenc"], av1: ["av1_nvenc"] },
  intel: { h264: ["h264_qsv", "h264_vaapi"], hevc: ["hevc_qsv", "hevc_vaapi"], av1: ["av1_qsv", "av1_vaapi"] },
  amd: { h264: ["h264_vaapi"], hevc: ["hevc_vaapi"], av1: ["av1_vaapi"] },
};

export const CPU_ENCODERS: Record<Codec, string> = { h264: "libx264", hevc: "libx265", av1: "libsvtav1" };

export interface ObservedNode {
  name: string;
  labels: Record<string, string>;
  unschedulable?: boolean;
}

export interface PlacementInput {
  gpu: VideoJobSpec["gpu"];
  codec: Codec;
  nodes: ObservedNode[];
  /** Nodes where this episode's encoder already failed: never again (anti-affinity). */
  failedNodes: string[];
  /** The GPU attempt failed everywhere it could run; CPU is next when the policy allows. */
  gpuExhausted?: boolean;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface Placement {
  kind: "gpu" | "cpu";
  vendor?: Exclude<Vendor, "apple">;
  /** The encoder the pod is expected to use (the worker still probes and may fall back). */
  encoder: string;
  /** One nodeSelectorTerm: every requirement must hold. */
  required: NodeSelectorRequirement[];
  /** Preferred terms (weight 100): keep CPU work off GPU nodes when CPU nodes exist. */
  preferred: NodeSelectorRequirement[];
  tolerations: { key: string; operator: "Exists"; effect: "NoSchedule" }[];
  limits: Record<string, string>;
  /** Why this placement, in words for a Kubernetes Event. */
  reason: string;
}

export type PlacementResult = { ok: true; placement: Placement } | { ok: false; code: string; message: string };

const HOSTNAME = "kubernetes.io/hostname";

function capableVendors(input: PlacementInput): { vendor: Exclude<Vendor, "apple">; encoder: string }[] {
  const out: { vendor: Exclude<Vendor, "apple">; encoder: string }[] = [];
  const vendors = input.gpu.vendor ? [input.gpu.vendor] : (["nvidia", "intel", "amd"] as const);
  for (const v of vendors) {
    if (v === "apple") continue; // no Kubernetes device plugin schedules Apple GPUs
    for (const enc of GPU_ENCODERS[v][input.codec]) {
      const usable = input.nodes.some(
        (n) =>
          !n.unschedulable &&
          n.labels[VENDOR_LABEL] === v &&
          n.labels[encoderLabel(enc)] === "true" &&
          !input.failedNodes.includes(n.name),
      );
      if (usable) out.push({ vendor: v, encoder: enc });
    }
  }
  return out;
}

function avoidFailed(failed: string[]): NodeSelectorRequirement[] {
  return failed.length ? [{ key: HOSTNAME, operator: "NotIn", values: [...failed].sort() }] : [];
}

function cpu(input: PlacementInput, reason: string): Placement {
  const encoder = CPU_ENCODERS[input.codec];
  return {
    kind: "cpu",
    encoder,
    required: [...avoidFailed(input.failedNodes)],
    // GPU nodes are scarce: CPU work goes elsewhere when it can.
    preferred: [{ key: VENDOR_LABEL, operator: "DoesNotExist" }],
    tolerations: [],
    limits: {},
    reason,
  };
}

export function placeEpisode(input: PlacementInput): PlacementResult {
  const { policy, vendor } = input.gpu;
  if (policy === "off") return { ok: true, placement: cpu(input, "gpu.policy is off: encoding on CPU") };
  if (vendor === "apple") {
    return policy === "require"
      ? {
          ok: false,
          code: "REEL_ENCODER_UNAVAILABLE",
          message: "Apple GPUs cannot be scheduled by Kubernetes; use reel run on the Mac, or gpu.policy auto",
        }
      : { ok: true, placement: cpu(input, "Apple GPUs are not schedulable in a cluster: encoding on CPU") };
  }
  const capable = input.gpuExhausted ? [] : capableVendors(input);
  const first = capable[0];
  if (!first) {
    const what = `${vendor ?? "any vendor"} GPU node with a working ${input.codec} encoder`;
    const why = input.failedNodes.length ? `no ${what} left (failed on ${input.failedNodes.join(", ")})` : `no ${what}`;
    if (policy === "require")
      return { ok: false, code: "REEL_ENCODER_UNAVAILABLE", message: `${why}; gpu.policy is require` };
    return { ok: true, placement: cpu(input, `${why}: falling back to CPU (gpu.policy auto)`) };
  }
  const placement: Placement = {
    kind: "gpu",
    vendor: first.vendor,
    encoder: first.encoder,
    required: [
      { key: VENDOR_LABEL, operator: "In", values: [first.vendor] },
      { key: encoderLabel(first.encoder), operator: "In", values: ["true"] },
      ...avoidFailed(input.failedNodes),
    ],
    preferred: [],
    tolerations: [{ key: GPU_RESOURCE[first.vendor], operator: "Exists", effect: "NoSchedule" }],
    limits: { [GPU_RESOURCE[first.vendor]]: "1" },
    reason: input.failedNodes.length
      ? `retrying on another ${first.vendor} node with ${first.encoder} (not ${input.failedNodes.join(", ")})`
      : `scheduling onto a ${first.vendor} node whose ${first.encoder} passed a test encode`,
  };
  return { ok: true, placement };
}
