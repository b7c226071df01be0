import { describe, expect, it } from "vitest";
import { JobEvents } from "./events.ts";

describe("job event logs", () => {
  it("numbers events per job from 1 and hands them to subscribers", () => {
    const ev = new JobEvents(8);
    const seen: number[] = [];
    const off = ev.subscribe("media/a", (e) => seen.push(e.id));
    expect(ev.append("media/a", { type: "phase", phase: "Pending" })).toMatchObject({ id: 1, job: "a" });
    ev.append("media/b", { type: "phase", phase: "Pending" });
    ev.append("media/a", { type: "progress", episode: { index: 0, stage: "download", progress: 10 } });
    off();
    ev.append("media/a", { type: "phase", phase: "Processing" });
    expect(seen).toEqual([1, 2]);
    expect(ev.lastId("media/a")).toBe(3);
    expect(ev.lastId("media/b")).toBe(1);
  });

  it("replays what a resuming client missed, and asks for a snapshot when that is no longer kept", () => {
    const ev = new JobEvents(8);
    for (let i = 0; i < 20; i++) ev.append("media/a", { type: "status" });
    expect(ev.since("media/a", 17)?.map((e) => e.id)).toEqual([18, 19, 20]);
    expect(ev.since("media/a", 20)).toEqual([]);
    expect(ev.since("media/a", 12)?.map((e) => e.id)).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);
    expect(ev.since("media/a", 11)).toBeUndefined(); // 12 fell out of the ring
    expect(ev.since("media/a", 99)).toBeUndefined(); // an id from before a restart
    expect(ev.since("media/unknown", 0)).toEqual([]);
  });
});
