import { describe, expect, it } from "vitest";
import { createProgressParser, type ProgressEvent, progressFromBlock } from "./progress.ts";

describe("progressFromBlock", () => {
  const cases: Array<{ name: string; block: Record<string, string>; duration?: number; want: Partial<ProgressEvent> }> =
    [
      {
        name: "computes percent from out_time_us and the known duration",
        block: { frame: "50", fps: "25.0", out_time_us: "2000000", speed: "1.5x", progress: "continue" },
        duration: 4,
        want: { frame: 50, fps: 25, outTimeSecs: 2, speed: 1.5, percent: 50, done: false },
      },
      {
        name: "has no percent without a duration",
        block: { out_time_us: "2000000", progress: "continue" },
        want: { percent: undefined },
      },
      {
        name: "treats N/A values as unknown",
        block: { frame: "0", out_time_us: "N/A", speed: "N/A", progress: "continue" },
        duration: 4,
        want: { frame: 0, outTimeSecs: undefined, speed: undefined, percent: undefined },
      },
      {
        name: "clamps a negative start time to zero",
        block: { out_time_us: "-23220", progress: "continue" },
        duration: 4,
        want: { outTimeSecs: 0, percent: 0 },
      },
      {
        name: "reports 100 percent at progress=end",
        block: { out_time_us: "3990000", progress: "end" },
        duration: 4,
        want: { percent: 100, done: true },
      },
      {
        name: "caps percent at 100 when output runs past the probed duration",
        block: { out_time_us: "5000000", progress: "continue" },
        duration: 4,
        want: { percent: 100 },
      },
    ];
  for (const c of cases) {
    it(c.name, () => {
      expect(progressFromBlock(new Map(Object.entries(c.block)), c.duration)).toMatchObject(c.want);
    });
  }
});

describe("createProgressParser", () => {
  it("emits one event per block even when chunks split lines", () => {
    const events: ProgressEvent[] = [];
    const p = createProgressParser((e) => events.push(e), 10);
    p.push("frame=10\nout_time_us=1000");
    p.push("000\nprogress=conti");
    p.push("nue\nframe=20\nout_time_us=2000000\nprogress=end\n");
    expect(events.map((e) => [e.frame, e.percent, e.done])).toEqual([
      [10, 10, false],
      [20, 100, true],
    ]);
  });
});
