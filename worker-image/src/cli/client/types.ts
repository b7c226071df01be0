// The shapes the shim answers with (api-shim/API.md is the contract). Only what the CLI reads is
// typed; everything else is passed through to --json untouched.
import type { VideoJobSpecInput, VideoJobStatus } from "@reel/crds";

export type Phase = NonNullable<VideoJobStatus["phase"]>;

export const FINAL_PHASES: ReadonlySet<string> = new Set<Phase>(["Completed", "Failed", "Cancelled"]);

export interface Job {
  id: string;
  namespace: string;
  createdAt: string;
  spec: VideoJobSpecInput;
  status?: VideoJobStatus;
  tags: string[];
  traceId?: string;
}

export interface JobList {
  items: Job[];
  next?: string;
}

export interface JobEvent {
  /** The shim's event id, `"<resourceVersion>-<seq>"` (api-shim/API.md); sent back as Last-Event-ID as it is. */
  id: string;
  type: "phase" | "progress" | "status" | "deleted";
  job: string;
  at: string;
  phase?: Phase;
  progress?: number;
  /** `phase`: the worker's; with stage "done" it says how the attempt ended (Completed, Failed, Cancelled). */
  episode?: { index: number; stage: string; progress: number; phase?: string };
  status?: VideoJobStatus;
}

export interface Me {
  id: string;
  name: string;
  role: string;
  tenant: string;
  namespace: string;
}
