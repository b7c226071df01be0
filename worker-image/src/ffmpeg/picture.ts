// The picture an episode comes out with: every episode in the job's one format (8-bit 4:2:0,
// BT.709, limited range, progressive, tagged; or with `hdr: keep` HDR10: 10-bit BT.2020 PQ with
// mastering metadata), whatever its source was. Pure: the plan is a function of the probe's tags
// and an idet count; the filter chain, tags and encoder metadata are built from it.
import type { MasteringDisplay, PictureTags } from "../probe/picture.ts";

export type HdrTransfer = "smpte2084" | "arib-std-b67";
export type FieldOrder = "tff" | "bff";

/** The source's colour, as zscale will read it (tags, or the usual guess for untagged sources). */
export interface SourceColour {
  primaries: string;
  transfer: string;
  matrix: string;
  range: "tv" | "pc";
}

export interface PicturePlan {
  /** The source's colour when it is not already the output's (BT.709 limited): converted, not relabelled. */
  convertFrom?: SourceColour;
  /** HDR to SDR: tone-mapped with `operator` from this peak (cd/m²). Implies convertFrom. */
  toneMap?: { from: HdrTransfer; operator: "hable"; peakNits: number };
  /** pulldown: telecined film, rebuilt into its film frames (fieldmatch, decimate) instead. */
  deinterlace?: { fieldOrder: FieldOrder; detectedBy: "probe" | "idet"; pulldown?: boolean };
  /** The job's output format: SDR BT.709 8-bit (default), or HDR10 (`hdr: keep`). */
  output?: "sdr" | "hdr10";
  /** HDR10 static metadata the encoder writes (output hdr10). */
  hdr10?: Hdr10Metadata;
}

export interface Hdr10Metadata {
  mastering: MasteringDisplay;
  maxCll: number;
  maxFall: number;
}

/** A P3-D65 display of 1000 cd/m², MaxCLL 1000, MaxFALL 400: the usual HDR10 grade. */
export const defaultHdr10: Hdr10Metadata = {
  mastering: {
    red: [0.68, 0.32],
    green: [0.265, 0.69],
    blue: [0.15, 0.06],
    whitePoint: [0.3127, 0.329],
    maxNits: 1000,
    minNits: 0.0001,
  },
  maxCll: 1000,
  maxFall: 400,
};

/**
 * The metadata an HDR10 output carries: the source's own when each episode is its own file; the
 * usual grade when episodes are merged, since one file has one set and every episode must match.
 */
export function hdr10For(tags: PictureTags, perEpisode: boolean): Hdr10Metadata {
  if (!perEpisode || !tags.mastering) return defaultHdr10;
  return { mastering: tags.mastering, maxCll: tags.maxCll ?? 1000, maxFall: tags.maxFall ?? 400 };
}

/** What an idet pass over a sample counted (multi-frame detection). */
export interface IdetCount {
  tff: number;
  bff: number;
  progressive: number;
  undetermined: number;
  /** Frames whose top or bottom field repeats the frame before's: 3:2 pulldown leaves 2 in 5. */
  repeated?: { neither: number; top: number; bottom: number };
}

/**
 * Chroma siting, as an output option: ffmpeg hands the encoder the decoded frames' own otherwise
 * (DV and some camera formats say "topleft"), and x264 then writes it into the parameter sets, so a
 * PAL DV episode could not be joined with its neighbours ("video.config"). Our scalers (swscale,
 * zscale) write 4:2:0 chroma at MPEG-2's "left" siting, the value H.264/HEVC assume when unsaid:
 * every encode states it, and x264 leaves it out of the VUI as the default.
 */
const chromaArgs = ["-chroma_sample_location", "left"];

/** The one output format's tags, as ffmpeg output options: every encoder writes them into its VUI. */
export const outputColourArgs: readonly string[] = [
  "-color_primaries",
  "bt709",
  "-color_trc",
  "bt709",
  "-colorspace",
  "bt709",
  "-color_range",
  "tv",
  ...chromaArgs,
];

