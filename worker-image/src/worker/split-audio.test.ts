// A split episode's audio (cluster, spec.split) is encoded once for the whole episode by the pod
// that cuts it: it gets the same loudness treatment as a whole episode.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseVideoJob } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loudnessOf, outputFacts } from "../ffmpeg/fidelity-media.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { audioTagArgs } from "../encode/audio-tracks.ts";
import { prepareSidecar } from "../subtitles/sidecar.ts";
import { subtitleTagArgs } from "../subtitles/tracks.ts";
import { joinWithAudio } from "../segments/join.ts";
import { cutSource, shouldSplit } from "./split.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir("reel-split-audio-");
});
afterAll(async () => {
  await tmp?.cleanup();
});

const spec = parseVideoJob({
  apiVersion: "reel.dev/v1alpha1",
  kind: "VideoJob",
  metadata: { name: "split" },
  spec: {
    episodes: [{ url: "https://cdn.example.com/long.mp4" }],
    split: { segmentDuration: "1s" },
    output: { local: { path: "/nonexistent" } },
  },
}).spec;

describe("cutSource", () => {
  it("normalises the episode's audio to -16 LUFS within 1 LU, in stereo 48 kHz", async () => {
    const source = join(tmp.dir, "quiet.mp4");
    await makeTestClip(source, { seconds: 3, gop: 25, extra: ["-af", "volume=0.05"] });
    expect((await loudnessOf(source)).integrated).toBeLessThan(-40);
    const cut = await cutSource({
      source,
      spec,
      workDir: join(tmp.dir, "work"),
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
    });
    expect(cut?.segments.length).toBeGreaterThanOrEqual(2);
    const audio = cut?.audio as string;
    expect(Math.abs((await loudnessOf(audio)).integrated + 16)).toBeLessThanOrEqual(1);
    expect(await outputFacts(audio)).toMatchObject({ channels: 2, sampleRate: 48000 });
    // What status shows for the split episode: the source's level, and the metered result.
    expect(cut?.loudness?.method).toBe("linear");
    expect(cut?.loudness?.input.integrated).toBeLessThan(-40);
    expect(Math.abs((cut?.loudness?.output?.integrated ?? 0) + 16)).toBeLessThanOrEqual(1);
  });
});

describe("cutSource with audio languages", () => {
  it("encodes the job's tracks by language once, and the join writes their languages and default", async () => {
    const source = join(tmp.dir, "dual.mp4");
    await makeTestClip(source, { seconds: 3, gop: 25 });
    // The clip's tone as English, and the same tone 20 dB down as a Japanese second track.
    const dual = join(tmp.dir, "dual-tagged.mp4");
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", "-i", source, "-map", "0:v", "-map", "0:a", "-map", "0:a", "-c:v", "copy"],
      ...["-filter:a:1", "volume=0.1", "-c:a", "aac", "-metadata:s:a:0", "language=eng"],
      ...["-metadata:s:a:1", "language=jpn", dual],
    ]);
    const withLanguages = { ...spec, audio: { ...spec.audio, languages: ["jpn", "eng", "fra"], default: "eng" } };
    const cut = await cutSource({
      source: dual,
      spec: withLanguages,
      workDir: join(tmp.dir, "work-dual"),
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
    });
    expect(cut?.audioTracks?.map((t) => [t.language, t.source !== undefined, t.dispositions])).toEqual([
      ["jpn", true, []],
      ["eng", true, ["default"]],
      ["fra", false, []],
    ]);
    // The merge pod's join, with the tags the split record carries (the joiner stands in for the
    // encoded segments with the source's video).
    const video = join(tmp.dir, "video-only.mp4");
    execFileSync("ffmpeg", ["-v", "error", "-y", "-i", dual, "-map", "0:v", "-c", "copy", video]);
    const out = join(tmp.dir, "joined.mp4");
    await joinWithAudio({
      joiner: (_segments, output) => copyFile(video, output),
      segments: (cut?.segments ?? []).map((s) => s.path),
      audio: cut?.audio as string,
      audioTags: audioTagArgs(cut?.audioTracks ?? []),
      output: out,
      workDir: join(tmp.dir, "work-dual"),
    });
    const streams = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-select_streams", "a", "-show_streams", "-of", "json", out]).toString(),
    ).streams as { tags?: { language?: string }; disposition: { default: number } }[];
    expect(streams.map((s) => [s.tags?.language, s.disposition.default])).toEqual([
      ["jpn", 0],
      ["eng", 1],
      ["fra", 0],
    ]);
    // Each track brought to -16 LUFS on its own: the Japanese one is 20 dB quieter in the source.
    for (const track of [0, 1]) {
      const args = ["-nostdin", "-hide_banner", "-i", out, "-map", `0:a:${track}`, "-af", "ebur128"];
      const stderr = spawnSync("ffmpeg", [...args, "-f", "null", "-"], { encoding: "utf8" }).stderr;
      const lufs = Number(/I:\s*(-?[\d.]+) LUFS/.exec(stderr.slice(stderr.lastIndexOf("Summary:")))?.[1]);
      expect(Math.abs(lufs + 16), `track ${track}: ${lufs} LUFS`).toBeLessThanOrEqual(1);
    }
  });
});

