// compression.targetQuality checked on the whole episode: the encode stage encodes at the level the
// sample search chose and scores the whole encode; while it misses the target the episode is encoded
// again a level lower, level 1 being the last try. The samples pick quickly; the whole episode decides.
import type { VideoJobSpec } from "@reel/crds";
import type { Encoded, SourceProbe, StageContext, Stages } from "../pipeline/stages.ts";
import type { QualityScores } from "../pipeline/types.ts";

type EncodeStage = Stages["encode"];

/** The stages with an encode that reaches compression.targetQuality on the whole episode. */
export function reachingTarget(stages: Stages): Stages {
  const encode = stages.encode.bind(stages);
  return { ...stages, encode: (...args) => encodeToTarget(encode, ...args) };
}

/** The score a target judges by, from an episode's scores. */
export function targetScore(q: QualityScores | undefined, metric: "ssim" | "vmaf"): number | undefined {
  return metric === "vmaf" ? q?.vmaf : q?.ssim;
}

/** The spec of a re-encode at `level`: no search, and the target's metric measured on the whole encode. */
export function atLevel(spec: VideoJobSpec, level: number, metric: "ssim" | "vmaf"): VideoJobSpec {
  const { targetQuality: _searched, ...compression } = spec.compression;
  const metrics = new Set(spec.qualityMetrics ?? ["ssim", "psnr"]);
  if (metric === "vmaf") metrics.add("vmaf");
  return { ...spec, compression: { ...compression, level }, qualityMetrics: [...metrics] };
}

export async function encodeToTarget(
  encode: EncodeStage,
  source: string,
  probe: SourceProbe,
  output: string,
  spec: VideoJobSpec,
  ctx: StageContext,
): Promise<Encoded> {
  let enc = await encode(source, probe, output, spec, ctx);
  const target = spec.compression.targetQuality;
  // The stage reports the search's choice; without one (no target, or no scores) there is nothing to check.
  const chosen = enc.quality?.target;
  if (!target || !chosen) return enc;
  let level = chosen.level;
  let encodes = 1;
  let score = targetScore(enc.quality, target.metric);
  while ((score === undefined || score < target.score) && level > 1) {
    level -= 1;
    encodes += 1;
    enc = await encode(source, probe, output, atLevel(spec, level, target.metric), ctx);
    score = targetScore(enc.quality, target.metric);
  }
  const reached = score !== undefined && score >= target.score;
  const quality = { ...(enc.quality as QualityScores), target: { ...chosen, level, encodes, reached } };
  return { ...enc, quality };
}
