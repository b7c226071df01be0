import { describe, expect, it } from "vitest";
import { retryName, retryRefusal, retrySpec } from "./retry.ts";

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

describe("retrySpec", () => {
  const feed = "https://pods.example.com/feed.xml";
  const spec = {
    episodes: [{ url: "https://cdn.example.com/intro.mp4" }, { playlist: feed, items: "1-2" }],
    output: { s3: { bucket: "videos", credentialsSecret: "s3-creds" } },
    cancel: true,
  };
  const expansion = [
    {
      at: 1,
      playlist: feed,
      items: "1-2",
      episodes: [{ url: "https://cdn.example.com/a.mp4", title: "Pilot" }, { url: "https://cdn.example.com/b.mp4" }],
      listedAt: "2026-12-05T22:00:00.000Z",
    },
  ];

  it("retries a playlist as recorded, never as the playlist lists now", () => {
    const s = retrySpec({ spec, status: { phase: "Failed", expansion } });
    expect(s.episodes.map((e) => [e.url, e.title])).toEqual([
      ["https://cdn.example.com/intro.mp4", undefined],
      ["https://cdn.example.com/a.mp4", "Pilot"],
      ["https://cdn.example.com/b.mp4", undefined],
    ]);
    expect(s.cancel).toBe(false);
  });

  it("refuses a job whose playlists were never recorded (its listing failed): it ran nothing", () => {
    expect(() => retrySpec({ metadata: { name: "show" }, spec, status: { phase: "Failed" } })).toThrow(
      expect.objectContaining({ code: "REEL_JOB_NOT_RETRYABLE", message: expect.stringContaining("submit it again") }),
    );
  });
});
