import { describe, expect, it } from "vitest";
import { episodesTable } from "./render.ts";

describe("episodesTable", () => {
  it("shows how many segments of a split episode are encoded", () => {
    const out = episodesTable(
      { spec: { episodes: [{ url: "https://cdn.example.com/long.mp4", title: "Long" }] } } as never,
      {
        episodes: [
          { index: 0, phase: "Transcoding", progress: 62, attempts: 1, segments: { total: 12, completed: 6 } },
        ],
      },
    );
    expect(out.split("\n")[1]).toMatch(/^1 +Long +Transcoding \(6\/12 segments\) +62%/);
  });
});