describe("shouldSplit", () => {
  it("never splits an episode whose subtitles are burned in", () => {
    const long = { ...spec, split: { ...spec.split, minDuration: "1s" } };
    expect(shouldSplit(long, 60)).toBe(true);
    expect(shouldSplit({ ...long, subtitles: { burnIn: "eng" } }, 60)).toBe(false);
  });
});

describe("cutSource with subtitles", () => {
  it("carries the source's and the episode's own subtitles in the audio file, and the join writes their languages", async () => {
    const clip = join(tmp.dir, "subs-clip.mp4");
    await makeTestClip(clip, { seconds: 3, gop: 25 });
    const srt = join(tmp.dir, "eng.srt");
    await writeFile(srt, "1\n00:00:02,000 --> 00:00:02,800\nTwo seconds in\n");
    const source = join(tmp.dir, "subs.mkv");
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", "-i", clip, "-i", srt, "-map", "0", "-map", "1", "-c:v", "copy", "-c:a", "copy"],
      ...["-c:s", "srt", "-metadata:s:s:0", "language=eng", source],
    ]);
    const raw = join(tmp.dir, "jpn.vtt.raw");
    await writeFile(raw, "WEBVTT\n\n00:01.000 --> 00:01.500\nIchi\n");
    const sidecar = await prepareSidecar(raw, join(tmp.dir, "jpn.vtt"), "jpn");
    const withSubtitles = { ...spec, subtitles: { languages: ["eng", "jpn"] } };
    const work = join(tmp.dir, "work-subs");
    const binaries = { ffmpeg: "ffmpeg", ffprobe: "ffprobe" };
    const cut = await cutSource({ source, spec: withSubtitles, workDir: work, binaries, subtitles: [sidecar] });
    expect(cut?.subtitles).toEqual([{ language: "eng" }, { language: "jpn" }]);
    const video = join(tmp.dir, "subs-video.mp4");
    execFileSync("ffmpeg", ["-v", "error", "-y", "-i", clip, "-map", "0:v", "-c", "copy", video]);
    const out = join(tmp.dir, "subs-joined.mp4");
    await joinWithAudio({
      joiner: (_segments, output) => copyFile(video, output),
      segments: [],
      audio: cut?.audio as string,
      audioTags: subtitleTagArgs(cut?.subtitles ?? []),
      output: out,
      workDir: work,
    });
    const probe = execFileSync("ffprobe", [
      ...["-v", "error", "-select_streams", "s", "-show_entries", "stream=codec_name:stream_tags=language"],
      ...["-of", "csv=p=0", out],
    ]);
    expect(probe.toString().trim().split("\n")).toEqual(["mov_text,eng", "mov_text,jpn"]);
    const cue = (n: number) =>
      execFileSync("ffmpeg", ["-v", "error", "-i", out, "-map", `0:s:${n}`, "-f", "srt", "-"]).toString();
    // Within a frame: an MKV made from an MP4 starts its streams 21 ms in (the AAC priming).
    const start = (text: string) => Number(/00:00:(\d\d,\d{3}) -->/.exec(text)?.[1]?.replace(",", "."));
    expect(cue(0)).toContain("Two seconds in");
    expect(Math.abs(start(cue(0)) - 2.0)).toBeLessThan(0.04);
    expect(cue(1)).toContain("Ichi");
    expect(Math.abs(start(cue(1)) - 1.0)).toBeLessThan(0.04);
  });
});
