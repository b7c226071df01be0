// The merged file's quality scores from its episodes', one definition for `reel run` (worker
// pipeline/job.ts) and the operator (reconcile/job-status.ts), which both know the episodes'
// status but never decode the merged file again.
import type { z } from "zod";
import type { QualityScores } from "./schema.ts";

type Scores = z.infer<typeof QualityScores>;

/**
 * The episodes' scores weighted by length: the merge joins the episodes' bytes as they are, so over
 * the whole file this is the mean over its frames (an episode normalised at the merge was encoded
 * once more and is counted as it was scored). SSIM and VMAF are means; PSNR comes from the summed
 * error, so the episodes' mean squared errors are averaged. Undefined unless every episode has a
 * length and an SSIM; VMAF only when every episode has one.
 */
export function mergedQuality(
  episodes: ReadonlyArray<{ durationSecs?: number | undefined; quality?: Scores | undefined }>,
): Scores | undefined {
  const scored = episodes.filter((e) => (e.durationSecs ?? 0) > 0 && e.quality?.ssim !== undefined);
  if (scored.length === 0 || scored.length !== episodes.length) return undefined;
  const total = scored.reduce((a, e) => a + (e.durationSecs ?? 0), 0);
  const mean = (f: (q: Scores) => number) =>
    scored.reduce((a, e) => a + f(e.quality ?? {}) * (e.durationSecs ?? 0), 0) / total;
  const mse = mean((q) => 10 ** (-(q.psnr ?? Number.POSITIVE_INFINITY) / 10));
  const out: Scores = {
    ssim: mean((q) => q.ssim ?? 0),
    psnr: mse === 0 ? Number.POSITIVE_INFINITY : -10 * Math.log10(mse),
    method: "episodes",
  };
  if (scored.every((e) => e.quality?.vmaf !== undefined)) out.vmaf = mean((q) => q.vmaf ?? 0);
  return out;
}
