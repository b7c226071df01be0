// The passes over a source before its encode that decide what the encode does to it: loudness
// (audio only, the video is never decoded) and, when the probe leaves the scan unknown, an idet
// sample. The I/O is here; what to do with the figures is decided in picture.ts and sound.ts.
import type { EpisodeStatus, VideoJobSpec } from "@reel/crds";
import type { ProbeResult } from "../probe/parse.ts";
import { seconds } from "./args.ts";
import { type InputLimits, inputArgs } from "./input.ts";
import { type PictureTags, type RawPictureStream, readPictureTags } from "../probe/picture.ts";
import { safeProbeInput } from "../probe/probe.ts";
import { execCommand } from "./exec.ts";
import { hdr10For, type IdetCount, idetArgs, needsIdet, type PicturePlan, parseIdet, planPicture } from "./picture.ts";
import { type FfmpegBinaries, runFfmpeg } from "./run.ts";
import { type LoudnessMeasure, parseEbur128, planLoudness, type SoundPlan, soundMeasureArgs } from "./sound.ts";

export interface AnalyseOptions {
  binaries: FfmpegBinaries;
  signal?: AbortSignal;
  inputLimits?: InputLimits;
}

/** Frames idet looks at: about 8 s of 25 fps, enough for its multi-frame count to settle. */
export const IDET_FRAMES = 200;

/** EBU R128 of the first audio track as the job will hear it (its layout, 48 kHz). */
export async function measureLoudness(
  input: string,
  p: ProbeResult,
  layout: SoundPlan["layout"],
  o: AnalyseOptions,
): Promise<LoudnessMeasure | undefined> {
  const args = ["-y", ...inputArgs({ path: input, demuxer: p.demuxer, limits: o.inputLimits })];
  const r = await runFfmpeg([...args, ...soundMeasureArgs(layout)], {
    binaries: o.binaries,
    signal: o.signal,
    label: "measure loudness",
  });
  return parseEbur128(r.stderr);
}

/** idet over a sample from a third of the way in (openings are often black or still). */
export async function detectInterlace(
  input: string,
  p: ProbeResult,
  o: AnalyseOptions,
): Promise<IdetCount | undefined> {
  const fromSecs = Math.min(p.durationSecs / 3, 120);
  const before = fromSecs > 1 ? ["-ss", seconds(fromSecs)] : [];
  const args = ["-y", ...inputArgs({ path: input, demuxer: p.demuxer, limits: o.inputLimits, before })];
  const r = await runFfmpeg([...args, ...idetArgs(IDET_FRAMES)], {
    binaries: o.binaries,
    signal: o.signal,
    label: "detect interlacing",
  });
  return parseIdet(r.stderr);
}

// A spec written before `audio` existed (an older operator's pod env) gets the schema's default.
const defaultAudio: VideoJobSpec["audio"] = {
  loudness: { mode: "normalize", integrated: -16, truePeak: -1.5 },
  layout: "stereo",
};

export interface Fidelity {
  picture: PicturePlan;
  sound: SoundPlan;
}

/** Runs the passes the source needs (at once: one reads audio, the other a few video frames) and plans. */
export async function analyseSource(
  input: string,
  p: ProbeResult,
  spec: Partial<Pick<VideoJobSpec, "audio" | "hdr" | "merge">>,
  o: AnalyseOptions,
): Promise<Fidelity> {
  const [sound, idet, tags] = await Promise.all([
    planSound(input, p, spec.audio, o),
    needsIdet(p.video.picture) ? detectInterlace(input, p, o) : Promise.resolve(undefined),
    withFrameLightLevels(input, p, o),
  ]);
  const hdr = spec.hdr ?? "tonemap";
  const picture = planPicture(tags, p.video, idet, hdr);
  if (hdr === "keep") picture.hdr10 = hdr10For(tags, spec.merge?.enabled === false);
  return { picture, sound };
}

/**
 * An HDR source's tags with its light levels: MP4 keeps HDR10 metadata in the first frame's SEI,
 * not in the stream header, so that frame is read (one frame decoded) when the header has none.
 */
export async function withFrameLightLevels(input: string, p: ProbeResult, o: AnalyseOptions): Promise<PictureTags> {
  const tags = p.video.picture;
  const hdr = tags.transfer === "smpte2084" || tags.transfer === "arib-std-b67";
  if (!hdr || tags.mastering || tags.maxCll) return tags;
  const args = ["-v", "error", "-select_streams", "v:0", "-show_frames", "-read_intervals", "%+#1"];
  const r = await execCommand(o.binaries.ffprobe, [...args, "-of", "json", ...safeProbeInput(input, o.inputLimits)], {
    signal: o.signal,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) return tags;
  try {
    const frame = (JSON.parse(r.stdout).frames ?? [])[0] as RawPictureStream | undefined;
    return { ...readPictureTags({ side_data_list: frame?.side_data_list }), ...tags };
  } catch {
    return tags; // no light levels: the defaults apply
  }
}

/** The sound plan alone: the job's layout, and the gain from a loudness pass when normalising. */
export async function planSound(
  input: string,
  p: ProbeResult,
  audio: VideoJobSpec["audio"] = defaultAudio,
  o: AnalyseOptions,
): Promise<SoundPlan> {
  const sound: SoundPlan = { layout: audio.layout };
  if (audio.loudness.mode !== "normalize" || !p.hasAudio) return sound;
  const measured = await measureLoudness(input, p, audio.layout, o);
  if (measured) sound.loudness = planLoudness(measured, audio.loudness);
  return sound;
}

type Status = Pick<EpisodeStatus, "loudness" | "picture">;

const finite = (n: number) => (Number.isFinite(n) ? n : undefined);
const level = (m: LoudnessMeasure, withLra: boolean) =>
  JSON.parse(
    JSON.stringify({
      integrated: finite(m.integrated),
      truePeak: finite(m.truePeak),
      lra: withLra ? m.lra : undefined,
    }),
  ) as NonNullable<EpisodeStatus["loudness"]>["input"];

/** What status says was done: the loudness measured before and after, the picture's treatment. */
export function fidelityStatus(f: Fidelity, output?: LoudnessMeasure): Status {
  const out: Status = {};
  const l = f.sound.loudness;
  if (l) {
    out.loudness = { method: l.method, gainDb: l.gainDb, target: l.target.integrated, input: level(l.input, true) };
    if (output) out.loudness.output = level(output, false);
  }
  const pic: NonNullable<EpisodeStatus["picture"]> = {};
  const { toneMap, deinterlace, convertFrom } = f.picture;
  if (toneMap) pic.toneMapped = { ...toneMap };
  if (deinterlace) pic.deinterlaced = { ...deinterlace };
  if (convertFrom && !toneMap) {
    const c = convertFrom;
    pic.convertedFrom = `${c.primaries}/${c.transfer}/${c.matrix}, ${c.range === "pc" ? "full" : "limited"} range`;
  }
  if (Object.keys(pic).length) out.picture = pic;
  return out;
}
