// The quality ladder: what each requested quality means in pixels and bits.
import type { VideoJobSpec } from "@reel/crds";

export type Quality = VideoJobSpec["quality"];
export type VideoCodec = VideoJobSpec["codec"];

export interface Rung {
  /** Target size of the picture's shorter side (height for landscape). */
  shortSide: number;
  /** Peak video bitrate caps in kbit/s; CRF/CQ decides the rate below the cap. */
  maxrateK: Record<VideoCodec, number>;
  audioBitrateK: number;
}

// Caps follow common streaming ladders; HEVC and AV1 need roughly 60% and 50% of H.264's bits.
export const ladder: Record<Quality, Rung> = {
  "480p": { shortSide: 480, maxrateK: { h264: 2500, hevc: 1600, av1: 1250 }, audioBitrateK: 96 },
  "720p": { shortSide: 720, maxrateK: { h264: 5000, hevc: 3200, av1: 2500 }, audioBitrateK: 128 },
  "1080p": { shortSide: 1080, maxrateK: { h264: 8000, hevc: 5000, av1: 4000 }, audioBitrateK: 160 },
  "2160p": { shortSide: 2160, maxrateK: { h264: 35000, hevc: 20000, av1: 16000 }, audioBitrateK: 192 },
};

/** Buffer twice the peak rate: enough for scene changes without letting the peak drift. */
export function bufsizeK(maxrateK: number): number {
  return maxrateK * 2;
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

/**
 * Output size for a source: the shorter side becomes the rung's size (so a portrait phone video
 * at 720p is 720 wide, not 720 tall), the aspect ratio is kept, nothing is ever upscaled, and both
 * sides are even (4:2:0 chroma needs it). `sar` corrects anamorphic sources to square pixels.
 */
export function targetSize(
  source: { width: number; height: number; sar?: number },
  quality: Quality,
): { width: number; height: number } {
  const sar = source.sar && source.sar > 0 ? source.sar : 1;
  const displayW = source.width * sar;
  const displayH = source.height;
  const shortSide = Math.min(displayW, displayH);
  const scale = Math.min(1, ladder[quality].shortSide / shortSide);
  return { width: even(displayW * scale), height: even(displayH * scale) };
}
