// `reel demo`: makes sample episodes with ffmpeg, serves them on loopback (one as a direct MP4,
// one as an HLS VOD playlist, one as MKV), and runs a whole VideoJob on them with an explicit
// egress allowlist for that one address. The merged file with a chapter per episode is the result.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseVideoJob, ReelError } from "@reel/crds";
import { config } from "../config.ts";
import { runAndReport } from "./run.ts";
import { serveDir } from "./serve.ts";

const run = promisify(execFile);

const SAMPLES = [
  { title: "Pilot", src: "testsrc2=size=1280x720:rate=25", tone: 440, kind: "mp4" },
  { title: "The Signal", src: "smptehdbars=size=1280x720:rate=25", tone: 550, kind: "hls" },
  { title: "Finale", src: "mandelbrot=size=1280x720:rate=25", tone: 660, kind: "mkv" },
  { title: "Epilogue", src: "testsrc=size=1280x720:rate=25", tone: 330, kind: "mp4" },
] as const;

async function makeSample(dir: string, i: number, seconds: number): Promise<string> {
  const s = SAMPLES[i % SAMPLES.length] as (typeof SAMPLES)[number];
  const name = `ep${i + 1}`;
  const common = [
    ...[
      "-v",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      s.src,
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=${s.tone}:sample_rate=48000`,
    ],
    ...["-t", String(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
  ];
  try {
    if (s.kind === "hls") {
      await mkdir(join(dir, name), { recursive: true });
      await run(config.REEL_FFMPEG, [
        ...common,
        ...["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"],
        join(dir, name, "index.m3u8"),
      ]);
      return `${name}/index.m3u8`;
    }
    await run(config.REEL_FFMPEG, [...common, join(dir, `${name}.${s.kind}`)]);
    return `${name}.${s.kind}`;
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    throw new ReelError(
      missing ? "REEL_FFMPEG_MISSING" : "REEL_FFMPEG_FAILED",
      missing ? "ffmpeg is not installed" : `making the sample episodes failed: ${(cause as Error).message}`,
      { cause },
    );
  }
}

export async function demo(opts: { out: string; episodes: number; json: boolean }): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "reel-demo-src-"));
  const log = (line: string) => opts.json || process.stderr.write(`${line}\n`);
  try {
    log(`making ${opts.episodes} sample episodes with ffmpeg…`);
    const files = await Promise.all(Array.from({ length: opts.episodes }, (_, i) => makeSample(dir, i, 6)));
    const server = await serveDir(dir);
    try {
      log(`serving them at ${server.origin} (the egress guard opens 127.0.0.1/32 for this demo only)\n`);
      const job = parseVideoJob({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "reel-demo" },
        spec: {
          episodes: files.map((f, i) => ({
            url: `${server.origin}/${f}`,
            title: SAMPLES[i % SAMPLES.length]?.title,
          })),
          quality: "480p",
          codec: "h264",
          compression: { preset: "fast", level: 5 },
          gpu: { policy: "auto" },
          merge: { enabled: true, chapters: true, allowPartial: false },
          output: { local: { path: resolve(opts.out) } },
          tags: ["demo"],
        },
      });
      return await runAndReport(job, { concurrency: 2, json: opts.json, allow: ["127.0.0.1/32"] });
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
