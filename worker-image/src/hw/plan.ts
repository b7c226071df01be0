// Chooses encoder and decoder for a job from probed capabilities. Pure: table-tested.
import { ReelError, type VideoJobSpec } from "@reel/crds";
import type { HwDecode } from "../ffmpeg/hwargs.ts";
import type { VideoCodec } from "../ffmpeg/ladder.ts";
import { type EncoderFamily, encoderNames } from "../ffmpeg/presets.ts";
import type { HwCapabilities } from "./capabilities.ts";

export type GpuSpec = VideoJobSpec["gpu"];
export type GpuVendor = NonNullable<GpuSpec["vendor"]>;

export interface EncodeStep {
  family: EncoderFamily;
  encoder: string;
  hwDecode: HwDecode;
  /** The GPU vendor doing work in this step; undefined when it is all CPU. */
  vendor: GpuVendor | undefined;
  /** VAAPI/QSV render node. */
  device: string | undefined;
}

export interface EncodePlan extends EncodeStep {
  /** Steps to try in order, the first being the plan itself; withFallback walks it. */
  fallbackChain: EncodeStep[];
}

/** GPU encoder families in preference order per vendor (QSV before VAAPI on Intel: faster presets). */
const gpuFamilies: Record<GpuVendor, Array<{ family: EncoderFamily; decode: HwDecode }>> = {
  nvidia: [{ family: "nvenc", decode: "cuda" }],
  intel: [
    { family: "qsv", decode: "qsv" },
    { family: "vaapi", decode: "vaapi" },
  ],
  amd: [{ family: "vaapi", decode: "vaapi" }],
  apple: [{ family: "videotoolbox", decode: "videotoolbox" }],
};
const anyVendor: GpuVendor[] = ["nvidia", "intel", "amd", "apple"];

function works(caps: HwCapabilities, encoder: string | undefined): encoder is string {
  return encoder !== undefined && caps.encoders[encoder]?.ok === true;
}

function gpuSteps(caps: HwCapabilities, codec: VideoCodec, vendor: GpuVendor | undefined): EncodeStep[] {
  const steps: EncodeStep[] = [];
  const seen = new Set<string>();
  for (const v of vendor ? [vendor] : anyVendor) {
    for (const { family, decode } of gpuFamilies[v]) {
      const encoder = encoderNames[family][codec];
      if (!works(caps, encoder) || seen.has(encoder)) continue;
      seen.add(encoder);
      const device = family === "vaapi" || family === "qsv" ? caps.renderNode : undefined;
      // VAAPI serves both AMD and Intel: without a requested vendor we cannot say whose it is.
      const who = vendor ?? (family === "vaapi" ? undefined : v);
      // Full GPU path first, then GPU encode from CPU-decoded frames (sources the GPU cannot decode).
      if (decode !== "none" && caps.decode[decode as Exclude<HwDecode, "none">]) {
        steps.push({ family, encoder, hwDecode: decode, vendor: who, device });
      }
      steps.push({ family, encoder, hwDecode: "none", vendor: who, device });
    }
  }
  return steps;
}

function cpuSteps(caps: HwCapabilities, codec: VideoCodec, gpu: GpuSpec): EncodeStep[] {
  const encoder = encoderNames.cpu[codec];
  if (!works(caps, encoder)) return [];
  const steps: EncodeStep[] = [];
  // A100/H100/H200: NVDEC but no NVENC. Decoding and scaling on the GPU still frees CPU for x264.
  const nvidiaAllowed = gpu.vendor === undefined || gpu.vendor === "nvidia";
  if (gpu.policy !== "off" && nvidiaAllowed && caps.decode.cuda) {
    steps.push({ family: "cpu", encoder, hwDecode: "cuda", vendor: "nvidia", device: undefined });
  }
  steps.push({ family: "cpu", encoder, hwDecode: "none", vendor: undefined, device: undefined });
  return steps;
}

/**
 * The encode plan for (codec, gpu policy, vendor):
 * - off: CPU only.
 * - auto: a working GPU encoder, else CPU (decoding on an NVIDIA GPU when only NVDEC works), with
 *   the CPU as the last fallback.
 * - require: GPU encoders only; none working -> REEL_ENCODER_UNAVAILABLE.
 */
export function planEncode(caps: HwCapabilities, req: { codec: VideoCodec; gpu: GpuSpec }): EncodePlan {
  const { codec, gpu } = req;
  let chain: EncodeStep[];
  if (gpu.policy === "off") chain = cpuSteps(caps, codec, gpu);
  else if (gpu.policy === "auto") chain = [...gpuSteps(caps, codec, gpu.vendor), ...cpuSteps(caps, codec, gpu)];
  else chain = gpuSteps(caps, codec, gpu.vendor);
  const first = chain[0];
  if (!first) {
    const which = gpu.vendor ? `${gpu.vendor} GPU` : "GPU";
    const nvdecOnly =
      gpu.policy === "require" && caps.decode.cuda
        ? " (this NVIDIA GPU decodes but has no encoder: use policy auto)"
        : "";
    const what =
      gpu.policy === "require" ? `no working ${which} encoder for ${codec}${nvdecOnly}` : `no working ${codec} encoder`;
    throw new ReelError("REEL_ENCODER_UNAVAILABLE", what);
  }
  return { ...first, fallbackChain: chain };
}
