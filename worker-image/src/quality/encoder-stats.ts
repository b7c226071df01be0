// Quality measured inside the encode pass. x264 and x265 can compare each reconstructed picture
// with the picture they were given (the source after scaling): the same comparison the ssim/psnr
// filters make, without decoding the source a second time. On the job benchmark that second
// decode was a third of the episode's CPU time. The encoded bitstream is unchanged by it
// (the tests compare the decoded pictures).
import type { VideoCodec } from "../ffmpeg/ladder.ts";
import type { EncoderFamily } from "../ffmpeg/presets.ts";

export interface EncoderStats {
  /** Mean SSIM of the luma plane over all frames. */
  ssim: number;
  /** PSNR over all frames from the summed squared error ("global"), in dB. */
  psnr: number;
  frames: number;
}

/** Whether this encoder can report SSIM and PSNR of its own output. */
export function hasEncoderStats(family: EncoderFamily, codec: VideoCodec): boolean {
  return family === "cpu" && (codec === "h264" || codec === "hevc");
}

/**
 * The encoder arguments with the statistics turned on. x265 takes them in its one
 * `-x265-params` (a second one would replace the presets' value), and prints its summary at
 * info level only.
 */
export function withEncoderStats(encoderArgs: readonly string[], codec: VideoCodec): string[] {
  if (codec === "h264") return [...encoderArgs, "-ssim", "1", "-flags:v", "+psnr"];
  const out = [...encoderArgs];
  const i = out.indexOf("-x265-params");
  const params = ["log-level=info", "ssim=1", "psnr=1"];
  if (i < 0) return [...out, "-x265-params", params.join(":")];
  const kept = (out[i + 1] ?? "").split(":").filter((p) => p && !p.startsWith("log-level="));
  out[i + 1] = [...kept, ...params].join(":");
  return out;
}

const num = (s: string | undefined) => (s === undefined ? Number.NaN : Number.parseFloat(s));

/**
 * Reads the summary the encoder prints when it closes.
 * x264: `[libx264 @ 0x..] SSIM Mean Y:0.9933710 (21.785db)`,
 *       `[libx264 @ 0x..] PSNR Mean Y:44.549 U:44.064 V:43.653 Avg:44.299 Global:44.238 kb/s:1286.76`
 *       and one `frame I:1 ...` / `frame P:117 ...` / `frame B:122 ...` line per picture type;
 * x265: `encoded 60 frames in 1.30s (46.04 fps), 710.14 kb/s, Avg QP:34.02, Global PSNR: 42.973, SSIM Mean Y: 0.9921403 (21.046 dB)`.
 */
export function parseEncoderStats(stderr: string): EncoderStats | undefined {
  const x265 = /encoded (\d+) frames in .*Global PSNR: (inf|[0-9.]+), SSIM Mean Y: ([0-9.]+)/.exec(stderr);
  if (x265) {
    const psnr = x265[2] === "inf" ? Number.POSITIVE_INFINITY : num(x265[2]);
    return valid({ frames: num(x265[1]), psnr, ssim: num(x265[3]) });
  }
  const ssim = /\] SSIM Mean Y:([0-9.]+)/.exec(stderr);
  const psnr = /\] PSNR Mean Y:\S+ U:\S+ V:\S+ Avg:\S+ Global:(inf|[0-9.]+)/.exec(stderr);
  if (!ssim || !psnr) return undefined;
  let frames = 0;
  for (const m of stderr.matchAll(/\] frame [IPB]:(\d+)\s/g)) frames += num(m[1]);
  return valid({ ssim: num(ssim[1]), psnr: psnr[1] === "inf" ? Number.POSITIVE_INFINITY : num(psnr[1]), frames });
}

function valid(s: EncoderStats): EncoderStats | undefined {
  return Number.isFinite(s.ssim) && !Number.isNaN(s.psnr) && s.frames > 0 ? s : undefined;
}

/**
 * Statistics of segments encoded apart, as if of one encode: SSIM is a mean over frames, so it
 * is weighted by frames; PSNR comes from the summed error, so the segments' mean squared errors
 * are weighted by frames and turned back into dB (pictures are the same size in every segment).
 */
export function combineEncoderStats(parts: readonly EncoderStats[]): EncoderStats | undefined {
  const frames = parts.reduce((a, p) => a + p.frames, 0);
  if (parts.length === 0 || frames === 0) return undefined;
  const ssim = parts.reduce((a, p) => a + p.ssim * p.frames, 0) / frames;
  // MSE relative to the peak squared: 10^(-PSNR/10); identical pictures (inf) add none.
  const mse = parts.reduce((a, p) => a + 10 ** (-p.psnr / 10) * p.frames, 0) / frames;
  const psnr = mse === 0 ? Number.POSITIVE_INFINITY : -10 * Math.log10(mse);
  return { ssim, psnr, frames };
}
