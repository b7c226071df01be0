import { describe, expect, it } from "vitest";
import { type CachedJob, JobCache, type PhaseChange } from "./cache.ts";

const job = (name: string, rv: number, status?: Record<string, unknown>, uid = "u1") =>
  ({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name, namespace: "media", uid, resourceVersion: String(rv), creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { episodes: [{ url: "https://x/a.mp4" }], notification: { webhook: { url: "https://hooks.example.com/r" } } },
    ...(status ? { status } : {}),
  }) as unknown as CachedJob;

function watch() {
  const c = new JobCache();
  const seen: string[] = [];
  const phases: PhaseChange[] = [];
  c.on("phase", (p) => {
    phases.push(p);
    seen.push(`phase ${p.previousPhase ?? "-"}>${p.phase}`);
  });
  c.on("status", (j) => seen.push(`status ${j.status?.progress}`));
  c.on("final", (j, { deleted }) => seen.push(`final ${j.metadata.name}${deleted ? " deleted" : ""}`));
  c.on("deleted", (j) => seen.push(`deleted ${j.metadata.name}`));
  return { c, seen, phases };
}

describe("the VideoJob cache", () => {
  it("turns watch events into phase, status and final events, with what the webhook sender needs", () => {
    const { c, seen, phases } = watch();
    (c as unknown as { synced: boolean }).synced = true;
    c.observe(job("a", 1), "added");
    c.observe(job("a", 2, { phase: "Pending" }), "modified");
    c.observe(job("a", 3, { phase: "Pending", progress: 0 }), "modified");
    c.observe(job("a", 4, { phase: "Downloading", progress: 5 }), "modified");
    c.observe(job("a", 3, { phase: "Pending" }), "modified"); // an older copy from a relist: ignored
    c.observe(job("a", 5, { phase: "Completed", progress: 100, output: { location: "s3://v/a.mp4" } }), "modified");
    c.observe(job("a", 6, { phase: "Completed", progress: 100 }), "deleted");
    expect(seen).toEqual([
      "phase ->Pending",
      "status 0",
      "phase Pending>Downloading",
      "phase Downloading>Completed",
      "final a",
      "deleted a",
      "final a deleted",
    ]);
    expect(phases[2]).toMatchObject({
      namespace: "media",
      name: "a",
      phase: "Completed",
      previousPhase: "Downloading",
      progress: 100,
      output: { location: "s3://v/a.mp4" },
      webhook: { url: "https://hooks.example.com/r" },
      uid: "u1",
      resourceVersion: "5",
    });
    expect(c.get("media", "a")).toBeUndefined();
  });

  it("says nothing about phases during the first list, but records finished jobs for history", () => {
    const { c, seen } = watch();
    c.observe(job("old", 1, { phase: "Failed" }), "added");
    c.observe(job("running", 2, { phase: "Processing" }), "added");
    expect(seen).toEqual(["final old"]);
    expect(
      c
        .list("media")
        .map((j) => j.metadata.name)
        .sort(),
    ).toEqual(["old", "running"]);
    expect(c.list("studio")).toEqual([]);
  });

  it("serves a job it created before the watch delivers it, and lets the watch's copy replace it", () => {
    const { c } = watch();
    c.remember(job("new", 7));
    expect(c.get("media", "new")?.metadata.resourceVersion).toBe("7");
    c.observe(job("new", 8, { phase: "Pending" }), "added");
    c.remember(job("new", 7));
    expect(c.get("media", "new")?.metadata.resourceVersion).toBe("8");
  });

  it("answers 503 until the first list has arrived", () => {
    expect(() => new JobCache().assertSynced()).toThrow(/not synced/);
  });
});
