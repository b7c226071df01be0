// The job runner against fake stages (the Stages port is ours): orchestration only. The real
// stages run in stages-real.int.test.ts and the CLI tests.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseVideoJob, ReelError } from "@reel/crds";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalTarget } from "../output/local.ts";
import type { JobEvent } from "./events.ts";
import { runJob } from "./job.ts";
import type { MergeMismatch, Stages } from "./stages.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "reel-job-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function job(over: Record<string, unknown> = {}, n = 3) {
  return parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "season-1" },
    spec: {
      episodes: Array.from({ length: n }, (_, i) => ({
        url: `https://cdn.example.com/ep${i + 1}.mp4`,
        title: `Ep ${i + 1}`,
      })),
      output: { local: { path: join(root, "out") } },
      ...over,
    },
  });
}

function fakeStages(
  opts: { failUrl?: string; mismatch?: MergeMismatch[]; encoderScores?: boolean; stubborn?: boolean } = {},
) {
  const calls = {
    fetch: 0,
    encode: 0,
    measure: 0,
    normalise: [] as string[],
    merged: [] as { path: string; title: string; chapters?: { title: string; startSecs: number }[] }[],
    chapters: 0,
  };
  const stages: Stages = {
    async fetch(url, dir, _spec, ctx) {
      calls.fetch++;
      if (url === opts.failUrl) throw new ReelError("REEL_SOURCE_NOT_FOUND", "404 from cdn.example.com");
      ctx.progress(0.5);
      const path = join(dir, "source.bin");
      await writeFile(path, `source of ${url}`);
      ctx.progress(1);
      return { path, bytes: 20, route: "direct" };
    },
    async probe() {
      return { durationSecs: 10, width: 1280, height: 720, fps: 25, hasAudio: true };
    },
    async chapters(path) {
      calls.chapters++;
      const own = (await readFile(path, "utf8")).includes("ep1.mp4");
      return own ? [{ title: "Cold open", startSecs: 1.5 }] : [];
    },
    async encode(source, _p, output) {
      calls.encode++;
      await writeFile(output, `encoded(${await readFile(source, "utf8")})`);
      if (opts.encoderScores) return { encoder: "libx264", quality: { ssim: 0.98, psnr: 41, method: "encoder" } };
      return { encoder: "libx264" };
    },
    async measure() {
      calls.measure++;
      return { ssim: 0.99, psnr: 44 };
    },
    async compatible(paths) {
      // A normalised copy matches the first episode, as the real normalise makes it, unless stubborn.
      const odd = (m: MergeMismatch) => opts.stubborn || !paths[m.input]?.includes("normalised-");
      return (opts.mismatch ?? []).filter(odd);
    },
    async normalise(input, _ref, output) {
      calls.normalise.push(input);
      await writeFile(output, `normalised(${await readFile(input, "utf8")})`);
    },
    async merge(inputs, output) {
      calls.merged = inputs;
      const parts = await Promise.all(inputs.map((i) => readFile(i.path, "utf8")));
      await writeFile(output, parts.join("|"));
      return { durationSecs: 10 * inputs.length, chapters: inputs.length };
    },
    async hash(path) {
      return createHash("sha256")
        .update(await readFile(path))
        .digest("hex");
    },
    async sha256(path) {
      return createHash("sha256")
        .update(await readFile(path))
        .digest("hex");
    },
  };
  return { stages, calls };
}

const opts = (stages: Stages, events?: JobEvent[]) => ({
  stages,
  target: new LocalTarget(join(root, "out")),
  cacheDir: join(root, "cache"),
  tmpDir: root,
  concurrency: 2,
  emit: (e: JobEvent) => events?.push(e),
});

