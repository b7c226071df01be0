// The audio tracks an episode keeps by language, each with its own loudness plan: every kept
// source track is measured alone (EBU R128 in the job's layout, audio only) so that a quiet
// commentary and a loud dub each reach the target. The choice and the arguments are in audio-tracks.ts.
import type { VideoJobSpec } from "@reel/crds";
import { type AnalyseOptions, analyseSource, type Fidelity } from "../ffmpeg/analyse.ts";
import { inputArgs } from "../ffmpeg/input.ts";
import { runFfmpeg } from "../ffmpeg/run.ts";
import { parseEbur128, planLoudness, type SoundPlan, soundMeasureArgs } from "../ffmpeg/sound.ts";
import type { ProbeResult } from "../probe/parse.ts";
import { type AudioTrackPlan, chooseAudioTracks, type EncodeAudioTrack } from "./audio-tracks.ts";

/** What an encode needs to write the job's audio tracks; undefined when the job names no languages. */
export async function planAudioTracks(
  input: string,
  p: ProbeResult,
  audio: VideoJobSpec["audio"] | undefined,
  o: AnalyseOptions,
): Promise<{ tracks: EncodeAudioTrack[]; durationSecs: number } | undefined> {
  const plans = audio ? chooseAudioTracks(p.audioTracks ?? [], audio) : undefined;
  if (!audio || !plans) return undefined;
  const tracks = await Promise.all(plans.map(async (t) => ({ ...t, sound: await trackSound(input, p, t, audio, o) })));
  return { tracks, durationSecs: p.durationSecs };
}

/** One track's layout and gain: measured when normalising a source track; silence gets none. */
async function trackSound(
  input: string,
  p: ProbeResult,
  t: AudioTrackPlan,
  audio: VideoJobSpec["audio"],
  o: AnalyseOptions,
): Promise<SoundPlan> {
  const sound: SoundPlan = { layout: audio.layout };
  if (t.source === undefined || audio.loudness.mode !== "normalize") return sound;
  const args = ["-y", ...inputArgs({ path: input, demuxer: p.demuxer, limits: o.inputLimits })];
  const r = await runFfmpeg([...args, ...soundMeasureArgs(audio.layout, `0:${t.source}`)], {
    binaries: o.binaries,
    signal: o.signal,
    label: `measure ${t.language} loudness`,
  });
  const measured = parseEbur128(r.stderr);
  if (measured) sound.loudness = planLoudness(measured, audio.loudness);
  return sound;
}

/**
 * The source's analysis (ffmpeg/analyse.ts) with the job's tracks by language: each track has been
 * measured alone above, so the first-track pass is skipped and the first kept track's plan is the
 * one status reports (its output is the one metered).
 */
export async function analyseWithTracks(
  input: string,
  p: ProbeResult,
  spec: Pick<VideoJobSpec, "audio" | "hdr" | "merge">,
  o: AnalyseOptions,
): Promise<Fidelity & { audioTracks?: { tracks: EncodeAudioTrack[]; durationSecs: number } }> {
  const audioTracks = await planAudioTracks(input, p, spec.audio, o);
  if (!audioTracks) return analyseSource(input, p, spec, o);
  const quiet = { ...spec, audio: { ...spec.audio, loudness: { ...spec.audio.loudness, mode: "off" as const } } };
  const fidelity = await analyseSource(input, p, quiet, o);
  const first = audioTracks.tracks.find((t) => t.sound.loudness) ?? audioTracks.tracks[0];
  return { ...fidelity, sound: first?.sound ?? fidelity.sound, audioTracks };
}