// Frame properties too, so nothing downstream (encoder defaults, a later filter) carries the
// source's description into the parameter sets: that made SD BT.601 episodes unmergeable.
const tagFrames = "setparams=field_mode=prog:range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709";

// Values zscale reads under ffprobe's names; anything else is treated as untagged.
const PRIMARIES = new Set([
  "bt709",
  "bt470m",
  "bt470bg",
  "smpte170m",
  "smpte240m",
  "film",
  "bt2020",
  "smpte431",
  "smpte432",
]);
const TRANSFERS = new Set([
  "bt709",
  "bt470m",
  "bt470bg",
  "smpte170m",
  "linear",
  "bt2020-10",
  "bt2020-12",
  "smpte2084",
  "arib-std-b67",
  "iec61966-2-1",
]);
const MATRICES = new Set(["bt709", "fcc", "bt470bg", "smpte170m", "bt2020nc", "bt2020c"]);
const pick = (set: Set<string>, v: string | undefined, fallback: string) => (v && set.has(v) ? v : fallback);

/**
 * The source's colour with the usual guesses for what is untagged (as players do): HD and larger
 * is BT.709, 576-line SD is BT.601 PAL (bt470bg), other SD BT.601 NTSC (smpte170m); limited range.
 */
export function sourceColour(tags: PictureTags, size: { width: number; height: number }): SourceColour {
  const hd = size.width >= 1280 || size.height >= 720;
  const sd = hd ? "bt709" : size.height === 576 || size.height === 288 ? "bt470bg" : "smpte170m";
  const hdr = tags.transfer === "smpte2084" || tags.transfer === "arib-std-b67";
  return {
    primaries: pick(PRIMARIES, tags.primaries, hdr ? "bt2020" : sd),
    transfer: pick(TRANSFERS, tags.transfer, "bt709"),
    matrix: pick(MATRICES, tags.matrix, hdr ? "bt2020nc" : sd === "bt709" ? "bt709" : sd),
    range: tags.range ?? "tv",
  };
}

/**
 * The field order the probe states, else what idet saw on a sample. A sample counts as interlaced
 * only when interlaced frames clearly outnumber progressive ones (4 to 1, and half the sample):
 * idet calls some busy progressive frames interlaced, and deinterlacing progressive video blurs it.
 */
export function fieldOrder(tags: PictureTags, idet?: IdetCount): PicturePlan["deinterlace"] {
  const f = tags.fieldOrder;
  if (f === "tt" || f === "bt") return { fieldOrder: "tff", detectedBy: "probe" };
  if (f === "bb" || f === "tb") return { fieldOrder: "bff", detectedBy: "probe" };
  if (f !== undefined || !idet) return undefined;
  const interlaced = idet.tff + idet.bff;
  const total = interlaced + idet.progressive + idet.undetermined;
  if (total === 0 || interlaced < 4 * idet.progressive || interlaced * 2 < total) return undefined;
  const order = idet.tff >= idet.bff ? "tff" : "bff";
  // idet calls telecined film interlaced too; its repeated fields (2 in 5 frames for 3:2) tell them
  // apart. Deinterlacing film would soften its 3 clean frames in 5: it is rebuilt instead.
  const r = idet.repeated;
  const fields = r ? r.neither + r.top + r.bottom : 0;
  if (r && fields > 0 && (r.top + r.bottom) / fields >= 0.2) {
    return { fieldOrder: order, detectedBy: "idet", pulldown: true };
  }
  return { fieldOrder: order, detectedBy: "idet" };
}

/** Whether the probe leaves the scan unknown, so an idet sample should decide. */
export function needsIdet(tags: PictureTags): boolean {
  return tags.fieldOrder === undefined;
}

/** Peak for tone mapping: the stream's MaxCLL, else its mastering peak, else 1000 cd/m² (HDR10's usual grade). */
export function hdrPeakNits(tags: PictureTags): number {
  const peak = tags.maxCll ?? tags.masteringPeakNits ?? 1000;
  return Math.min(10_000, Math.max(100, peak));
}

