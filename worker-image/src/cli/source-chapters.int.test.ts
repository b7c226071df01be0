// `reel run` with merge.chapterMarks (issue 15): a source's own chapters, read by ffprobe from the
// downloaded source (the encode drops them), placed inside its episode's span in the merged file;
// the default job's chapters stay one per episode.
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import type { JobResult } from "../pipeline/job.ts";
import { reelRun } from "../testing/reel-run.ts";
import { type StaticServer, serveDir } from "./serve.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;

/** A 25 fps Matroska source of `secs` with chapters [title, start, end] from an ffmetadata file. */
async function makeSource(path: string, secs: number, chapters: [string, number, number][]): Promise<void> {
  const meta = `${path}.ffmeta`;
  const lines = chapters.map(
    ([title, s, e]) => `[CHAPTER]\nTIMEBASE=1/1000\nSTART=${s * 1000}\nEND=${e * 1000}\ntitle=${title}\n`,
  );
  await writeFile(meta, `;FFMETADATA1\n${lines.join("")}`);
  execFileSync("ffmpeg", [
    ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-f", "ffmetadata", "-i", meta],
    ...["-map", "0", "-map", "1", "-map_chapters", "2", "-t", String(secs), "-pix_fmt", "yuv420p"],
    ...["-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-c:a", "aac", path],
  ]);
}

/** The chapters ffprobe reads from a file: [title, start seconds]. */
function chaptersOf(path: string): [string, number][] {
  const out = execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", path]).toString();
  const list = (JSON.parse(out) as { chapters: { start_time: string; tags?: { title?: string } }[] }).chapters;
  return list.map((c) => [c.tags?.title ?? "", Number(c.start_time)]);
}

/** Titles equal, starts within 50 ms. */
function expectChapters(path: string, want: [string, number][]): void {
  const got = chaptersOf(path);
  expect(got.map(([t]) => t)).toEqual(want.map(([t]) => t));
  for (const [i, [, start]] of want.entries()) expect(Math.abs((got[i]?.[1] ?? -1) - start)).toBeLessThanOrEqual(0.05);
}

beforeAll(async () => {
  tmp = await makeTempDir("reel-source-chapters-");
  const src = join(tmp.dir, "src");
  await mkdir(src);
  await makeSource(join(src, "pilot.mkv"), 3, [
    ["Cold open", 0.5, 1.5],
    ["Titles", 1.5, 2.2],
    ["Story", 2.2, 3],
  ]);
  await makeSource(join(src, "plain.mkv"), 2, []);
  server = await serveDir(src, { host: "127.0.0.2" });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

/** `reel run` of Pilot (3 own chapters) then Plain (none); the merged file's path. */
async function run(name: string, chapterMarks?: string): Promise<{ result: JobResult; merged: string }> {
  const out = join(tmp.dir, "out");
  const spec = {
    episodes: [
      { url: `${server.origin}/pilot.mkv`, title: "Pilot" },
      { url: `${server.origin}/plain.mkv`, title: "Plain" },
    ],
    quality: "480p",
    compression: { preset: "fast", level: 6 },
    gpu: { policy: "off" },
    output: { local: { path: out } },
    ...(chapterMarks ? { merge: { chapterMarks } } : {}),
  };
  const { result, stderr } = await reelRun({ dir: tmp.dir, name, spec });
  expect(result.phase, stderr).toBe("Completed");
  return { result, merged: result.output?.location.replace(/^file:\/\//, "") as string };
}

describe("reel run, a source's own chapters (merge.chapterMarks)", () => {
  it("both: each episode's chapter, then its source's own titled '<episode> — <chapter>' at their times", async () => {
    const { result, merged } = await run("both", "both");
    expectChapters(merged, [
      ["Pilot", 0],
      ["Pilot — Cold open", 0.5],
      ["Pilot — Titles", 1.5],
      ["Pilot — Story", 2.2],
      ["Plain", 3],
    ]);
    expect(result.output?.chapters).toBe(5);
  }, 240_000);

  it("source: the sources' own chapters, the part before the first and an episode without any titled by the episode", async () => {
    const { merged } = await run("source", "source");
    expectChapters(merged, [
      ["Pilot", 0],
      ["Cold open", 0.5],
      ["Titles", 1.5],
      ["Story", 2.2],
      ["Plain", 3],
    ]);
  }, 240_000);

  it("the default job keeps one chapter per episode", async () => {
    const { result, merged } = await run("default");
    expectChapters(merged, [
      ["Pilot", 0],
      ["Plain", 3],
    ]);
    expect(result.output?.chapters).toBe(2);
  }, 240_000);
});
