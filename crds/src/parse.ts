// Validates a VideoJob manifest the way the API server would (schema + the cross-field rules),
// for `reel run` and the REST shim, with messages that name the field.
import type { z } from "zod";
import { ReelError } from "./errors.ts";
import { rules } from "./rules.ts";
import { VideoJob } from "./schema.ts";

export class VideoJobInvalidError extends ReelError {
  readonly issues: string[];
  constructor(issues: string[]) {
    super("REEL_JOB_INVALID", `invalid VideoJob:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "VideoJobInvalidError";
    this.issues = issues;
  }
}

function describe(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.join(".") : "(root)";
  return `${path}: ${issue.message}`;
}

export function parseVideoJob(input: unknown): VideoJob {
  const parsed = VideoJob.safeParse(input);
  if (!parsed.success) throw new VideoJobInvalidError(parsed.error.issues.map(describe));
  const broken = rules.filter((r) => r.check && !r.check(parsed.data.spec));
  if (broken.length) {
    throw new VideoJobInvalidError(broken.map((r) => `spec${r.at.map((p) => `.${p}`).join("")}: ${r.message}`));
  }
  return parsed.data;
}
