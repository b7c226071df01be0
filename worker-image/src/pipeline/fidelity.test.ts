// The encode stage (real ffmpeg) on sources that differ the ways real ones do — HDR, interlaced,
// full range, BT.601 SD, quiet and loud, mono and 5.1 — each checked on the output: tags, idet,
// ebur128, luma and saturation against a reference conversion; and what status says was done.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { parseVideoJob, type VideoJobSpec } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  idetOf,
  loudnessOf,
  makeSource,
  outputFacts,
  pictureStats,
  type SourceSpec,
} from "../ffmpeg/fidelity-media.ts";
import { execCommand } from "../ffmpeg/exec.ts";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { DiskCache } from "../resilience/cache.ts";
import type { Encoded } from "./stages.ts";
import { realStages } from "./stages-real.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let stages: ReturnType<typeof realStages>;
const ctx = { signal: new AbortController().signal, progress: () => {} };

function spec(audio: Record<string, unknown> = {}, over: Record<string, unknown> = {}): VideoJobSpec {
  return parseVideoJob({
    apiVersion: "reel.dev/v1alpha1",
    kind: "VideoJob",
    metadata: { name: "fidelity" },
    spec: {
      episodes: [{ url: "https://cdn.example.com/x.mp4" }],
      quality: "480p",
      compression: { preset: "fast", level: 6 },
      gpu: { policy: "off" },
      audio,
      output: { local: { path: "/nonexistent" } },
      ...over,
    },
  }).spec;
}

/** Makes the source, encodes it through the real stage, returns the output and the stage's report. */
async function encode(name: string, source: SourceSpec, s = spec()): Promise<{ out: string; enc: Encoded }> {
  const ext = source.picture.endsWith("untagged") ? "avi" : "mp4";
  const input = join(tmp.dir, `${name}.${ext}`);
  await makeSource(input, source);
  const out = join(tmp.dir, `${name}.out.mp4`);
  const probe = await stages.probe(input, ctx);
  const enc = await stages.encode(input, probe, out, s, ctx);
  return { out, enc };
}

const TARGET = -16;
const SIZE = { width: 640, height: 360 };

