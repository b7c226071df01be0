import { describe, expect, it } from "vitest";
import { retryName, retryRefusal } from "./retry.ts";

const ep = (index: number, phase: "Completed" | "Failed") => ({ index, phase, progress: 100, attempts: 1 });

describe("retryRefusal", () => {
  it("takes a failed job and a completed one with a failed episode", () => {
    expect(retryRefusal({ phase: "Failed", episodes: [ep(0, "Failed")] })).toBeUndefined();
    expect(retryRefusal({ phase: "Completed", episodes: [ep(0, "Completed"), ep(1, "Failed")] })).toBeUndefined();
  });

  it("refuses a job still running, a cancelled one and one with nothing failed, saying why", () => {
    expect(retryRefusal({ phase: "Processing" })).toMatch(/Processing; retry it once it has finished/);
    expect(retryRefusal(undefined)).toMatch(/Pending/);
    expect(retryRefusal({ phase: "Cancelled" })).toMatch(/cancelled/);
    expect(retryRefusal({ phase: "Completed", episodes: [ep(0, "Completed")] })).toMatch(/nothing to retry/);
  });
});

describe("retryName", () => {
  it("numbers retries from the original name, after the highest taken", () => {
    expect(retryName("season", [])).toBe("season-r1");
    expect(retryName("season", ["season-r1", "season-r3", "other-r9", "season-x-r7"])).toBe("season-r4");
    expect(retryName("season-r1", ["season-r1"])).toBe("season-r2");
  });

  it("answers nothing when the name would pass 63 characters", () => {
    expect(retryName("a".repeat(61), [])).toBeUndefined();
    expect(retryName("a".repeat(60), [])).toBe(`${"a".repeat(60)}-r1`);
  });
});
