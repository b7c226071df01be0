// The sound an episode comes out with: one channel layout and sample rate for the whole job, and
// EBU R128 loudness brought to the job's target. Pure: measuring is an audio-only ffmpeg pass
// (soundMeasureArgs, no video decode); the gain is planned from what it measured.

export type ChannelLayout = "stereo" | "5.1";

export interface LoudnessTarget {
  /** Integrated loudness, LUFS. */
  integrated: number;
  /** True peak ceiling, dBTP. */
  truePeak: number;
}

/** ebur128's summary: integrated loudness and its gate, loudness range, true peak. */
export interface LoudnessMeasure {
  integrated: number;
  threshold: number;
  lra: number;
  truePeak: number;
}

/** How an episode's loudness is brought to the target. */
export interface LoudnessPlan {
  /**
   * linear: one gain for the whole episode; limited: the gain would push true peaks over the
   * ceiling, so a limiter at 4x oversampling holds them under it; none: silence (nothing to measure).
   */
  method: "linear" | "limited" | "none";
  gainDb: number;
  input: LoudnessMeasure;
  target: LoudnessTarget;
}

export interface SoundPlan {
  layout: ChannelLayout;
  /** Absent when loudness is off or the source is silent. */
  loudness?: LoudnessPlan;
}

export const SAMPLE_RATE = 48_000;
export const channels: Record<ChannelLayout, number> = { stereo: 2, "5.1": 6 };

/** Any source to the job's layout and rate: downmix, upmix (mono to both sides) and resampling. */
export function layoutFilter(layout: ChannelLayout): string {
  return `aresample=${SAMPLE_RATE},aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=${layout}`;
}

// Per-frame lines at verbose (hidden), the summary at info; true peak by 4x oversampling.
const meter = "ebur128=framelog=verbose:peak=true";

/** Arguments after the input: one audio track (the first by default), in the job's layout, through the meter. */
export function soundMeasureArgs(layout: ChannelLayout, stream = "0:a:0"): string[] {
  return ["-map", stream, "-vn", "-sn", "-dn", "-af", `${layoutFilter(layout)},${meter}`, "-f", "null", "-"];
}

// Below this an episode is silence (or a test tone's gate): gain would only raise the noise floor.
const SILENT_LUFS = -70;

/** Plans the gain: linear when the peaks allow it, else loudnorm's limiter; none for silence. */
export function planLoudness(input: LoudnessMeasure, target: LoudnessTarget): LoudnessPlan {
  if (!Number.isFinite(input.integrated) || input.integrated <= SILENT_LUFS) {
    return { method: "none", gainDb: 0, input, target };
  }
  const gainDb = round2(target.integrated - input.integrated);
  const method = input.truePeak + gainDb <= target.truePeak ? "linear" : "limited";
  return { method, gainDb, input, target };
}

/** The whole audio filter chain for an encode: layout, gain, then the meter that reports the result. */
export function soundFilter(plan: SoundPlan): string {
  const parts = [layoutFilter(plan.layout)];
  const l = plan.loudness;
  if (l?.method === "linear") parts.push(`volume=${l.gainDb}dB`);
  if (l?.method === "limited") {
    // The gain, then a brickwall limiter at 4x the rate so that inter-sample (true) peaks are
    // caught too, then back to the job's rate. (loudnorm's own limiter was tried: on short
    // episodes its dynamic mode missed the target by 9 LU and more.)
    const limit = Math.max(0.0625, 10 ** (l.target.truePeak / 20)).toFixed(4);
    parts.push(
      `aresample=${4 * SAMPLE_RATE}`,
      `volume=${l.gainDb}dB`,
      `alimiter=limit=${limit}:attack=1:release=10:level=false:latency=true`,
      layoutFilter(plan.layout),
    );
  }
  if (l && l.method !== "none") parts.push(meter);
  return parts.join(",");
}

const num = (re: RegExp, text: string) => {
  const m = re.exec(text);
  if (!m?.[1]) return undefined;
  return m[1] === "-inf" ? Number.NEGATIVE_INFINITY : Number(m[1]);
};

/** The last ebur128 summary in ffmpeg's stderr; undefined when there is none. */
export function parseEbur128(stderr: string): LoudnessMeasure | undefined {
  const at = stderr.lastIndexOf("Summary:");
  if (at < 0) return undefined;
  const s = stderr.slice(at);
  const integrated = num(/Integrated loudness:\s*I:\s*(-inf|-?[\d.]+) LUFS/, s);
  const threshold = num(/Integrated loudness:[\s\S]*?Threshold:\s*(-inf|-?[\d.]+) LUFS/, s);
  const lra = num(/LRA:\s*(-?[\d.]+) LU/, s);
  const truePeak = num(/Peak:\s*(-inf|-?[\d.]+) dBFS/, s);
  if (integrated === undefined || threshold === undefined || lra === undefined) return undefined;
  return { integrated, threshold, lra, truePeak: truePeak ?? Number.NEGATIVE_INFINITY };
}

/** AAC bitrate for the layout: 5.1 gets 2.5x the stereo rate of the ladder. */
export function soundBitrateK(stereoK: number, layout: ChannelLayout): number {
  return layout === "5.1" ? Math.round(stereoK * 2.5) : stereoK;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
