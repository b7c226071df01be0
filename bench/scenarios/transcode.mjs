// transcode-segments: one episode encoded by the worker's segment-parallel path
// (encodeSegmented: keyframe-aligned segments encoded at once, joined by the Rust merge, audio
// encoded once and muxed) against one ffmpeg process (encodeWhole) on the same cores with the
// same settings. Both run in a fresh Node process (bench/tools/transcode-cli.ts) that probes the
// input with the worker's probe() and calls the worker's function, so wall time and peak RSS are
// measured like every other row. Seconds, lower is better. Every output's decoded frame count is
// checked against the source's; SSIM against the source is measured once per tool.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { rmSync, statSync } from "node:fs";
import { makeTempDir } from "../lib/cleanup.mjs";
import { episodes } from "../lib/fixtures.mjs";
import { countFrames, probeMedia, ssimAgainst } from "../lib/media.mjs";
import { runMeasured } from "../lib/proc.mjs";
import { goal, median, round } from "../lib/report.mjs";
import { rowsFrom, runRounds } from "../lib/rounds.mjs";
import { commandAvailable, nodeBinary, reelOutcome, repoRoot } from "../lib/tools.mjs";

const transcodeCli = join(repoRoot, "bench", "tools", "transcode-cli.ts");

export async function transcodeSegments({ quick, log }) {
  const p = quick
    ? { height: 720, seconds: 30, quality: "720p", rounds: 2, timeoutMs: 300_000 }
    : { height: 1080, seconds: 120, quality: "1080p", rounds: 3, timeoutMs: 1_800_000 };
  const cores = availableParallelism();
  const target = { quality: p.quality, codec: "h264", preset: "balanced", level: 5, encoder: "cpu" };
  log(`source: ${p.seconds} s at ${p.height}p, keyframe every 2 s (generated once, then cached)`);
  const ffmpegOk = await commandAvailable("ffmpeg", ["-version"]);
  if (!ffmpegOk.ok) throw new Error(ffmpegOk.error);
  const src = (await episodes({ count: 1, height: p.height, seconds: p.seconds })).paths[0];
  const sourceFrames = await countFrames(src);
  log(`source frames: ${sourceFrames}`);
  const { dir, remove } = makeTempDir("reel-bench-transcode-");

  // Per tool: frame counts of every round, SSIM of its first good output, the child's own report.
  const facts = { reel: { frames: [], reports: [] }, ffmpeg: { frames: [], reports: [] } };
  const runOne = (name, mode) => ({
    name,
    async run(r) {
      const output = join(dir, `${name}-${r}.mp4`);
      const workDir = join(dir, `${name}-${r}-work`);
      const options = { input: src, output, ...target, cores, ...(mode === "segmented" ? { workDir } : {}) };
      try {
        const res = await runMeasured(nodeBinary(), [transcodeCli, mode, JSON.stringify(options)], {
          timeoutMs: p.timeoutMs,
          cwd: repoRoot,
        });
        const { done } = reelOutcome(res, mode);
        const f = facts[name];
        f.reports.push(done.report);
        const frames = await countFrames(output);
        f.frames.push(frames);
        if (f.ssim === undefined) {
          const size = await probeMedia(output);
          f.size = `${size.width}x${size.height}`;
          f.output_bytes = statSync(output).size;
          f.ssim = await ssimAgainst(output, src, size);
          log(`${name}: ssim ${f.ssim} (${f.size})`);
        }
        return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
      } finally {
        rmSync(output, { force: true });
        rmSync(workDir, { recursive: true, force: true });
      }
    },
  });
  const reel = runOne("reel", "segmented");
  const whole = runOne("ffmpeg", "whole");

  try {
    const results = await runRounds({ rounds: p.rounds, tools: [reel, whole], log });
    const rows = rowsFrom(results, (name) => {
      const f = facts[name];
      const extra = {
        frames: f.frames.length ? (f.frames.every((n) => n === f.frames[0]) ? f.frames[0] : f.frames) : null,
        ssim: f.ssim ?? null,
        output_size: f.size ?? null,
        output_bytes: f.output_bytes ?? null,
      };
      if (name === "reel" && f.reports.length) {
        const last = f.reports.at(-1);
        extra.segments = last.segments.length;
        extra.encode_median_s = round(median(f.reports.map((x) => x.encodeMs / 1000)));
        extra.join_median_s = round(median(f.reports.map((x) => x.joinMs / 1000)));
        extra.joined_with = last.joinedWith;
      }
      return extra;
    });
    const by = Object.fromEntries(rows.map((r) => [r.tool, r]));
    const ratio = by.reel.median != null && by.ffmpeg.median != null ? by.reel.median / by.ffmpeg.median : null;
    const allFrames = [...facts.reel.frames, ...facts.ffmpeg.frames];
    const framesOk =
      facts.reel.frames.length && facts.ffmpeg.frames.length ? allFrames.every((n) => n === sourceFrames) : null;
    const ssimDiff = by.reel.ssim != null && by.ffmpeg.ssim != null ? Math.abs(by.reel.ssim - by.ffmpeg.ssim) : null;
    const goals = [
      goal(
        "segment-parallel faster than one ffmpeg process (speed ratio reel/ffmpeg < 1)",
        ratio == null ? null : ratio < 1,
        `ratio ${ratio == null ? "-" : round(ratio)} (${by.reel.median ?? "-"} s vs ${by.ffmpeg.median ?? "-"} s on ${cores} cores)`,
      ),
      goal(
        "frame counts equal (reel = ffmpeg = source)",
        framesOk,
        `source ${sourceFrames}; reel ${JSON.stringify(facts.reel.frames)}; ffmpeg ${JSON.stringify(facts.ffmpeg.frames)} (every round)`,
      ),
      goal(
        "SSIM difference < 0.002",
        ssimDiff == null ? null : ssimDiff < 0.002,
        `|${by.reel.ssim ?? "-"} - ${by.ffmpeg.ssim ?? "-"}| = ${ssimDiff == null ? "-" : round(ssimDiff, 6)}`,
      ),
    ];
    const lastSegments = facts.reel.reports.at(-1)?.segments;
    return {
      scenario: "transcode-segments",
      unit: "s",
      higher_is_better: false,
      rssOverIdle: false,
      rows,
      goals,
      params: {
        source: `${Math.round((p.height * 16) / 9 / 2) * 2}x${p.height} 30 fps, ${p.seconds} s, H.264 (libx264 ultrafast, -g 60: keyframe every 2 s) + AAC 128k`,
        fixture: src,
        source_frames: sourceFrames,
        frames: { source: sourceFrames, reel: facts.reel.frames, ffmpeg: facts.ffmpeg.frames },
        speed_ratio_reel_over_ffmpeg: ratio == null ? null : round(ratio),
        ssim_difference: ssimDiff == null ? null : round(ssimDiff, 6),
        target,
        cores,
        reel: `encodeSegmented(settings, out, { workDir, startTimeSecs, durationSecs, cores: ${cores} }) (default concurrency = cores, default segment length)`,
        ffmpeg: `encodeWhole(settings, out, { cores: ${cores}, durationSecs }): one ffmpeg, -threads ${cores}`,
        reel_segments: lastSegments ?? null,
        rounds: p.rounds,
        peak_rss:
          "GNU time's max RSS over the child's process tree: the largest single process (an ffmpeg), not their sum",
        checks:
          "every round: ffprobe -count_frames of the output; once per tool: SSIM All of the output against the source scaled to its size (bicubic)",
      },
    };
  } finally {
    await remove();
  }
}
