import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCompatible, type MergeProgress, merge, ReelNativeError } from "../lib/index.ts";

let dir: string;
const episodes: string[] = [];

function makeEpisode(path: string, seconds: number, size = "320x240") {
  execFileSync("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=25`],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(seconds)],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", path],
  ]);
}

function ffprobe(path: string) {
  const out = execFileSync("ffprobe", ["-v", "error", "-show_format", "-show_chapters", "-of", "json", path]);
  return JSON.parse(out.toString()) as {
    format: { duration: string };
    chapters: { tags?: { title?: string }; start_time: string }[];
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reel-merge-"));
  for (const [i, secs] of [1.5, 2, 1.2].entries()) {
    const p = join(dir, `ep${i + 1}.mp4`);
    makeEpisode(p, secs);
    episodes.push(p);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("merge", () => {
  it("places an input's own chapters inside its span with chapterMarks both, and refuses an unknown mode", async () => {
    const output = join(dir, "own-chapters.mp4");
    const report = await merge({
      inputs: [
        { path: episodes[0] as string, title: "One", chapters: [{ title: "Cold open", startSecs: 0.8 }] },
        { path: episodes[1] as string, title: "Two" },
      ],
      output,
      chapterMarks: "both",
    });
    const read = ffprobe(output).chapters;
    expect(read.map((c) => c.tags?.title)).toEqual(["One", "One — Cold open", "Two"]);
    const starts = read.map((c) => Number(c.start_time));
    for (const [i, want] of [0, 0.8, 1.5].entries()) expect(starts[i]).toBeCloseTo(want, 1);
    expect(report.chapters.map((c) => c.title)).toEqual(["One", "One — Cold open", "Two"]);
    const bad = merge({ inputs: [{ path: episodes[0] as string }], output, chapterMarks: "all" as "both" });
    await expect(bad).rejects.toMatchObject({ code: "REEL_INVALID_ARGUMENT" });
  });

  it("joins episodes with a chapter per title, decodable without errors", async () => {
    const output = join(dir, "season.mp4");
    const progress: MergeProgress[] = [];
    const report = await merge(
      { inputs: episodes.map((path, i) => ({ path, title: `Episode ${i + 1}` })), output },
      { onProgress: (p) => progress.push(p) },
    );
    expect(report.chapters.map((c) => c.title)).toEqual(["Episode 1", "Episode 2", "Episode 3"]);
    expect(report.durationSecs).toBeGreaterThan(4.5);
    expect(report.durationSecs).toBeLessThan(4.9);
    expect(progress.at(-1)?.done).toBe(progress.at(-1)?.total);

    const probe = ffprobe(output);
    expect(probe.chapters.map((c) => c.tags?.title)).toEqual(["Episode 1", "Episode 2", "Episode 3"]);
    expect(Number(probe.chapters[1]?.start_time)).toBeCloseTo(1.5, 1);
    const decode = execFileSync("ffmpeg", ["-v", "error", "-i", output, "-f", "null", "-"], { stdio: "pipe" });
    expect(decode.toString()).toBe("");
  });

  it("reports inputs that do not share parameters with REEL_MERGE_MISMATCH", async () => {
    const odd = join(dir, "odd.mp4");
    makeEpisode(odd, 1, "352x288");
    const err = await merge({
      inputs: [{ path: episodes[0] as string }, { path: odd }],
      output: join(dir, "x.mp4"),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReelNativeError);
    expect((err as ReelNativeError).code).toBe("REEL_MERGE_MISMATCH");
  });

  it("checkCompatible names the fields that differ, and nothing for matching inputs", async () => {
    expect(await checkCompatible(episodes)).toEqual([]);
    const odd = join(dir, "odd2.mp4");
    makeEpisode(odd, 1, "352x288");
    const list = await checkCompatible([episodes[0] as string, odd]);
    expect(list.map((m) => m.field)).toEqual(expect.arrayContaining(["video.width", "video.height"]));
    expect(list.every((m) => m.input === 1)).toBe(true);
  });

  it("refuses a text file named .mp4 with REEL_MERGE_INVALID_INPUT", async () => {
    const bogus = join(dir, "bogus.mp4");
    await import("node:fs/promises").then((fs) => fs.writeFile(bogus, "this is not a video"));
    const err = await checkCompatible([bogus]).catch((e: unknown) => e);
    expect((err as ReelNativeError).code).toBe("REEL_MERGE_INVALID_INPUT");
  });

  it("writes the asked audio languages in order, silence where an episode lacks one", async () => {
    const dual = join(dir, "dual.mp4");
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
      ...["-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000", "-map", "0", "-map", "1", "-map", "2"],
      ...["-metadata:s:a:0", "language=jpn", "-metadata:s:a:1", "language=eng", "-t", "1"],
      ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", dual],
    ]);
    const output = join(dir, "dual-season.mp4");
    const report = await merge({
      inputs: [{ path: dual }, { path: episodes[0] as string }],
      output,
      audioTracks: [{ language: "eng", default: true }, { language: "jpn" }],
    });
    // Episode 2 has one untagged track: it is not English or Japanese, so both are filled.
    expect(report.tracks.map((t) => [t.kind, t.language, t.default, t.filled])).toEqual([
      ["audio", "eng", true, [1]],
      ["audio", "jpn", false, [1]],
    ]);
    expect(report.chapters).toHaveLength(2);
    const out = execFileSync("ffprobe", [
      ...["-v", "error", "-select_streams", "a", "-show_entries", "stream_tags=language:stream_disposition=default"],
      ...["-of", "csv=p=0", output],
    ]);
    expect(out.toString().trim().split("\n")).toEqual(["1,eng", "0,jpn"]);
  });
});