describe("runJob", () => {
  it("takes the scores the encoder measured itself and skips the measure stage", async () => {
    const { stages, calls } = fakeStages({ encoderScores: true });
    // Another quality keys other encodes: the cache must not hand these scores to later tests.
    const r = await runJob(job({ quality: "480p" }), opts(stages));
    expect(r.phase).toBe("Completed");
    expect(calls.measure).toBe(0);
    expect(r.episodes.map((e) => e.quality)).toEqual(Array(3).fill({ ssim: 0.98, psnr: 41, method: "encoder" }));
    expect(r.stageSeconds.measure).toBeUndefined();
  });

  it("processes every episode and stores one merged file with a chapter per episode", async () => {
    const { stages, calls } = fakeStages();
    const events: JobEvent[] = [];
    const r = await runJob(job(), opts(stages, events));
    expect(r.phase).toBe("Completed");
    expect(r.episodes.map((e) => e.phase)).toEqual(["Completed", "Completed", "Completed"]);
    expect(r.episodes.every((e) => e.encoder === "libx264" && e.quality?.ssim === 0.99)).toBe(true);
    expect(calls.merged.map((m) => m.title)).toEqual(["Ep 1", "Ep 2", "Ep 3"]);
    expect(r.output?.location).toBe(join(root, "out", "season-1.mp4"));
    expect(r.output?.chapters).toBe(3);
    // The merged file's scores are its episodes' (three alike, 10 s each).
    expect(r.output?.quality?.method).toBe("episodes");
    expect(r.output?.quality?.ssim).toBeCloseTo(0.99, 9);
    expect(r.output?.quality?.psnr).toBeCloseTo(44, 6);
    expect(await readFile(join(root, "out", "season-1.mp4"), "utf8")).toContain("ep3.mp4");
    expect(events.some((e) => e.type === "episode" && e.phase === "Downloading")).toBe(true);
    // Only the output, the cache and nothing temporary remain.
    expect((await readdir(root)).sort()).toEqual(["cache", "out"]);
  });

  it("reads no source chapters and passes none to the merge unless merge.chapterMarks asks", async () => {
    const { stages, calls } = fakeStages();
    expect((await runJob(job(), opts(stages))).phase).toBe("Completed");
    expect(calls.chapters).toBe(0);
    expect(calls.merged.every((m) => !("chapters" in m))).toBe(true);
    const asked = await runJob(job({ merge: { chapterMarks: "both" } }), opts(stages));
    expect(asked.phase).toBe("Completed");
    expect(calls.chapters).toBe(3);
    expect(calls.merged.map((m) => m.chapters)).toEqual([[{ title: "Cold open", startSecs: 1.5 }], [], []]);
  });

  it("a failed episode never stops the others; with allowPartial the merge goes on without it", async () => {
    const { stages, calls } = fakeStages({ failUrl: "https://cdn.example.com/ep2.mp4" });
    const r = await runJob(job({ merge: { allowPartial: true } }), opts(stages));
    expect(r.phase).toBe("Completed");
    expect(r.episodes[1]?.phase).toBe("Failed");
    expect(r.episodes[1]?.error?.code).toBe("REEL_SOURCE_NOT_FOUND");
    expect(calls.merged.map((m) => m.title)).toEqual(["Ep 1", "Ep 3"]);
  });

  it("without allowPartial the job fails listing each episode's code, after finishing the others", async () => {
    const { stages, calls } = fakeStages({ failUrl: "https://cdn.example.com/ep2.mp4" });
    const r = await runJob(job(), opts(stages));
    expect(r.phase).toBe("Failed");
    expect(r.error?.code).toBe("REEL_EPISODES_FAILED");
    expect(r.error?.message).toContain("episode 2 (Ep 2): REEL_SOURCE_NOT_FOUND");
    expect(r.episodes.filter((e) => e.phase === "Completed")).toHaveLength(2);
    expect(calls.encode).toBe(2);
    expect((await readdir(root)).sort()).toEqual(["cache"]);
  });

  it("re-running the same job reuses finished encodes instead of encoding again", async () => {
    const { stages, calls } = fakeStages();
    await runJob(job(), opts(stages));
    expect(calls.encode).toBe(3);
    const again = await runJob(job(), opts(stages));
    expect(again.phase).toBe("Completed");
    expect(calls.encode).toBe(3);
    expect(again.episodes.every((e) => e.encoder === "libx264 (reused)" && e.quality?.ssim === 0.99)).toBe(true);
  });

  it("changing the quality invalidates the reuse", async () => {
    const { stages, calls } = fakeStages();
    await runJob(job(), opts(stages));
    await runJob(job({ quality: "480p" }), opts(stages));
    expect(calls.encode).toBe(6);
  });

  it("normalises the episodes that do not share parameters, then merges", async () => {
    const { stages, calls } = fakeStages({
      mismatch: [{ input: 2, field: "video.width", expected: "1280", found: "960" }],
    });
    const r = await runJob(job(), opts(stages));
    expect(r.phase).toBe("Completed");
    expect(calls.normalise).toHaveLength(1);
    expect(calls.merged[2]?.path).toContain("normalised-2");
  });

  it("a merge that still cannot join fails the job, naming the episode and field, and keeps the encodes", async () => {
    const { stages, calls } = fakeStages({
      mismatch: [{ input: 2, field: "video.config", expected: "0164001e", found: "0164001f" }],
      stubborn: true,
    });
    const r = await runJob(job(), opts(stages));
    expect(r.phase).toBe("Failed");
    expect(r.error?.code).toBe("REEL_MERGE_MISMATCH");
    expect(r.error?.message).toContain('episode 3 ("Ep 3"): video.config is 0164001f, episode 1 ("Ep 1") has 0164001e');
    expect(r.episodes.map((e) => e.phase)).toEqual(["Completed", "Completed", "Completed"]);
    expect(calls.merged).toEqual([]);
    // The encodes stay in the cache: the retry reuses all three.
    const again = fakeStages();
    const r2 = await runJob(job(), opts(again.stages));
    expect(r2.phase).toBe("Completed");
    expect(again.calls.encode).toBe(0);
  });

  it("makes each episode's poster while the job still runs, before the merge, and stores it beside the output", async () => {
    const { stages } = fakeStages();
    const log: string[] = [];
    let making = 0;
    let most = 0;
    const withPosters: Stages = {
      ...stages,
      async poster(encoded, output, _ctx, durationSecs) {
        // The encode's length is passed on: the real stage then needs no ffprobe of the file.
        expect(durationSecs).toBe(10);
        log.push(`poster ${(await readFile(encoded, "utf8")).match(/ep\d/)?.[0]}`);
        most = Math.max(most, ++making);
        await new Promise((r) => setTimeout(r, 50));
        making--;
        await writeFile(output, "jpeg");
      },
      async merge(inputs, output, chapters, ctx, spec) {
        log.push("merge");
        return stages.merge(inputs, output, chapters, ctx, spec);
      },
      async encode(source, p, output, spec, ctx) {
        await new Promise((r) => setTimeout(r, 20));
        return stages.encode(source, p, output, spec, ctx);
      },
    };
    const r = await runJob(job(), { ...opts(withPosters), concurrency: 1 });
    // Posters take longer than encodes here, yet no more than the concurrency are made at once.
    expect(most).toBe(1);
    expect(r.phase).toBe("Completed");
    // The first episode to finish has its poster made while the others encode, before the merge.
    expect(log[0]).toMatch(/^poster ep\d$/);
    expect(log.filter((l) => l !== "merge").sort()).toEqual(["poster ep1", "poster ep2", "poster ep3"]);
    const files = r.episodes.map((e) => e.poster?.split("/").at(-1));
    expect(files).toEqual(["season-1-ep001-poster.jpg", "season-1-ep002-poster.jpg", "season-1-ep003-poster.jpg"]);
    for (const e of r.episodes) expect(await readFile(e.poster as string, "utf8")).toBe("jpeg");
    expect((await readdir(root)).sort()).toEqual(["cache", "out"]);
  });

  it("downloads the next episodes while others encode, never running more encodes than the concurrency", async () => {
    const { stages } = fakeStages();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const slow: Stages = {
      ...stages,
      async fetch(url, dir, spec, ctx) {
        log.push(`fetch ${url.match(/ep\d/)?.[0]}`);
        return stages.fetch(url, dir, spec, ctx);
      },
      prepare(source) {
        // The episode's work folder, ep0 for episode 1.
        log.push(`prepare ${source.split("/").at(-2)}`);
      },
      async encode(source, p, output, spec, ctx) {
        most = Math.max(most, ++running);
        const name = (await readFile(source, "utf8")).match(/ep\d/)?.[0];
        log.push(`encode ${name}`);
        await new Promise((r) => setTimeout(r, 30));
        log.push(`encoded ${name}`);
        running--;
        return stages.encode(source, p, output, spec, ctx);
      },
    };
    const r = await runJob(job({}, 4), { ...opts(slow), concurrency: 1 });
    expect(r.phase).toBe("Completed");
    expect(most).toBe(1);
    // Episode 2 is downloaded while episode 1 encodes; every episode is encoded once.
    expect(log.indexOf("fetch ep2")).toBeLessThan(log.indexOf("encoded ep1"));
    // Its encode's analysis is started then too (prepare), not once the slot is free.
    expect(log.indexOf("prepare ep1")).toBeLessThan(log.indexOf("encoded ep1"));
    expect(log.filter((l) => l.startsWith("prepare")).sort()).toEqual([
      "prepare ep0",
      "prepare ep1",
      "prepare ep2",
      "prepare ep3",
    ]);
    expect(log.filter((l) => l.startsWith("encode ")).sort()).toEqual([
      "encode ep1",
      "encode ep2",
      "encode ep3",
      "encode ep4",
    ]);
  });

  it("stores one file per episode when merge is off", async () => {
    const { stages } = fakeStages();
    const r = await runJob(job({ merge: { enabled: false } }), opts(stages));
    expect(r.output).toBeUndefined();
    expect(r.episodeOutputs?.map((o) => o.location.split("/").at(-1))).toEqual([
      "season-1-001-Ep 1.mp4",
      "season-1-002-Ep 2.mp4",
      "season-1-003-Ep 3.mp4",
    ]);
  });

  it("an episode title with ../ cannot escape the output directory", async () => {
    const { stages } = fakeStages();
    const j = job({ merge: { enabled: false } }, 1);
    (j.spec.episodes[0] as { title?: string }).title = "../../escape";
    const r = await runJob(j, opts(stages));
    expect(r.episodeOutputs?.[0]?.location).toBe(join(root, "out", "season-1-001-escape.mp4"));
  });

  it("a cancelled job reports Cancelled and removes its temporary files", async () => {
    const { stages } = fakeStages();
    const ac = new AbortController();
    const slow: Stages = {
      ...stages,
      fetch: (url, dir, spec, ctx) =>
        new Promise((resolve, reject) => {
          ac.abort();
          ctx.signal.aborted
            ? reject(new ReelError("REEL_CANCELLED", "stop"))
            : resolve(stages.fetch(url, dir, spec, ctx));
        }),
    };
    const r = await runJob(job(), { ...opts(slow), signal: ac.signal });
    expect(r.phase).toBe("Cancelled");
    expect(r.episodes.every((e) => e.phase === "Cancelled")).toBe(true);
    expect((await readdir(root)).sort()).toEqual(["cache"]);
  });
});
