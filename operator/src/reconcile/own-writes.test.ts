import { describe, expect, it } from "vitest";
import type { KubeObject } from "../kube/api.ts";
import { dropOwnEchoes, echoPrint, OwnWrites, OwnWritesBook } from "./own-writes.ts";

const job = (name: string, status?: unknown): KubeObject =>
  ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "media", labels: { "reel.dev/videojob": "s1" } },
    ...(status ? { status } : {}),
  }) as KubeObject;
const videoJob = (rv: string, phase: string): KubeObject =>
  ({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "s1", namespace: "media", resourceVersion: rv },
    status: { phase },
  }) as KubeObject;

describe("the drop-own-echoes filter in front of the work queue", () => {
  it("drops the first sight of a Job this process is creating, and nothing after it", () => {
    const book = new OwnWritesBook();
    const filter = dropOwnEchoes(book);
    book.of("media/s1").beginCreate("s1-ep0");
    expect(filter.name).toBe("drop-own-echoes");
    expect(filter.job(job("s1-ep0"), "added")).toBe(false);
    expect(filter.job(job("s1-ep0", { conditions: [{ type: "Complete" }] }), "added")).toBe(true);
    expect(filter.job(job("s1-ep0"), "modified")).toBe(true);
    expect(filter.job(job("s1-ep9"), "added")).toBe(true);
    book.jobChanged(job("s1-ep0"), "added");
    expect(filter.job(job("s1-ep0"), "added")).toBe(true);
  });

  it("drops the VideoJob event that carries exactly the status just written, once", () => {
    const book = new OwnWritesBook();
    const filter = dropOwnEchoes(book);
    book.of("media/s1").expectEcho(echoPrint(videoJob("9", "Processing")));
    expect(filter.videoJob(videoJob("10", "Processing"), "added")).toBe(true);
    expect(filter.videoJob(videoJob("10", "Processing"), "modified")).toBe(false);
    expect(filter.videoJob(videoJob("11", "Processing"), "modified")).toBe(true);
    book.of("media/s1").expectEcho(echoPrint(videoJob("9", "Processing")));
    expect(filter.videoJob(videoJob("10", "Merging"), "modified")).toBe(true);
  });
});

describe("OwnWrites: one VideoJob's writes the watch has not shown back", () => {
  it("counts a created Job as existing until the informer delivers it", () => {
    const w = new OwnWrites();
    w.beginCreate("a");
    w.beginCreate("b");
    w.createDone({ metadata: { name: "a" } });
    w.jobSeen("b", "added");
    w.createDone({ metadata: { name: "b" } }); // the watch was faster than the POST's answer
    expect(w.unseen(() => false).map((j) => j.metadata.name)).toEqual(["a"]);
    expect(w.unseen((n) => n === "a")).toEqual([]);
    expect(w.creatingCount).toBe(1);
    w.jobSeen("a", "added");
    expect(w.empty).toBe(true);
  });

  it("sends a deletion once until the informer shows the Job gone", () => {
    const w = new OwnWrites();
    expect(w.beginDelete("a")).toBe(true);
    expect(w.beginDelete("a")).toBe(false);
    w.jobSeen("a", "modified");
    expect(w.beginDelete("a")).toBe(false);
    w.jobSeen("a", "deleted");
    expect(w.beginDelete("a")).toBe(true);
    w.deleteFailed("a");
    expect(w.beginDelete("a")).toBe(true);
  });

  it("answers the status it wrote while the informer holds the version it was written against", () => {
    const w = new OwnWrites();
    expect(w.status("1", undefined)).toBeUndefined();
    expect(w.status("1", { phase: "Pending" })).toEqual({ phase: "Pending" });
    w.statusSent("1", { phase: "Processing" });
    expect(w.status("1", undefined)).toEqual({ phase: "Processing" });
    expect(w.status("2", undefined)).toBeUndefined();
    expect(w.status("1", undefined)).toBeUndefined();
  });

  it("counts a VideoJob's end once per uid, and again for a new VideoJob of that name", () => {
    const w = new OwnWrites();
    expect(w.markFinished("u1")).toBe(true);
    expect(w.markFinished("u1")).toBe(false);
    w.forget("u1");
    expect(w.markFinished("u1")).toBe(true);
    expect(w.markFinished("u2")).toBe(true);
  });

  it("counts the Jobs being created per namespace across VideoJobs", () => {
    const book = new OwnWritesBook();
    book.of("media/s1").beginCreate("s1-ep0");
    book.of("media/s2").beginCreate("s2-ep0");
    book.of("other/s1").beginCreate("s1-ep0");
    expect(book.creatingIn("media")).toBe(2);
    book.jobChanged(job("s1-ep0"), "added");
    expect(book.creatingIn("media")).toBe(1);
    expect(book.peek("media/s1")).toBeUndefined();
  });
});