export function planPicture(
  tags: PictureTags,
  size: { width: number; height: number },
  idet?: IdetCount,
  hdr: "tonemap" | "keep" = "tonemap",
): PicturePlan {
  const plan: PicturePlan = {};
  const deinterlace = fieldOrder(tags, idet);
  if (deinterlace) plan.deinterlace = deinterlace;
  const colour = sourceColour(tags, size);
  if (hdr === "keep") {
    plan.output = "hdr10";
    const pq = colour.transfer === "smpte2084" && colour.primaries === "bt2020" && colour.matrix === "bt2020nc";
    if (!pq || colour.range !== "tv") plan.convertFrom = colour;
    return plan;
  }
  if (colour.transfer === "smpte2084" || colour.transfer === "arib-std-b67") {
    plan.toneMap = { from: colour.transfer, operator: "hable", peakNits: hdrPeakNits(tags) };
    plan.convertFrom = colour;
    return plan;
  }
  const is709 = colour.primaries === "bt709" && colour.matrix === "bt709" && colour.range === "tv";
  if (!is709 || !["bt709", "smpte170m", "bt470bg"].includes(colour.transfer)) plan.convertFrom = colour;
  return plan;
}

/** True when the plan needs CPU filters (GPU decode paths then decode on the CPU instead). */
export function needsCpuFilters(plan: PicturePlan | undefined): boolean {
  return !!plan && (plan.convertFrom !== undefined || plan.deinterlace !== undefined || plan.output === "hdr10");
}

/** HDR10's tags, as output options and on the frames. */
export const hdr10ColourArgs: readonly string[] = [
  "-color_primaries",
  "bt2020",
  "-color_trc",
  "smpte2084",
  "-colorspace",
  "bt2020nc",
  "-color_range",
  "tv",
  ...chromaArgs,
];
const tagHdr10Frames =
  "setparams=field_mode=prog:range=tv:color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc";

/** The output options that tag the plan's output format. */
export function colourArgs(plan: PicturePlan): readonly string[] {
  return plan.output === "hdr10" ? hdr10ColourArgs : outputColourArgs;
}

/** Encoder options that write the HDR10 metadata (x265 and SVT-AV1, the CPU encoders `hdr: keep` uses). */
export function hdr10EncoderParams(codec: "hevc" | "av1", m: Hdr10Metadata): string {
  const d = m.mastering;
  if (codec === "hevc") {
    // x265 counts chromaticity in 0.00002 steps and luminance in 0.0001 cd/m².
    const c = (p: [number, number]) => `(${Math.round(p[0] * 50000)},${Math.round(p[1] * 50000)})`;
    const l = `L(${Math.round(d.maxNits * 10000)},${Math.round(d.minNits * 10000)})`;
    const display = `G${c(d.green)}B${c(d.blue)}R${c(d.red)}WP${c(d.whitePoint)}${l}`;
    return `hdr10=1:master-display=${display}:max-cll=${Math.round(m.maxCll)},${Math.round(m.maxFall)}`;
  }
  const c = (p: [number, number]) => `(${p[0]},${p[1]})`;
  const display = `G${c(d.green)}B${c(d.blue)}R${c(d.red)}WP${c(d.whitePoint)}L(${d.maxNits},${d.minNits})`;
  return `mastering-display=${display}:content-light=${Math.round(m.maxCll)},${Math.round(m.maxFall)}`;
}

// Gamuts wider than BT.709: their colours are mapped through linear light, not relabelled.
const WIDE = new Set(["bt2020", "smpte431", "smpte432"]);

const zin = (c: SourceColour) => `pin=${c.primaries}:tin=${c.transfer}:min=${c.matrix}:rin=${c.range}`;

/**
 * The CPU filter chain from decoded source frames to the output picture: deinterlace (bwdif, one
 * frame per frame so frame counts stay exact), then tone map or colour conversion (zscale), scaling
 * to `size` in the same step when given, then the output format and its tags.
 */
