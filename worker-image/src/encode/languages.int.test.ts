// Audio tracks by language end to end (real ffmpeg, the Rust merge): `reel run` of a season whose
// episodes are a dual-audio MKV (jpn + eng + an English commentary) and an English-only MP4, served
// on loopback, asked for [jpn, eng] with eng the default. The merged file is checked with ffprobe
// and ffmpeg's own measuring filters: track order, languages, dispositions, silence where an
// episode lacked Japanese, every track's sound starting at each join, each track's loudness.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseVideoJob, ReelError, type VideoJobSpec } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type StaticServer, serveDir } from "../cli/serve.ts";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import type { JobResult } from "../pipeline/job.ts";
import { realStages } from "../pipeline/stages-real.ts";
import { DiskCache } from "../resilience/cache.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "..", "cli", "main.ts");
const SECS = 3;
// A tone for 2.5 s, then silence to the episode's end: the next chapter's sound must begin at its start.
const tone = (hz: number, amp: number) =>
  `aevalsrc='if(lt(t,2.5),${amp}*sin(2*PI*${hz}*t),0)':s=48000:c=stereo:d=${SECS}`;
const video = ["-f", "lavfi", "-i", `testsrc2=size=320x240:rate=25:duration=${SECS}`];
const encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"];

/** jpn quiet (-29 LUFS or so), eng loud (-11), and an English commentary the encode must not pick. */
function makeDual(path: string) {
  execFileSync("ffmpeg", [
    ...["-v", "error", "-y", ...video],
    ...["-f", "lavfi", "-i", tone(440, 0.05), "-f", "lavfi", "-i", tone(660, 0.4), "-f", "lavfi", "-i", tone(990, 0.2)],
    ...["-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:a", ...encode],
    ...["-metadata:s:a:0", "language=jpn", "-metadata:s:a:1", "language=eng", "-metadata:s:a:2", "language=eng"],
    ...["-disposition:a:0", "0", "-disposition:a:1", "default", "-disposition:a:2", "comment", path],
  ]);
}

function makeEnglish(path: string) {
  execFileSync("ffmpeg", [
    ...["-v", "error", "-y", ...video, "-f", "lavfi", "-i", tone(550, 0.2)],
    ...["-map", "0:v", "-map", "1:a", ...encode, "-metadata:s:a:0", "language=eng", path],
  ]);
}

/** An HLS VOD: a video-only variant and two audio renditions, jpn (440 Hz) and eng (660 Hz, default). */
function makeHls(dir: string) {
  mkdirSync(dir);
  execFileSync("ffmpeg", [
    ...["-v", "error", "-y", ...video, "-f", "lavfi", "-i", tone(440, 0.2), "-f", "lavfi", "-i", tone(660, 0.2)],
    ...["-map", "0:v", "-map", "1:a", "-map", "2:a", ...encode, "-g", "25", "-ar", "48000"],
    ...["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-master_pl_name", "master.m3u8"],
    ...[
      "-var_stream_map",
      "v:0,agroup:aud a:0,agroup:aud,language:jpn,name:jp a:1,agroup:aud,language:eng,name:en,default:yes",
    ],
    ...["-hls_segment_filename", join(dir, "s%v_%03d.ts"), join(dir, "p%v.m3u8")],
  ]);
}

/**
 * An HLS VOD as most fMP4/CDN streams are laid out: the video variant carries no sound, the sound is
 * one audio rendition of packed audio (raw ADTS AAC segments, no container clock) the master marks
 * DEFAULT=YES. The tone ends 2.5 s after the picture starts.
 */
function makePackedHls(dir: string) {
  mkdirSync(dir);
  execFileSync("ffmpeg", [
    ...["-v", "error", "-y", ...video, ...encode, "-g", "25", "-an"],
    ...["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"],
    ...["-hls_segment_filename", join(dir, "v%03d.ts"), join(dir, "video.m3u8")],
  ]);
  execFileSync("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", tone(440, 0.2), "-c:a", "aac", "-b:a", "96k"],
    ...["-f", "segment", "-segment_format", "adts", "-segment_time", "1", "-segment_list", join(dir, "list.csv")],
    ...["-segment_list_type", "csv", join(dir, "a%03d.aac")],
  ]);
  const segments = readFileSync(join(dir, "list.csv"), "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(","));
  const media = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-TARGETDURATION:2"]
    .concat(segments.flatMap(([file, from, to]) => [`#EXTINF:${(Number(to) - Number(from)).toFixed(6)},`, file ?? ""]))
    .concat("#EXT-X-ENDLIST");
  writeFileSync(join(dir, "audio.m3u8"), `${media.join("\n")}\n`);
  writeFileSync(
    join(dir, "master.m3u8"),
    [
      "#EXTM3U",
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Main",DEFAULT=YES,AUTOSELECT=YES,URI="audio.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64000d,mp4a.40.2",AUDIO="aud"',
      "video.m3u8",
      "",
    ].join("\n"),
  );
}

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;

