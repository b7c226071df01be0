// What a worker pod may use: CPU and memory requests, a memory limit, and its /scratch (an emptyDir
// with a sizeLimit, and the ephemeral-storage request and limit that cover it), so one tenant's
// job is evicted alone instead of pressing a node and evicting other tenants' pods.
//
// Scratch holds a source and what is made from it (the encode, or the cut segments): twice the
// source plus SCRATCH_ROOM. The episode pod cannot know its source's size before it runs: it gets
// room for a source at the installation's byte cap (REEL_MAX_SOURCE_BYTES, which the worker
// enforces), or REEL_WORKER_SCRATCH_LIMIT when the chart sets one. A split episode's segment pods
// and the merge pod are sized from what the episode pods reported (status.episodes[].bytesDownloaded,
// bytesOutput), and never above the episode pod's size.

/** The worker's default per-source byte cap (worker-image/src/config.ts): 50 GiB. */
export const DEFAULT_MAX_SOURCE_BYTES = 50 * 2 ** 30;
/** Beyond the source and its encode: the probe's and muxer's temp files, progress, logs. */
export const SCRATCH_ROOM = 2 * 2 ** 30;
/** Container logs and the like beside the emptyDir, in the container's ephemeral-storage limit. */
const LOG_ROOM = 2 ** 30;
/** Segments are cut at keyframes: one may be this many times the even share of the source. */
const SEGMENT_SLACK = 2;

export interface WorkerResources {
  cpuRequest: string;
  memoryRequest: string;
  memoryLimit: string;
  /** Ephemeral storage an episode pod requests (what the scheduler reserves), in bytes. */
  scratchRequestBytes: number;
  /** The episode pod's scratch size; 2 × the byte cap + SCRATCH_ROOM when unset. */
  scratchLimitBytes?: number;
}

export const DEFAULT_RESOURCES: WorkerResources = {
  cpuRequest: "1",
  memoryRequest: "1Gi",
  memoryLimit: "8Gi",
  scratchRequestBytes: 10 * 2 ** 30,
};

/** Scratch for a source of `bytes`: the source, what is made from it, and room. */
export function scratchFor(bytes: number): number {
  return 2 * bytes + SCRATCH_ROOM;
}

/** The episode pod's scratch: a source at the byte cap, unless the installation sets the size. */
export function episodeScratch(r: WorkerResources, maxSourceBytes: number): number {
  return r.scratchLimitBytes ?? scratchFor(maxSourceBytes);
}

export type ScratchBasis =
  | { role: "episode" }
  /** The episode's downloaded bytes, when reported, shared by its segments. */
  | { role: "segment"; bytesDownloaded?: number; segments: number }
  /** The encoded bytes of each merged episode, when all are reported. */
  | { role: "merge"; bytesOutput: Array<number | undefined> };

/** The scratch size (bytes) of a pod: from what is known about its input, at most the episode pod's. */
export function scratchLimit(basis: ScratchBasis, r: WorkerResources, maxSourceBytes: number): number {
  const ceiling = episodeScratch(r, maxSourceBytes);
  if (basis.role === "segment" && basis.bytesDownloaded !== undefined && basis.segments > 0) {
    return Math.min(ceiling, scratchFor(Math.ceil((basis.bytesDownloaded / basis.segments) * SEGMENT_SLACK)));
  }
  if (basis.role === "merge" && basis.bytesOutput.length && basis.bytesOutput.every((b) => b !== undefined)) {
    // The merge fetches every encoded episode and writes the joined file: the sum, twice.
    const sum = basis.bytesOutput.reduce<number>((a, b) => a + (b ?? 0), 0);
    return Math.min(ceiling, scratchFor(sum));
  }
  return ceiling;
}

/** The container's resources and the scratch volume for a pod with `scratchBytes` of scratch. */
export function podResources(r: WorkerResources, scratchBytes: number, extraLimits: Record<string, string> = {}) {
  return {
    resources: {
      requests: {
        cpu: r.cpuRequest,
        memory: r.memoryRequest,
        "ephemeral-storage": quantity(Math.min(r.scratchRequestBytes, scratchBytes)),
      },
      limits: {
        memory: r.memoryLimit,
        // The emptyDir counts towards the pod's ephemeral storage: its size plus the logs.
        "ephemeral-storage": quantity(scratchBytes + LOG_ROOM),
        ...extraLimits,
      },
    },
    scratch: { name: "scratch", emptyDir: { sizeLimit: quantity(scratchBytes) } },
  };
}

/** Bytes as a Kubernetes quantity, rounded up to whole MiB ("10Gi", "1536Mi"). */
export function quantity(bytes: number): string {
  const mib = Math.ceil(bytes / 2 ** 20);
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}

/** A byte quantity in bytes (defined once in @reel/crds, which the shim reads its sizes with too). */
export { parseBytes } from "@reel/crds";