export function pictureFilter(plan: PicturePlan, size?: { width: number; height: number }): string {
  const parts: string[] = [];
  if (plan.deinterlace) parts.push(deinterlaceFilter(plan.deinterlace));
  const wh = size ? `w=${size.width}:h=${size.height}:f=bicubic:` : "";
  const from = plan.convertFrom;
  if (plan.output === "hdr10") return hdr10Filter(parts, plan, size);
  if (plan.toneMap && from) {
    // Linear light at 100 cd/m² per unit, BT.709 gamut, tone map, back to BT.709 gamma and YUV.
    const peak = Number((plan.toneMap.peakNits / 100).toFixed(2));
    parts.push(
      `zscale=${wh}${zin(from)}:t=linear:npl=100`,
      "format=gbrpf32le",
      "zscale=p=bt709",
      `tonemap=tonemap=${plan.toneMap.operator}:desat=0:peak=${peak}`,
      "zscale=t=bt709:m=bt709:r=tv",
    );
  } else if (from && WIDE.has(from.primaries)) {
    parts.push(`zscale=${wh}${zin(from)}:p=bt709:t=bt709:m=bt709:r=tv`);
  } else if (from) {
    // SD's primaries (SMPTE C, EBU) are within a hair of BT.709's: as broadcast up-converters do,
    // the R'G'B' picture is kept and only its matrix and range are converted (red Y' 81 -> 63).
    parts.push(`zscale=${wh}min=${from.matrix}:rin=${from.range}:m=bt709:r=tv`);
  } else if (size) {
    // Bicubic, ffmpeg's default: against lanczos on the job benchmark it gave the same SSIM in a
    // 10% smaller file at the same CRF, for less CPU.
    parts.push(`scale=${size.width}:${size.height}:flags=bicubic`);
  }
  if (size) parts.push("setsar=1");
  parts.push("format=yuv420p", tagFrames);
  return parts.join(",");
}

/**
 * Into HDR10: SDR sources with their white at 203 cd/m² (BT.2408's reference white), HLG at its
 * nominal 1000 cd/m², PQ BT.2020 sources only scaled; 10-bit 4:2:0 tagged BT.2020 PQ.
 */
function hdr10Filter(parts: string[], plan: PicturePlan, size?: { width: number; height: number }): string {
  const from = plan.convertFrom;
  const wh = size ? `w=${size.width}:h=${size.height}:f=bicubic:` : "";
  if (from) {
    const npl = from.transfer === "arib-std-b67" || from.transfer === "smpte2084" ? 1000 : 203;
    parts.push(`zscale=${wh}${zin(from)}:p=bt2020:t=smpte2084:m=bt2020nc:r=tv:npl=${npl}`);
  } else if (size) {
    parts.push(`scale=${size.width}:${size.height}:flags=bicubic`);
  }
  if (size) parts.push("setsar=1");
  parts.push("format=yuv420p10le", tagHdr10Frames);
  return parts.join(",");
}

/** ffmpeg arguments (after the input) that run idet over `frames` frames and discard the output. */
export function idetArgs(frames: number): string[] {
  return ["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", "idet", "-frames:v", String(frames), "-f", "null", "-"];
}

/** idet's multi-frame counts from ffmpeg's stderr; undefined when it printed none. */
export function parseIdet(stderr: string): IdetCount | undefined {
  const m = /Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)\s*Undetermined:\s*(\d+)/.exec(
    stderr,
  );
  if (!m) return undefined;
  const count: IdetCount = {
    tff: Number(m[1]),
    bff: Number(m[2]),
    progressive: Number(m[3]),
    undetermined: Number(m[4]),
  };
  const r = /Repeated Fields:\s*Neither:\s*(\d+)\s*Top:\s*(\d+)\s*Bottom:\s*(\d+)/.exec(stderr);
  if (r) count.repeated = { neither: Number(r[1]), top: Number(r[2]), bottom: Number(r[3]) };
  return count;
}

/**
 * bwdif, one frame per frame so frame counts stay exact; for telecined film, field matching then
 * decimation back to the film's frames (29.97 becomes 23.976), yadif only where no match was clean.
 */
export function deinterlaceFilter(d: NonNullable<PicturePlan["deinterlace"]>): string {
  if (d.pulldown) return `fieldmatch=order=${d.fieldOrder}:combmatch=full,yadif=deint=interlaced,decimate`;
  return `bwdif=mode=send_frame:parity=${d.fieldOrder}:deint=all`;
}
