import { describe, expect, it } from "vitest";
import { JobCache } from "../jobs/cache.ts";
import { type JobEvent, JobEvents, parseId } from "./events.ts";
import { openStream } from "./stream.ts";

const ids = (xs: { event: JobEvent }[] | undefined) => xs?.map((x) => x.event.id);

describe("job event logs", () => {
  it("gives each event the cursor <resourceVersion>-<progress seq> it moves a client to", () => {
    const ev = new JobEvents(8);
    const seen: string[] = [];
    const off = ev.subscribe("media/a", 100, (x) => seen.push(x.event.id));
    expect(ev.appendWatch("media/a", 105, 100, { type: "phase", phase: "Pending" })?.event).toMatchObject({
      id: "105-0",
      job: "a",
    });
    ev.appendWatch("media/b", 300, 299, { type: "phase", phase: "Pending" });
    ev.appendProgress("media/a", 7000, 105, {
      type: "progress",
      episode: { index: 0, stage: "fetch", progress: 1, phase: "Downloading" },
    });
    off();
    ev.appendWatch("media/a", 110, 105, { type: "phase", phase: "Processing" });
    expect(seen).toEqual(["105-0", "105-7000"]);
    expect(ev.head("media/a")).toEqual({ rv: 110, seq: 7000 });
    // An older copy of the object, or a progress number already held (another replica's duplicate).
    expect(ev.appendWatch("media/a", 108, 105, { type: "status" })).toBeUndefined();
    expect(ev.appendProgress("media/a", 7000, 110, { type: "progress" })).toBeUndefined();
  });

  it("replays what a client at <rv>-<seq> missed, watch and progress each by its own part", () => {
    const ev = new JobEvents(8);
    ev.appendWatch("media/a", 10, 9, { type: "phase", phase: "Downloading" });
    ev.appendProgress("media/a", 500, 10, { type: "progress" });
    ev.appendWatch("media/a", 12, 10, { type: "status" });
    ev.appendProgress("media/a", 600, 12, { type: "progress" });
    ev.appendWatch("media/a", 15, 12, { type: "phase", phase: "Merging" });
    expect(ids(ev.since("media/a", { rv: 10, seq: 500 }))).toEqual(["12-500", "12-600", "15-600"]);
    // Another replica interleaved them differently: seen watch up to 12, progress up to 500.
    expect(ids(ev.since("media/a", { rv: 12, seq: 500 }))).toEqual(["12-600", "15-600"]);
    expect(ids(ev.since("media/a", { rv: 15, seq: 600 }))).toEqual([]);
    // A replica running behind: nothing yet, and nothing it sends later goes back.
    expect(ids(ev.since("media/a", { rv: 20, seq: 900 }))).toEqual([]);
    // Before the log began: cannot be placed.
    expect(ev.since("media/a", { rv: 8, seq: 0 })).toBeUndefined();
    expect(ev.since("media/unknown", { rv: 1, seq: 0 })).toBeUndefined();
  });

  it("cannot place a cursor once the ring has dropped what came after it", () => {
    const ev = new JobEvents(4);
    for (let i = 1; i <= 6; i++) ev.appendWatch("media/a", 100 + i, 100 + i - 1, { type: "status" });
    expect(ids(ev.since("media/a", { rv: 102, seq: 0 }))).toEqual(["103-0", "104-0", "105-0", "106-0"]);
    expect(ev.since("media/a", { rv: 101, seq: 0 })).toBeUndefined();
    for (let i = 1; i <= 4; i++) ev.appendProgress("media/a", i, 106, { type: "progress" });
    expect(ids(ev.since("media/a", { rv: 106, seq: 1 }))).toEqual(["106-2", "106-3", "106-4"]);
    expect(ids(ev.since("media/a", { rv: 106, seq: 0 }))).toEqual(["106-1", "106-2", "106-3", "106-4"]);
    ev.appendProgress("media/a", 5, 106, { type: "progress" });
    expect(ev.since("media/a", { rv: 106, seq: 0 })).toBeUndefined();
  });

  it("reads only <rv>-<seq> ids", () => {
    expect(parseId("123-456")).toEqual({ rv: 123, seq: 456 });
    expect(parseId("17")).toBeUndefined(); // an id from a shim before this format
    expect(parseId("1-2-3")).toBeUndefined();
    expect(parseId(undefined)).toBeUndefined();
  });
});

describe("a job's stream", () => {
  const job = (rv: string, phase: string) =>
    ({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "a", namespace: "media", uid: "u1", resourceVersion: rv },
      spec: { episodes: [] },
      status: { phase },
    }) as never;

  it("starts with the full status when the id cannot be placed, and never sends an id lower than the client's", () => {
    const cache = new JobCache();
    cache.observe(job("50", "Downloading"), "added");
    const ev = new JobEvents(8);
    ev.appendWatch("media/a", 50, 49, { type: "phase", phase: "Downloading" });
    const got: JobEvent[] = [];
    const off = openStream({ cache, events: ev, namespace: "media", name: "a", lastEventId: "7" }, (e) => got.push(e));
    expect(got).toEqual([expect.objectContaining({ type: "status", id: "50-0", phase: "Downloading" })]);
    off();
    // Resuming from a replica ahead of this one: the cursor stays the client's.
    const ahead: JobEvent[] = [];
    openStream({ cache, events: ev, namespace: "media", name: "a", lastEventId: "60-900" }, (e) => ahead.push(e));
    expect(ahead).toEqual([]);
    ev.appendWatch("media/a", 55, 50, { type: "status" });
    ev.appendProgress("media/a", 950, 55, { type: "progress" });
    ev.appendWatch("media/a", 61, 55, { type: "phase", phase: "Merging" });
    expect(ahead.map((e) => [e.type, e.id])).toEqual([
      ["progress", "60-950"],
      ["phase", "61-950"],
    ]);
  });
});
