import { describe, expect, it } from "vitest";
import { measureWindows } from "./stages-real.ts";

describe("measureWindows", () => {
  it("compares short episodes whole", () => {
    expect(measureWindows(12)).toBeUndefined();
    expect(measureWindows(20)).toBeUndefined();
  });

  it.each([
    [60, 4],
    [600, 10],
    [3600, 30],
    [36_000, 30],
  ])("samples a %ss episode with %i windows of 2 s inside it", (duration, count) => {
    const w = measureWindows(duration) ?? [];
    expect(w).toHaveLength(count);
    for (const x of w) {
      expect(x.duration).toBe(2);
      expect(x.start).toBeGreaterThanOrEqual(0);
      expect(x.start + x.duration).toBeLessThanOrEqual(duration);
    }
  });
});
