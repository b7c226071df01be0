// What the reconciler observed of a VideoJob's children, in the few fields it reads.
import type { EpisodeStatus, ProgressPhase } from "@reel/crds";
import type { ObservedNode } from "../scheduling/gpu.ts";

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface ObservedJob {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    creationTimestamp?: string;
  };
  spec?: { suspend?: boolean; completions?: number };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    ready?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: JobCondition[];
  };
}

export interface ObservedPod {
  metadata: { name: string; labels?: Record<string, string>; creationTimestamp?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    containerStatuses?: Array<{
      name: string;
      state?: { terminated?: { exitCode: number; reason?: string; message?: string } };
    }>;
  };
}

/** A pod's latest progress message, as read (crds/src/contract/progress.ts). */
export interface PodProgress {
  stage: string;
  /** 0..1 of the stage. */
  fraction: number;
  /** 0..100 of the pod's work, from the contract's stage table. */
  percent: number;
  phase: ProgressPhase;
}

/** The latest progress of each episode pod, and of the merge pod under "merge". */
export type LiveProgress = Map<number | "merge", PodProgress>;

export interface Observed {
  jobs: ObservedJob[];
  pods: ObservedPod[];
  nodes: ObservedNode[];
  /** Episode Jobs of other VideoJobs running in the same namespace (for the per-namespace cap). */
  namespaceActive: number;
  /** Fine progress from Redis, when the workers publish it. */
  progress?: LiveProgress;
  /** Episodes without a Job whose finished work was just copied from another VideoJob (reuse/reuse.ts). */
  reused?: Map<number, EpisodeStatus>;
}

export const jobDone = (j: ObservedJob) =>
  j.status?.conditions?.some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True") ?? false;

export const jobCondition = (j: ObservedJob, type: string) =>
  j.status?.conditions?.find((c) => c.type === type && c.status === "True");
