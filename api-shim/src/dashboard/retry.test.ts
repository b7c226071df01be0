// The dashboard's retry button shows exactly when the shim takes a retry: public/format.js canRetry
// against the shim's own rule (jobs/retry.ts retryRefusal), over the same statuses.
import { describe, expect, it } from "vitest";
import { canRetry } from "../../public/format.js";
import { retryRefusal } from "../jobs/retry.ts";

const ep = (index: number, phase: "Completed" | "Failed") => ({ index, phase, progress: 100, attempts: 1 });
const statuses = [
  undefined,
  { phase: "Pending" as const },
  { phase: "Processing" as const, episodes: [ep(0, "Failed")] },
  { phase: "Failed" as const, episodes: [ep(0, "Failed")] },
  { phase: "Failed" as const },
  { phase: "Completed" as const, episodes: [ep(0, "Completed"), ep(1, "Failed")] },
  { phase: "Completed" as const, episodes: [ep(0, "Completed")] },
  { phase: "Cancelled" as const, episodes: [ep(0, "Failed")] },
];

describe("canRetry", () => {
  it.each(statuses.map((s) => [JSON.stringify(s), s]))("%s: as the shim decides", (_, s) => {
    expect(canRetry(s)).toBe(retryRefusal(s) === undefined);
  });

  it("offers a retry for a failed job and a completed one with a failed episode only", () => {
    expect(statuses.filter((s) => canRetry(s)).length).toBe(3);
  });
});