beforeAll(async () => {
  tmp = await makeTempDir("reel-fidelity-");
  stages = realStages({
    binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
    ytDlp: "yt-dlp",
    childEnv: {},
    allow: [],
    cacheDir: join(tmp.dir, "cache"),
    metadata: new DiskCache(join(tmp.dir, "meta")),
    segmentMinSecs: 3600,
  });
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe("picture", () => {
  it("tone-maps PQ BT.2020 10-bit to SDR BT.709: tagged, near a reference conversion, not washed out", async () => {
    const { out, enc } = await encode("pq", { picture: "pq", sound: { kind: "none" } });
    expect(await outputFacts(out)).toMatchObject({
      pixFmt: "yuv420p",
      primaries: "bt709",
      transfer: "bt709",
      matrix: "bt709",
      range: "tv",
    });
    expect(enc.picture?.toneMapped).toEqual({ from: "smpte2084", operator: "hable", peakNits: 1000 });
    const src = join(tmp.dir, "pq.mp4");
    // The textbook chain, run by hand on the source (zscale to linear light, BT.709 gamut, hable).
    const reference = await pictureStats(
      src,
      "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0:peak=10,zscale=t=bt709:m=bt709:r=tv,format=yuv420p",
    );
    // What a player shows when it ignores the HDR tags: the PQ code values as if they were SDR.
    const washedOut = await pictureStats(src, "format=yuv420p");
    const ours = await pictureStats(out);
    expect(Math.abs(ours.yavg - reference.yavg)).toBeLessThan(reference.yavg * 0.05);
    expect(Math.abs(ours.satavg - reference.satavg)).toBeLessThan(reference.satavg * 0.08);
    expect(ours.satavg).toBeGreaterThan(washedOut.satavg * 2);
  });

  it("tone-maps from the source's MaxCLL when its frames carry HDR10 metadata", async () => {
    const { enc } = await encode("pq-cll", { picture: "pq", sound: { kind: "none" }, hdr10: true, secs: 1 });
    expect(enc.picture?.toneMapped?.peakNits).toBe(2000);
  });

  it("tone-maps HLG too", async () => {
    const { out, enc } = await encode("hlg", { picture: "hlg", sound: { kind: "none" } });
    expect(enc.picture?.toneMapped?.from).toBe("arib-std-b67");
    expect(await outputFacts(out)).toMatchObject({ primaries: "bt709", transfer: "bt709", matrix: "bt709" });
  });

  it("deinterlaces a source whose field order the probe states: idet finds no interlaced frames after", async () => {
    const src = join(tmp.dir, "inter.mp4");
    // 640x360: at 320x240 the re-encode's artefacts alone make idet call a few frames interlaced.
    const { out, enc } = await encode("inter", { picture: "interlaced", sound: { kind: "none" }, ...SIZE });
    const before = await idetOf(src);
    expect(before.interlaced).toBeGreaterThan(before.progressive * 4); // the source really is interlaced
    expect(enc.picture?.deinterlaced).toEqual({ fieldOrder: "tff", detectedBy: "probe" });
    const after = await idetOf(out);
    expect(after.interlaced).toBe(0);
    expect((await outputFacts(out)).fieldOrder).toBe("progressive");
  });

  it("finds interlacing with idet when nothing states the field order, and leaves progressive alone", async () => {
    const inter = await encode("inter-untagged", { picture: "interlaced-untagged", sound: { kind: "none" }, ...SIZE });
    expect(inter.enc.picture?.deinterlaced).toEqual({ fieldOrder: "tff", detectedBy: "idet" });
    expect((await idetOf(inter.out)).interlaced).toBe(0);
    const prog = await encode("prog-untagged", { picture: "progressive-untagged", sound: { kind: "none" } });
    expect(prog.enc.picture?.deinterlaced).toBeUndefined();
  });

  it("rebuilds telecined film into its 23.976 frames instead of deinterlacing it", async () => {
    const source = { picture: "telecine-untagged", sound: { kind: "none" }, secs: 4, ...SIZE } as const;
    const { out, enc } = await encode("telecine", source);
    expect(enc.picture?.deinterlaced).toEqual({ fieldOrder: "tff", detectedBy: "idet", pulldown: true });
    expect((await idetOf(out)).interlaced).toBe(0);
    const r = await execCommand(
      "ffprobe",
      ["-v", "error", "-select_streams", "v:0", "-count_frames"].concat([
        "-show_entries",
        "stream=nb_read_frames",
        "-of",
        "csv=p=0",
        out,
      ]),
    );
    // 4 s of 29.97i (120 frames) carry 96 film frames.
    expect(Math.abs(Number(r.stdout.trim()) - 96)).toBeLessThanOrEqual(2);
  });

  it("converts a full-range source to limited range (white 255 becomes 235), not just relabelled", async () => {
    const { out, enc } = await encode("full", { picture: "full", sound: { kind: "none" } });
    expect(enc.picture?.convertedFrom).toBe("bt709/bt709/bt709, full range");
    expect(await outputFacts(out)).toMatchObject({ range: "tv", matrix: "bt709", pixFmt: "yuv420p" });
    const s = await pictureStats(out);
    expect(s.ymax).toBeGreaterThanOrEqual(230);
    expect(s.ymax).toBeLessThanOrEqual(240);
  });

  it("converts BT.601 SD to BT.709: a red picture's luma is recomputed (81 becomes 63)", async () => {
    const { out, enc } = await encode("sd601", { picture: "bt601", sound: { kind: "none" } });
    expect(enc.picture?.convertedFrom).toBe("smpte170m/smpte170m/smpte170m, limited range");
    expect(await outputFacts(out)).toMatchObject({ primaries: "bt709", transfer: "bt709", matrix: "bt709" });
    expect((await pictureStats(join(tmp.dir, "sd601.mp4"))).yavg).toBeCloseTo(81, -0.5);
    expect((await pictureStats(out)).yavg).toBeCloseTo(63, -0.5); // relabelled it would stay 81
  });

  it("tags a plain BT.709 source and reports nothing done to it", async () => {
    const { out, enc } = await encode("plain", { picture: "bt709", sound: { kind: "none" } });
    expect(enc.picture).toBeUndefined();
    expect(await outputFacts(out)).toMatchObject({
      primaries: "bt709",
      transfer: "bt709",
      matrix: "bt709",
      range: "tv",
    });
  });
});

/** The first frame's HDR10 side data, as ffprobe reads it. */
async function frameLightLevels(path: string): Promise<{ maxLuminance?: string; maxContent?: number }> {
  const r = await execCommand("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_frames",
    "-read_intervals",
    "%+#1",
    "-of",
    "json",
    path,
  ]);
  const sd = (JSON.parse(r.stdout).frames?.[0]?.side_data_list ?? []) as Record<string, string | number>[];
  const md = sd.find((x) => x.side_data_type === "Mastering display metadata");
  const cll = sd.find((x) => x.side_data_type === "Content light level metadata");
  return { maxLuminance: md?.max_luminance as string, maxContent: cll?.max_content as number };
}

describe("measuring a converted episode (encoders without their own scores: SVT-AV1, GPUs)", () => {
  it.each([
    ["BT.601 SD", { picture: "bt601", sound: { kind: "none" } }],
    ["PQ HDR", { picture: "pq", sound: { kind: "none" } }],
  ] as const)("compares %s against the source converted the same way", async (name, source) => {
    const s = spec({}, { codec: "av1" });
    const { out, enc } = await encode(`measure-${name.replaceAll(" ", "")}`, source, s);
    expect(enc.quality).toBeUndefined(); // SVT-AV1 reports no SSIM of its own: the measure stage runs
    const input = join(tmp.dir, `measure-${name.replaceAll(" ", "")}.mp4`);
    const q = await stages.measure(input, out, await stages.probe(input, ctx), ctx);
    // Against the unconverted source: BT.601 red is Y 81 there and 63 here (PSNR about 23 dB).
    expect(q.psnr).toBeGreaterThan(35);
    expect(q.ssim).toBeGreaterThan(0.95);
  });
});

describe("hdr: keep", () => {
  const keep = (codec: "hevc" | "av1", over: Record<string, unknown> = {}) => spec({}, { codec, hdr: "keep", ...over });
  const HDR10 = { pixFmt: "yuv420p10le", primaries: "bt2020", transfer: "smpte2084", matrix: "bt2020nc", range: "tv" };

  it("keeps a PQ source HDR10 in hevc: 10-bit, BT.2020 PQ tags, mastering display and MaxCLL, not tone-mapped", async () => {
    const { out, enc } = await encode("keep-pq", { picture: "pq", sound: { kind: "none" } }, keep("hevc"));
    expect(await outputFacts(out)).toMatchObject(HDR10);
    expect(await frameLightLevels(out)).toEqual({ maxLuminance: "10000000/10000", maxContent: 1000 });
    expect(enc.picture?.toneMapped).toBeUndefined();
  });

  it("maps an SDR source into HDR10 with its white at 203 cd/m² (10-bit PQ code about 573)", async () => {
    const { out, enc } = await encode("keep-sdr", { picture: "bt709", sound: { kind: "none" } }, keep("hevc"));
    expect(await outputFacts(out)).toMatchObject(HDR10);
    expect(enc.picture?.convertedFrom).toContain("bt709");
    const { ymax } = await pictureStats(out);
    expect(ymax).toBeGreaterThan(555);
    expect(ymax).toBeLessThan(590);
  });

  it("gives SDR and PQ episodes one parameter set, so they merge without normalising", async () => {
    const sdr = join(tmp.dir, "keep-sdr.out.mp4");
    const pq = join(tmp.dir, "keep-pq.out.mp4");
    expect(await stages.compatible([sdr, pq])).toEqual([]);
  });

  it("keeps a source's own mastering display and light levels when each episode is its own file", async () => {
    const s = keep("hevc", { merge: { enabled: false } });
    const { out } = await encode("keep-own", { picture: "pq", sound: { kind: "none" }, hdr10: true, secs: 1 }, s);
    expect(await frameLightLevels(out)).toEqual({ maxLuminance: "40000000/10000", maxContent: 2000 });
  });

  it("writes HDR10 with SVT-AV1 for av1", async () => {
    const s = keep("av1", { compression: { preset: "fast", level: 9 } });
    const { out } = await encode("keep-av1", { picture: "pq", sound: { kind: "none" }, secs: 1 }, s);
    expect(await outputFacts(out)).toMatchObject(HDR10);
    expect((await frameLightLevels(out)).maxContent).toBe(1000);
  });
});

describe("a long episode encoded in parallel segments", () => {
  it("gets the same treatment: deinterlaced, BT.709 tags, loudness to target, status says so", async () => {
    const segmented = realStages({
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
      ytDlp: "yt-dlp",
      childEnv: {},
      allow: [],
      cacheDir: join(tmp.dir, "cache"),
      metadata: new DiskCache(join(tmp.dir, "meta")),
      segmentMinSecs: 1,
      cores: 2,
    });
    const input = join(tmp.dir, "long.mp4");
    const sound = { kind: "sine", volume: 0.02, channels: 2 } as const;
    await makeSource(input, { picture: "interlaced", sound, secs: 4, gop: 25, ...SIZE });
    const out = join(tmp.dir, "long.out.mp4");
    const enc = await segmented.encode(input, await segmented.probe(input, ctx), out, spec(), ctx);
    // The segmented path ran: its work folder sits beside the output.
    expect((await stat(join(tmp.dir, "segments"))).isDirectory()).toBe(true);
    expect(enc.picture?.deinterlaced?.detectedBy).toBe("probe");
    expect((await idetOf(out)).interlaced).toBe(0);
    expect(await outputFacts(out)).toMatchObject({ primaries: "bt709", matrix: "bt709", range: "tv", channels: 2 });
    expect(Math.abs((await loudnessOf(out)).integrated - TARGET)).toBeLessThanOrEqual(1);
    expect(Math.abs((enc.loudness?.output?.integrated ?? 0) - TARGET)).toBeLessThanOrEqual(1);
  });
});

describe("sound", () => {
  it.each([
    ["a quiet sine", { kind: "sine", volume: 0.01, channels: 2 }, "linear"],
    ["loud pink noise", { kind: "noise", gainDb: 12 }, "linear"],
    ["a quiet sine with loud clicks", { kind: "clicks" }, "limited"],
  ] as const)("brings %s to -16 LUFS within 1 LU, true peak under the ceiling", async (name, sound, method) => {
    const { out, enc } = await encode(name.replaceAll(" ", "-"), { picture: "bt709", sound });
    const measured = await loudnessOf(out);
    expect(Math.abs(measured.integrated - TARGET)).toBeLessThanOrEqual(1);
    expect(enc.loudness?.method).toBe(method);
    // The ceiling holds on the sound that goes into the encoder; AAC adds up to about a dB on clicks.
    expect(enc.loudness?.output?.truePeak).toBeLessThanOrEqual(-1.4);
    expect(measured.truePeak).toBeLessThanOrEqual(-0.5);
    expect(Math.abs((enc.loudness?.output?.integrated ?? 0) - TARGET)).toBeLessThanOrEqual(1);
    expect(Math.abs((enc.loudness?.input.integrated ?? 0) - TARGET)).toBeGreaterThan(3);
  });

  it("mixes mono and 5.1 to stereo 48 kHz by default, and keeps 5.1 when asked", async () => {
    const mono = await encode("mono", {
      picture: "bt709",
      sound: { kind: "sine", volume: 0.1, channels: 1, rate: 44100 },
    });
    expect(await outputFacts(mono.out)).toMatchObject({ channels: 2, sampleRate: 48000 });
    const surround = { kind: "sine", volume: 0.1, channels: 6 } as const;
    const down = await encode("51-down", { picture: "bt709", sound: surround });
    expect(await outputFacts(down.out)).toMatchObject({ channels: 2, sampleRate: 48000 });
    const kept = await encode("51-kept", { picture: "bt709", sound: surround }, spec({ layout: "5.1" }));
    expect(await outputFacts(kept.out)).toMatchObject({ channels: 6, sampleRate: 48000 });
    expect(Math.abs((await loudnessOf(kept.out)).integrated - TARGET)).toBeLessThanOrEqual(1);
  });

  it("leaves the level alone with loudness off", async () => {
    const sound = { kind: "sine", volume: 0.01, channels: 2 } as const;
    const { out, enc } = await encode("off", { picture: "bt709", sound }, spec({ loudness: { mode: "off" } }));
    expect(enc.loudness).toBeUndefined();
    const src = await loudnessOf(join(tmp.dir, "off.mp4"));
    expect(Math.abs((await loudnessOf(out)).integrated - src.integrated)).toBeLessThan(0.5);
  });
});
