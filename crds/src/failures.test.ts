import { describe, expect, it } from "vitest";
import { failedEpisodesSummary } from "./failures.ts";

const failed = (n: number, code = (i: number): string => (i % 3 ? "REEL_SOURCE_NOT_FOUND" : "REEL_MEDIA_INVALID")) =>
  Array.from({ length: n }, (_, i) => ({ index: i, title: `Episode ${i + 1}`, error: { code: code(i) } }));

describe("failedEpisodesSummary", () => {
  it("names a few failed episodes one by one", () => {
    expect(failedEpisodesSummary([{ index: 1, title: "Notes", error: { code: "REEL_MEDIA_INVALID" } }])).toBe(
      "episode 2 (Notes): REEL_MEDIA_INVALID",
    );
  });

  it("keeps 300 failed episodes to a short line: the first five, then a count by code", () => {
    const s = failedEpisodesSummary(failed(300));
    expect(s.length).toBeLessThan(400);
    expect(s).toMatch(/^episode 1 \(Episode 1\): REEL_MEDIA_INVALID; episode 2 \(Episode 2\): REEL_SOURCE_NOT_FOUND;/);
    expect(s).toContain("and 295 more (REEL_SOURCE_NOT_FOUND ×197, REEL_MEDIA_INVALID ×98)");
    expect(s).toMatch(/each episode's status has its error$/);
  });

  it("counts at most five codes", () => {
    const s = failedEpisodesSummary(failed(20, (i) => `REEL_CODE_${i % 8}`));
    expect(s).toMatch(/\(REEL_CODE_\d ×2, REEL_CODE_\d ×2, REEL_CODE_\d ×2, REEL_CODE_\d ×2, REEL_CODE_\d ×2, …\)/);
  });
});
