// `reel run` on a job that mixes the sources a season really has — SDR, HDR (PQ), interlaced, BT.601
// SD and full range, quiet and loud, mono, stereo and 5.1 — served on loopback: it merges (an SD
// BT.601 or HDR episode used to stop the merge on video.config), and the merged file is one
// format: BT.709 tags, no interlaced frames, every chapter within 1 LU of the loudness target.
import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idetOf, loudnessOf, makeSource, outputFacts, type SourceSpec } from "../ffmpeg/fidelity-media.ts";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import type { JobResult } from "../pipeline/job.ts";
import { reelRun } from "../testing/reel-run.ts";
import { type StaticServer, serveDir } from "./serve.ts";

const HD = { width: 640, height: 360 };

// In chapter order; each 2 s.
const sources: [string, string, SourceSpec][] = [
  ["sdr.mp4", "SDR", { picture: "bt709", sound: { kind: "sine", volume: 0.1, channels: 2, rate: 44100 }, ...HD }],
  ["hdr.mp4", "HDR", { picture: "pq", sound: { kind: "noise", gainDb: 12 }, ...HD }],
  [
    "interlaced.mp4",
    "Interlaced",
    { picture: "interlaced", sound: { kind: "sine", volume: 0.01, channels: 1 }, ...HD },
  ],
  ["sd.mp4", "SD", { picture: "bt601", sound: { kind: "sine", volume: 0.2, channels: 6 }, width: 320, height: 240 }],
  ["full.mp4", "Full range", { picture: "full", sound: { kind: "clicks" }, ...HD }],
];

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;

beforeAll(async () => {
  tmp = await makeTempDir("reel-fidelity-run-");
  const src = join(tmp.dir, "src");
  await mkdir(src);
  await Promise.all(sources.map(([file, , s]) => makeSource(join(src, file), s)));
  server = await serveDir(src, { host: "127.0.0.2" });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

async function runJob(name: string, extra: Record<string, unknown>): Promise<JobResult> {
  const { result, stderr } = await reelRun({
    dir: tmp.dir,
    name,
    spec: {
      episodes: sources.map(([file, title]) => ({ url: `${server.origin}/${file}`, title })),
      quality: "480p",
      compression: { preset: "fast", level: 6 },
      gpu: { policy: "off" },
      output: { local: { path: join(tmp.dir, "out") } },
      ...extra,
    },
  });
  expect(result.phase, stderr).toBe("Completed");
  return result;
}

describe("reel run, a season of unlike sources", () => {
  it("merges them into one format: BT.709 tags, no interlaced frames, no audio gap at a join, every chapter within 1 LU of -16 LUFS", async () => {
    const result = await runJob("mixed", {});
    const [sdr, hdr, interlaced, sd, full] = result.episodes;
    expect(hdr?.picture?.toneMapped?.from).toBe("smpte2084");
    expect(interlaced?.picture?.deinterlaced).toEqual({ fieldOrder: "tff", detectedBy: "probe" });
    expect(sd?.picture?.convertedFrom).toContain("smpte170m");
    expect(full?.picture?.convertedFrom).toContain("full range");
    expect(sdr?.picture).toBeUndefined();
    for (const e of result.episodes) {
      expect(Math.abs((e.loudness?.output?.integrated ?? 0) + 16), e.title).toBeLessThanOrEqual(1);
    }
    expect(full?.loudness?.method).toBe("limited");

    const merged = result.output?.location as string;
    expect(await outputFacts(merged)).toMatchObject({
      pixFmt: "yuv420p",
      primaries: "bt709",
      transfer: "bt709",
      matrix: "bt709",
      range: "tv",
      fieldOrder: "progressive",
      channels: 2,
      sampleRate: 48000,
    });
    expect((await idetOf(merged)).interlaced).toBe(0);
    const chapters = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", merged]).toString(),
    ).chapters as { start_time: string; end_time: string; tags: { title: string } }[];
    expect(chapters.map((c) => c.tags.title)).toEqual(sources.map(([, title]) => title));
    // No join drops or doubles audio: every AAC packet starts where the one before ended, and the
    // audio ends within a frame (40 ms) of the video.
    const packets = execFileSync(
      "ffprobe",
      ["-v", "error", "-select_streams", "a:0", "-show_entries"].concat([
        "packet=pts_time,duration_time",
        "-of",
        "csv=p=0",
        merged,
      ]),
    )
      .toString()
      .trim()
      .split("\n")
      .map((l) => l.split(",").map(Number) as [number, number]);
    const gaps = packets.slice(1).filter(([pts], i) => {
      const [prev, dur] = packets[i] as [number, number];
      return Math.abs(pts - (prev + dur)) > 0.001;
    });
    expect(gaps).toEqual([]);
    const [lastPts, lastDur] = packets.at(-1) as [number, number];
    const videoSecs = Number(
      execFileSync(
        "ffprobe",
        ["-v", "error", "-select_streams", "v:0", "-show_entries"].concat([
          "stream=duration",
          "-of",
          "csv=p=0",
          merged,
        ]),
      ).toString(),
    );
    expect(Math.abs(lastPts + lastDur - videoSecs)).toBeLessThan(0.04);
    for (const c of chapters) {
      const from = Number(c.start_time);
      const { integrated } = await loudnessOf(merged, from, Number(c.end_time) - from);
      expect(Math.abs(integrated + 16), `chapter ${c.tags.title}: ${integrated} LUFS`).toBeLessThanOrEqual(1);
    }
  }, 180_000);

  it("with hdr: keep merges them into HDR10: hevc 10-bit BT.2020 PQ with mastering metadata, chapters at the target", async () => {
    const result = await runJob("mixed-hdr10", { codec: "hevc", hdr: "keep" });
    expect(result.episodes[1]?.picture?.toneMapped).toBeUndefined();
    const merged = result.output?.location as string;
    expect(await outputFacts(merged)).toMatchObject({
      pixFmt: "yuv420p10le",
      primaries: "bt2020",
      transfer: "smpte2084",
      matrix: "bt2020nc",
      range: "tv",
      fieldOrder: "progressive",
    });
    const r = execFileSync(
      "ffprobe",
      ["-v", "error", "-select_streams", "v:0", "-show_frames", "-read_intervals"].concat([
        "%+#1",
        "-of",
        "json",
        merged,
      ]),
    ).toString();
    expect(r).toContain('"max_luminance": "10000000/10000"');
    expect((await idetOf(merged)).interlaced).toBe(0);
    const chapters = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", merged]).toString(),
    ).chapters as { start_time: string; end_time: string }[];
    for (const c of chapters) {
      const from = Number(c.start_time);
      const { integrated } = await loudnessOf(merged, from, Number(c.end_time) - from);
      expect(Math.abs(integrated + 16)).toBeLessThanOrEqual(1);
    }
  }, 180_000);
});
