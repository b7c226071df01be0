import { describe, expect, it } from "vitest";
import { planSegments, targetSegmentSecs } from "./split.ts";

/** Frame times for `secs` seconds at `fps` with a keyframe every `gop` frames. */
function times(secs: number, fps: number, gop: number) {
  const pts = Array.from({ length: secs * fps }, (_, i) => i / fps);
  return { pts, keyframes: pts.filter((_, i) => i % gop === 0) };
}

describe("planSegments", () => {
  const cases = [
    {
      name: "6 s, keyframe each second, 2 s target -> 3 segments",
      t: times(6, 25, 25),
      target: 2,
      starts: [0, 2, 4],
      frames: [50, 50, 50],
    },
    {
      name: "cuts only on keyframes (every 3 s, 2 s target)",
      t: times(9, 10, 30),
      target: 2,
      starts: [0, 3, 6],
      frames: [30, 30, 30],
    },
    {
      name: "a short tail joins the previous segment",
      t: times(7, 10, 10),
      target: 3,
      starts: [0, 3],
      frames: [30, 40],
    },
    { name: "one GOP -> one segment", t: times(5, 10, 100), target: 2, starts: [0], frames: [50] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = planSegments(c.t, c.target);
      expect(s.map((x) => x.startPts)).toEqual(c.starts);
      expect(s.map((x) => x.frames)).toEqual(c.frames);
      expect(s.reduce((a, x) => a + x.frames, 0)).toBe(c.t.pts.length);
    });
  }
  it("counts B-frame reordered and offset timelines by presentation time", () => {
    const t = { pts: [1.4, 1.44, 1.48, 1.52, 1.56, 1.6], keyframes: [1.4, 1.52] };
    expect(planSegments(t, 0.1).map((s) => [s.startPts, s.startFrame, s.frames])).toEqual([
      [1.4, 0, 3],
      [1.52, 3, 3],
    ]);
  });
  it("returns nothing for no frames", () => expect(planSegments({ pts: [], keyframes: [] }, 10)).toEqual([]));
});

describe("targetSegmentSecs", () => {
  it("spreads over the cores within 10..60 s", () => {
    expect(targetSegmentSecs(1200, 8)).toBe(60);
    expect(targetSegmentSecs(200, 8)).toBe(25);
    expect(targetSegmentSecs(30, 8)).toBe(10);
  });
});
