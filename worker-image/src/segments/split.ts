// Where to cut an episode for segment-parallel encoding. Pure: table-tested.
import type { FrameTimes } from "../probe/frames.ts";

export interface Segment {
  index: number;
  /** Presentation time (seconds, file timeline) of the segment's first frame: always a keyframe. */
  startPts: number;
  /** Index of the first frame in presentation order. */
  startFrame: number;
  /** Exactly how many frames this segment must produce. */
  frames: number;
}

/**
 * Cuts at keyframes only, so no segment starts mid-GOP and each decodes independently. A new
 * segment starts at the first keyframe at least `targetSecs` after the current start; a tail
 * shorter than half the target joins the previous segment rather than becoming a tiny encode.
 * Frame counts come from the packet timestamps, so the segments add up to the source exactly.
 */
export function planSegments(times: FrameTimes, targetSecs: number): Segment[] {
  const { pts, keyframes } = times;
  const first = pts[0];
  if (first === undefined) return [];
  const last = pts[pts.length - 1] ?? first;
  const starts = [first];
  for (const k of keyframes) {
    const current = starts[starts.length - 1] ?? first;
    if (k - current >= targetSecs - 1e-6) starts.push(k);
  }
  if (starts.length > 1 && last - (starts[starts.length - 1] ?? first) < targetSecs / 2) starts.pop();
  const segments: Segment[] = [];
  let frame = 0;
  for (const [index, startPts] of starts.entries()) {
    const end = starts[index + 1] ?? Number.POSITIVE_INFINITY;
    let count = 0;
    while (frame + count < pts.length && (pts[frame + count] ?? end) < end) count++;
    segments.push({ index, startPts, startFrame: frame, frames: count });
    frame += count;
  }
  return segments;
}

/** A segment length that keeps `parallelism` encoders busy, within 10..60 s per segment. */
export function targetSegmentSecs(durationSecs: number, parallelism: number, min = 10, max = 60): number {
  return Math.min(max, Math.max(min, durationSecs / Math.max(1, parallelism)));
}
