// The shapes the shim answers with, from the one REST contract (crds/src/contract/rest.ts), read
// leniently: the `z.input` side, where a field the shim fills with a default may be absent (an
// older shim, the fake one). Only what the CLI shows is looked at; --json passes the rest through.
import type {
  Job as JobShape,
  JobEvent as JobEventShape,
  JobSummaryList as JobSummaryListShape,
  VideoJobStatus,
} from "@reel/crds";
import type { z } from "zod";

export type { Me } from "@reel/crds";
export type Job = z.input<typeof JobShape>;
/** A page of `GET /api/v1/jobs`: summaries, the shim's default view. */
export type JobList = z.input<typeof JobSummaryListShape>;
export type JobEvent = z.input<typeof JobEventShape>;

export type Phase = NonNullable<VideoJobStatus["phase"]>;

export const FINAL_PHASES: ReadonlySet<string> = new Set<Phase>(["Completed", "Failed", "Cancelled"]);
