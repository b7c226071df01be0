// Per-vendor hardware arguments: how frames get decoded, scaled and handed to the encoder.
import { ReelError } from "@reel/crds";
import type { VideoCodec } from "./ladder.ts";
import type { EncoderFamily } from "./presets.ts";

export type HwDecode = "none" | "cuda" | "vaapi" | "qsv" | "videotoolbox";

export const defaultRenderNode = "/dev/dri/renderD128";

export interface HwPipeline {
  /** Global options placed before the first input (device creation). */
  global: string[];
  /** Input options for the decoded source, placed before its `-i`. */
  input: string[];
  /** The -vf chain. */
  filter: string;
  /** Decoded frames reach the filters in system memory and stay there: the CPU chain can replace `filter`. */
  systemMemory?: boolean;
  /** Frames start in system memory and `filter` uploads them: CPU filters can go before it. */
  uploads?: boolean;
}

/** QSV decoding in ffmpeg 5.1 needs the *_qsv decoder named explicitly. */
const qsvDecoders: Record<string, string> = {
  h264: "h264_qsv",
  hevc: "hevc_qsv",
  av1: "av1_qsv",
  vp9: "vp9_qsv",
  mpeg2video: "mpeg2_qsv",
};

export interface HwPipelineOptions {
  hwDecode: HwDecode;
  encoder: EncoderFamily;
  width: number;
  height: number;
  /** Source video codec (ffprobe codec_name), needed for QSV decoding. */
  sourceCodec: string;
  /** Source has more than 8 bits per sample: the GPU surfaces are then p010, not nv12. */
  tenBit?: boolean;
  /** VAAPI/QSV render node. */
  device?: string;
  outputCodec: VideoCodec;
}

// Bicubic, ffmpeg's default: measured against lanczos on the job benchmark, lanczos gave a 10%
// larger file at the same CRF for the same SSIM (0.9907), and costs more CPU.
const cpuScale = (w: number, h: number) => `scale=${w}:${h}:flags=bicubic,setsar=1,format=yuv420p`;

/**
 * The decode -> scale -> encode path for one (hw decode, encoder family) pair.
 * Output is always 8-bit 4:2:0: every player takes it, and segments must share one pixel format.
 */
export function hwPipeline(o: HwPipelineOptions): HwPipeline {
  const { width: w, height: h } = o;
  const device = o.device ?? defaultRenderNode;
  const key = `${o.hwDecode}>${o.encoder}`;
  switch (key) {
    case "none>cpu":
    case "none>nvenc": // NVENC takes system-memory yuv420p and uploads it itself.
    case "none>videotoolbox":
    case "videotoolbox>cpu":
    case "videotoolbox>videotoolbox":
      // Without -hwaccel_output_format, VideoToolbox hands decoded frames back in system memory.
      return {
        global: [],
        input: o.hwDecode === "videotoolbox" ? ["-hwaccel", "videotoolbox"] : [],
        filter: cpuScale(w, h),
        systemMemory: true,
      };
    case "cuda>nvenc":
      return {
        global: [],
        input: ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"],
        filter: `scale_cuda=w=${w}:h=${h}:format=nv12`,
      };
    case "cuda>cpu":
      // A100/H100/H200 have NVDEC but no NVENC: decode and scale on the GPU, then download the
      // (already smaller) frames for the CPU encoder.
      return {
        global: [],
        input: ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"],
        filter: `scale_cuda=w=${w}:h=${h}:format=nv12,hwdownload,format=nv12,setsar=1,format=yuv420p`,
      };
    case "vaapi>vaapi":
      return {
        global: [],
        input: ["-hwaccel", "vaapi", "-hwaccel_device", device, "-hwaccel_output_format", "vaapi"],
        filter: `scale_vaapi=w=${w}:h=${h}:format=nv12`,
      };
    case "vaapi>cpu":
      return {
        global: [],
        input: ["-hwaccel", "vaapi", "-hwaccel_device", device, "-hwaccel_output_format", "vaapi"],
        filter: `scale_vaapi=w=${w}:h=${h}:format=nv12,hwdownload,format=nv12,setsar=1,format=yuv420p`,
      };
    case "none>vaapi":
      return {
        global: ["-vaapi_device", device],
        input: [],
        filter: `format=nv12,hwupload,scale_vaapi=w=${w}:h=${h}`,
        uploads: true,
      };
    case "qsv>qsv": {
      const decoder = qsvDecoders[o.sourceCodec];
      if (!decoder) {
        throw new ReelError("REEL_ENCODER_UNAVAILABLE", `no QSV decoder for source codec ${o.sourceCodec}`);
      }
      return {
        global: ["-init_hw_device", `qsv=qsv:hw_any,child_device=${device}`],
        input: ["-hwaccel", "qsv", "-hwaccel_output_format", "qsv", "-c:v", decoder],
        filter: `scale_qsv=w=${w}:h=${h}:format=nv12`,
      };
    }
    case "none>qsv":
      return {
        global: ["-init_hw_device", `qsv=qsv:hw_any,child_device=${device}`, "-filter_hw_device", "qsv"],
        input: [],
        filter: `format=nv12,hwupload=extra_hw_frames=64,scale_qsv=w=${w}:h=${h}`,
        uploads: true,
      };
    default:
      throw new ReelError("REEL_INVALID_ARGUMENT", `no pipeline for ${o.hwDecode} decode with ${o.encoder} encode`);
  }
}