beforeAll(async () => {
  tmp = await makeTempDir("reel-languages-");
  const src = join(tmp.dir, "src");
  await mkdir(src);
  makeDual(join(src, "dual.mkv"));
  makeEnglish(join(src, "english.mp4"));
  makeHls(join(src, "hls"));
  makePackedHls(join(src, "packed"));
  server = await serveDir(src, { host: "127.0.0.2" });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

const probeJson = (args: string[], path: string) =>
  JSON.parse(execFileSync("ffprobe", ["-v", "error", ...args, "-of", "json", path]).toString());

/** ffmpeg's measuring filter over one audio track between two times: its stderr. */
function measure(path: string, track: number, filter: string, from = 0, to?: number): string {
  const range = ["-ss", String(from), ...(to !== undefined ? ["-t", String(to - from)] : [])];
  const args = ["-nostdin", "-hide_banner", ...range, "-i", path, "-map", `0:a:${track}`, "-af", filter];
  const r = spawnSync("ffmpeg", [...args, "-f", "null", "-"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ffmpeg ${filter}: ${r.stderr}`);
  return r.stderr;
}
const maxVolume = (s: string) => Number(/max_volume: (-?[\d.]+|-inf) dB/.exec(s)?.[1] ?? Number.NaN);
const silenceEnds = (s: string) => [...s.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
const integrated = (s: string) => Number(/I:\s*(-?[\d.]+) LUFS/.exec(s.slice(s.lastIndexOf("Summary:")))?.[1]);

/** Every AAC packet of a track starts where the one before ended: no gap or overlap at any join. */
function packetGaps(path: string, track: number): number[] {
  const out = execFileSync("ffprobe", [
    ...["-v", "error", "-select_streams", `a:${track}`, "-show_entries", "packet=pts_time,duration_time"],
    ...["-of", "csv=p=0", path],
  ]).toString();
  // A packet with side data (the priming packet's skip samples) prints a trailing comma and a blank line.
  const packets = out
    .split("\n")
    .map((l) => l.split(",").filter(Boolean).map(Number))
    .filter((p): p is [number, number] => p.length === 2);
  return packets
    .slice(1)
    .filter(([pts], i) => Math.abs(pts - ((packets[i]?.[0] ?? 0) + (packets[i]?.[1] ?? 0))) > 0.001)
    .map(([pts]) => pts);
}

async function run(name: string, episodes: string[], audio: Record<string, unknown>): Promise<JobResult> {
  const job = join(tmp.dir, `${name}.yaml`);
  await writeFile(
    job,
    stringify({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name },
      spec: {
        episodes: episodes.map((file, i) => ({ url: `${server.origin}/${file}`, title: `Episode ${i + 1}` })),
        quality: "480p",
        compression: { preset: "fast", level: 6 },
        gpu: { policy: "off" },
        audio,
        output: { local: { path: join(tmp.dir, "out") } },
      },
    }),
  );
  const r = await exec(process.execPath, [main, "run", job, "--json", "--allow", "127.0.0.2/32"], {
    env: { ...process.env, REEL_CACHE_DIR: join(tmp.dir, "cache") },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e: { stdout: string; stderr: string }) => e);
  expect(r.stdout, r.stderr).toMatch(/^\{/);
  const result = JSON.parse(r.stdout) as JobResult;
  expect(result.phase, r.stderr).toBe("Completed");
  return result;
}

describe("audio tracks by language", () => {
  it("merges [jpn, eng] in that order in every chapter: eng default, silence where Japanese is missing, sound from each join, each track at -16 LUFS", async () => {
    const result = await run("dual", ["dual.mkv", "english.mp4", "dual.mkv"], {
      languages: ["jpn", "eng"],
      default: "eng",
    });
    const merged = result.output?.location as string;
    const streams = probeJson(["-select_streams", "a", "-show_streams"], merged).streams as {
      tags?: { language?: string };
      disposition: { default: number };
    }[];
    expect(streams.map((s) => [s.tags?.language, s.disposition.default])).toEqual([
      ["jpn", 0],
      ["eng", 1],
    ]);
    const chapters = (probeJson(["-show_chapters"], merged).chapters as { start_time: string }[]).map((c) =>
      Number(c.start_time),
    );
    expect(chapters).toHaveLength(3);
    const [, ch2, ch3] = chapters as [number, number, number];

    // Japanese: the dual episodes' tone in chapters 1 and 3, silence in chapter 2 (the English-only episode).
    expect(maxVolume(measure(merged, 0, "volumedetect", 0.2, 2.3))).toBeGreaterThan(-30);
    // (Away from the joins: a dual episode's sound may start up to a frame before its chapter, below.)
    expect(maxVolume(measure(merged, 0, "volumedetect", ch2 + 0.05, ch3 - 0.05))).toBeLessThan(-80);
    // Each chapter's sound begins at its start (within a frame, 40 ms) on every track: the tone
    // ends 0.5 s before each join, so the silence ends where the next episode's tone begins.
    const near = (list: number[], t: number) => list.some((x) => Math.abs(x - t) <= 0.04);
    const jpnEnds = silenceEnds(measure(merged, 0, "silencedetect=noise=-60dB:d=0.2"));
    const engEnds = silenceEnds(measure(merged, 1, "silencedetect=noise=-60dB:d=0.2"));
    expect(near(jpnEnds, ch3), `jpn silence ends ${jpnEnds}, chapter 3 at ${ch3}`).toBe(true);
    expect(near(engEnds, ch2), `eng silence ends ${engEnds}, chapter 2 at ${ch2}`).toBe(true);
    expect(near(engEnds, ch3), `eng silence ends ${engEnds}, chapter 3 at ${ch3}`).toBe(true);
    expect(packetGaps(merged, 0)).toEqual([]);
    expect(packetGaps(merged, 1)).toEqual([]);

    // The main English mix (660 Hz), not the commentary, and each track brought to -16 LUFS on its own:
    // unnormalised, Japanese would be near -29 LUFS and English near -11.
    for (const track of [0, 1]) {
      const lufs = integrated(measure(merged, track, "ebur128=peak=true", 0, ch2));
      expect(Math.abs(lufs + 16), `track ${track}: ${lufs} LUFS`).toBeLessThanOrEqual(1);
    }
    const commentary = measure(merged, 1, "bandpass=f=990:width_type=h:w=60,volumedetect", 0.2, 2.3);
    const main = measure(merged, 1, "bandpass=f=660:width_type=h:w=60,volumedetect", 0.2, 2.3);
    expect(maxVolume(main) - maxVolume(commentary)).toBeGreaterThan(10); // the commentary (990 Hz) picked would make it negative
    expect(result.episodes[0]?.loudness?.output?.integrated).toBeCloseTo(-16, 0);
    // Status has each track's own gain: the quiet Japanese raised, the loud English lowered; the
    // English-only episode's Japanese is a silent stand-in.
    const gains = (i: number) =>
      result.episodes[i]?.loudness?.tracks?.map((t) => [t.language, t.method, Math.sign(t.gainDb)]);
    expect(gains(0)).toEqual([
      ["jpn", "linear", 1],
      ["eng", "linear", -1],
    ]);
    expect(gains(1)).toEqual([
      ["jpn", "none", 0],
      ["eng", "linear", -1],
    ]);
    // The filled language is said on the episode that lacked it, and only there.
    expect(result.episodes.map((e) => e.warnings?.map((w) => w.code))).toEqual([
      undefined,
      ["REEL_AUDIO_LANGUAGE_MISSING"],
      undefined,
    ]);
    expect(result.episodes[1]?.warnings?.[0]?.message).toContain("no jpn audio track: a silent one stands in");
  }, 240_000);
});

describe("HLS alternate audio renditions", () => {
  it("takes the master's jpn and eng renditions by language into the merged file's tracks", async () => {
    const result = await run("hls", ["hls/master.m3u8", "english.mp4"], { languages: ["jpn", "eng"] });
    const merged = result.output?.location as string;
    const streams = probeJson(["-select_streams", "a", "-show_streams"], merged).streams as {
      tags?: { language?: string };
    }[];
    expect(streams.map((s) => s.tags?.language)).toEqual(["jpn", "eng"]);
    // Each track is its rendition: jpn's 440 Hz tone, eng's 660 Hz, in chapter 1.
    const band = (track: number, hz: number) =>
      maxVolume(measure(merged, track, `bandpass=f=${hz}:width_type=h:w=60,volumedetect`, 0.2, 2.3));
    expect(band(0, 440) - band(0, 660)).toBeGreaterThan(10);
    expect(band(1, 660) - band(1, 440)).toBeGreaterThan(10);
    // In sync with the picture: the tones end 2.5 s after the video starts, as made (measured 2.492
    // and 2.489 s; with each rendition moved to its own start instead, 2.532 and 2.529 s).
    for (const track of [0, 1]) {
      const end = Number(
        /silence_start: ([\d.]+)/.exec(measure(merged, track, "silencedetect=noise=-60dB:d=0.2"))?.[1],
      );
      expect(Math.abs(end - 2.5), `track ${track} tone ends at ${end}`).toBeLessThan(0.02);
    }
    // Chapter 2 (the English-only MP4): Japanese is silence there.
    const chapters = (probeJson(["-show_chapters"], merged).chapters as { start_time: string }[]).map((c) =>
      Number(c.start_time),
    );
    expect(maxVolume(measure(merged, 0, "volumedetect", (chapters[1] ?? 0) + 0.05))).toBeLessThan(-80);
  }, 240_000);
});

describe("the encode stage with languages", () => {
  const ctx = { signal: new AbortController().signal, progress: () => {} };
  const spec = (audio: Record<string, unknown>): VideoJobSpec =>
    parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "stage" },
      spec: {
        episodes: [{ url: "https://cdn.example.com/x.mkv" }],
        quality: "480p",
        compression: { preset: "fast", level: 6 },
        gpu: { policy: "off" },
        audio,
        output: { local: { path: "/nonexistent" } },
      },
    }).spec;
  const stagesWith = (segmentMinSecs: number) =>
    realStages({
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
      ytDlp: "yt-dlp",
      childEnv: {},
      allow: [],
      cacheDir: join(tmp.dir, `stage-cache-${segmentMinSecs}`),
      metadata: new DiskCache(join(tmp.dir, `stage-meta-${segmentMinSecs}`)),
      segmentMinSecs,
      cores: 2,
    });

  it("fails an episode without an asked language with REEL_AUDIO_LANGUAGE_MISSING when missing is fail", async () => {
    const stages = stagesWith(3600);
    const input = join(tmp.dir, "src", "english.mp4");
    const probe = await stages.probe(input, ctx);
    const out = join(tmp.dir, "fail.mp4");
    const err = await stages.encode(input, probe, out, spec({ languages: ["jpn"], missing: "fail" }), ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReelError);
    expect((err as ReelError).code).toBe("REEL_AUDIO_LANGUAGE_MISSING");
    expect((err as ReelError).message).toContain("jpn");
  });

  it("keeps the tracks, languages and dispositions through a segmented encode", async () => {
    const stages = stagesWith(1);
    const input = join(tmp.dir, "src", "dual.mkv");
    const probe = await stages.probe(input, ctx);
    const out = join(tmp.dir, "segmented.mp4");
    await stages.encode(input, probe, out, spec({ languages: ["eng", "jpn", "fra"], default: "jpn" }), ctx);
    const streams = probeJson(["-select_streams", "a", "-show_streams"], out).streams as {
      tags?: { language?: string };
      disposition: { default: number };
      duration: string;
    }[];
    expect(streams.map((s) => [s.tags?.language, s.disposition.default])).toEqual([
      ["eng", 0],
      ["jpn", 1],
      ["fra", 0],
    ]);
    expect(maxVolume(measure(out, 2, "volumedetect"))).toBeLessThan(-80);
    for (const s of streams) expect(Math.abs(Number(s.duration) - SECS)).toBeLessThan(0.05);
  });
});

describe("HLS whose sound is only in an audio rendition", () => {
  it("takes the master's default packed-AAC rendition when no languages are asked, in sync with the picture", async () => {
    const result = await run("packed", ["packed/master.m3u8"], {});
    expect(result.episodes[0]?.source?.audioCodec).toBe("aac");
    const merged = result.output?.location as string;
    // Sound, not the silence an unheard rendition left (the output had no audio track at all).
    expect(maxVolume(measure(merged, 0, "volumedetect", 0.2, 2.3))).toBeGreaterThan(-30);
    // Placed at the picture's start: the tone ends 2.5 s in (packed audio has no clock of its own;
    // read from 0 against the variant's 1.4 s MPEG-TS start it would end about 1.4 s early).
    const end = Number(/silence_start: ([\d.]+)/.exec(measure(merged, 0, "silencedetect=noise=-60dB:d=0.2"))?.[1]);
    expect(Math.abs(end - 2.5), `the tone ends at ${end}`).toBeLessThan(0.05);
  }, 240_000);
});
