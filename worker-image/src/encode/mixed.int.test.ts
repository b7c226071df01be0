// The mixed season of issue 15 through `reel run` (real ffmpeg, yt-dlp-free loopback, the Rust
// merge): a dual-audio MKV (jpn + eng) with an SRT track, an English-only MP4, an MKV whose only
// subtitles are PGS images, and an HLS VOD with jpn/eng audio renditions and an eng WebVTT
// rendition — asked for audio [jpn, eng] (jpn default) and subtitles [eng]. The merged file's
// tracks, languages, dispositions, shifted cues and chapters are read back with ffprobe/ffmpeg.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type StaticServer, serveDir } from "../cli/serve.ts";
import { parseVideoJob } from "@reel/crds";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { realStages } from "../pipeline/stages-real.ts";
import { DiskCache } from "../resilience/cache.ts";
import type { JobResult } from "../pipeline/job.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "..", "cli", "main.ts");
const video = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3"];
const sine = (hz: number) => ["-f", "lavfi", "-i", `sine=frequency=${hz}:sample_rate=48000:duration=3`];
const codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25", "-c:a", "aac"];
const ff = (args: string[]) => execFileSync("ffmpeg", ["-v", "error", "-y", ...args]);

/** A one-picture PGS (Blu-ray image subtitle) stream shown from 1 s to 2 s: a 60x16 black box at (100,200). */
function pgs(): Buffer {
  const seg = (pts: number, type: number, payload: Buffer) => {
    const head = Buffer.alloc(13);
    head.write("PG", 0, "latin1");
    head.writeUInt32BE(pts, 2);
    head.writeUInt8(type, 10);
    head.writeUInt16BE(payload.length, 11);
    return Buffer.concat([head, payload]);
  };
  const u = (...bytes: number[]) => Buffer.from(bytes);
  const be16 = (n: number) => [n >> 8, n & 255];
  const [w, h] = [60, 16];
  const window = seg(90000, 0x17, u(1, 0, ...be16(100), ...be16(200), ...be16(w), ...be16(h)));
  const line = u(0, 0x80 | w, 1, 0, 0);
  const rle = Buffer.concat(Array.from({ length: h }, () => line));
  const len = rle.length + 4;
  const show = [
    seg(90000, 0x16, u(...be16(320), ...be16(240), 0x10, 0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, ...be16(100), ...be16(200))),
    window,
    seg(90000, 0x14, u(0, 0, 1, 16, 128, 128, 255)),
    seg(
      90000,
      0x15,
      Buffer.concat([u(0, 0, 0, 0xc0, len >> 16, (len >> 8) & 255, len & 255, ...be16(w), ...be16(h)), rle]),
    ),
    seg(90000, 0x80, u()),
  ];
  const clear = [
    seg(180000, 0x16, u(...be16(320), ...be16(240), 0x10, 0, 2, 0, 0, 0, 0)),
    seg(180000, 0x17, u(1, 0, ...be16(100), ...be16(200), ...be16(w), ...be16(h))),
    seg(180000, 0x80, u()),
  ];
  return Buffer.concat([...show, ...clear]);
}

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;

beforeAll(async () => {
  tmp = await makeTempDir("reel-mixed-");
  const src = join(tmp.dir, "src");
  await mkdir(join(src, "hls"), { recursive: true });
  const srt = (text: string) => `1\n00:00:02,000 --> 00:00:02,800\n${text}\n`;
  await writeFile(join(src, "dual.srt"), srt("Dual at two"));
  await writeFile(join(src, "hls.srt"), srt("HLS at two"));
  await writeFile(join(src, "image.sup"), pgs());
  ff(
    [...video, ...sine(440), ...sine(660), "-i", join(src, "dual.srt"), "-map", "0:v", "-map", "1:a", "-map", "2:a"]
      .concat(["-map", "3:0", ...codecs, "-c:s", "srt", "-metadata:s:a:0", "language=jpn"])
      .concat(["-metadata:s:a:1", "language=eng", "-metadata:s:s:0", "language=eng", join(src, "dual.mkv")]),
  );
  ff([...video, ...sine(880), ...codecs, "-metadata:s:a:0", "language=eng", join(src, "english.mp4")]);
  // -copyts: the image stream keeps its own times (1-2 s) instead of being moved to start at 0.
  ff(
    ["-copyts", ...video, ...sine(880), "-f", "sup", "-i", join(src, "image.sup"), "-map", "0:v", "-map", "1:a"]
      .concat(["-map", "2:0"])
      .concat([...codecs, "-c:s", "copy", "-metadata:s:a:0", "language=eng", "-metadata:s:s:0", "language=eng"])
      .concat([join(src, "image.mkv")]),
  );
  const hls = join(src, "hls");
  ff(
    [...video, ...sine(440), ...sine(660), "-i", join(src, "hls.srt"), "-map", "0:v", "-map", "1:a", "-map", "2:a"]
      .concat(["-map", "3:0", ...codecs, "-c:s", "webvtt", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"])
      .concat(["-master_pl_name", "master.m3u8", "-var_stream_map"])
      .concat(["v:0,s:0,agroup:aud,sgroup:subs,language:eng a:0,agroup:aud,language:jpn a:1,agroup:aud,language:eng"])
      .concat(["-hls_segment_filename", join(hls, "s%v_%03d.ts"), join(hls, "p%v.m3u8")]),
  );
  server = await serveDir(src, { host: "127.0.0.2" });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

const probe = (args: string[], path: string) =>
  JSON.parse(execFileSync("ffprobe", ["-v", "error", ...args, "-of", "json", path]).toString());

function measure(path: string, track: number, filter: string, from: number, to: number): string {
  const args = ["-nostdin", "-hide_banner", "-ss", String(from), "-t", String(to - from), "-i", path];
  return spawnSync("ffmpeg", [...args, "-map", `0:a:${track}`, "-af", filter, "-f", "null", "-"], { encoding: "utf8" })
    .stderr;
}
const maxVolume = (s: string) => Number(/max_volume: (-?[\d.]+|-inf) dB/.exec(s)?.[1] ?? Number.NaN);

/** The subtitle track's cues as [start, text], from its samples as written (see subtitles/webvtt.ts). */
function cues(path: string): [number, string][] {
  const args = ["-v", "error", "-ignore_editlist", "1", "-i", path, "-map", "0:s:0", "-f", "srt", "-"];
  return execFileSync("ffmpeg", args)
    .toString()
    .trim()
    .split(/\n\n+/)
    .map((b) => {
      const [, times, ...text] = b.split("\n");
      const start = (times ?? "").split(" --> ")[0] ?? "";
      const [h, m, s] = start.replace(",", ".").split(":").map(Number) as number[];
      return [(h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0), text.join("\n")];
    });
}

describe("a mixed season: dual audio with SRT, English only, image subtitles, HLS renditions", () => {
  it("merges to jpn+eng audio and eng subtitles in every chapter, cues at their chapter's start", async () => {
    const job = join(tmp.dir, "mixed.yaml");
    const files = ["dual.mkv", "english.mp4", "image.mkv", "hls/master.m3u8"];
    await writeFile(
      job,
      stringify({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "mixed" },
        spec: {
          episodes: files.map((f, i) => ({ url: `${server.origin}/${f}`, title: `Episode ${i + 1}` })),
          quality: "480p",
          compression: { preset: "fast", level: 6 },
          gpu: { policy: "off" },
          audio: { languages: ["jpn", "eng"], default: "jpn" },
          subtitles: { languages: ["eng"] },
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
    // The image subtitles are reported, not silently lost.
    // ... and each English-only episode says its Japanese is silence.
    expect(result.episodes.map((e) => e.warnings?.map((w) => w.code))).toEqual([
      undefined,
      ["REEL_AUDIO_LANGUAGE_MISSING"],
      ["REEL_AUDIO_LANGUAGE_MISSING", "REEL_SUBTITLES_DROPPED"],
      undefined,
    ]);
    expect(result.episodes[2]?.warnings?.[1]?.message).toContain("hdmv_pgs_subtitle");

    const merged = result.output?.location as string;
    const streams = probe(["-show_streams"], merged).streams as {
      codec_type: string;
      codec_name: string;
      tags?: { language?: string };
      disposition: { default: number };
    }[];
    const kinds = streams
      .filter((s) => s.codec_type === "audio" || s.codec_type === "subtitle")
      .map((s) => [s.codec_name, s.tags?.language, s.disposition.default]);
    // Subtitles are default only when subtitles.default asks (here it does not).
    expect(kinds).toEqual([
      ["aac", "jpn", 1],
      ["aac", "eng", 0],
      ["mov_text", "eng", 0],
    ]);
    const chapters = (probe(["-show_chapters"], merged).chapters as { start_time: string }[]).map((c) =>
      Number(c.start_time),
    );
    expect(chapters).toHaveLength(4);
    const [c1, c2, c3, c4] = chapters as [number, number, number, number];

    // Japanese: 440 Hz in the dual episode and the HLS rendition, silence in the two English-only ones.
    expect(maxVolume(measure(merged, 0, "volumedetect", c1 + 0.2, c2 - 0.2))).toBeGreaterThan(-30);
    expect(maxVolume(measure(merged, 0, "volumedetect", c2 + 0.1, c4 - 0.1))).toBeLessThan(-80);
    expect(maxVolume(measure(merged, 0, "volumedetect", c4 + 0.2, c4 + 2.8))).toBeGreaterThan(-30);
    const band = (track: number, hz: number, from: number) =>
      maxVolume(measure(merged, track, `bandpass=f=${hz}:width_type=h:w=60,volumedetect`, from + 0.2, from + 2.8));
    expect(band(1, 660, c4) - band(1, 440, c4)).toBeGreaterThan(10);
    expect(band(1, 880, c3) - band(1, 660, c3)).toBeGreaterThan(10);

    // Subtitles: the SRT cue at chapter 1 + 2.0 s, the HLS rendition's at chapter 4 + 2.0 s, nothing
    // in chapters 2 and 3; the same in the WebVTT beside the file.
    const list = cues(merged);
    expect(list.map((c) => c[1])).toEqual(["Dual at two", "HLS at two"]);
    expect(Math.abs((list[0]?.[0] ?? -1) - (c1 + 2.0))).toBeLessThan(0.05);
    expect(Math.abs((list[1]?.[0] ?? -1) - (c4 + 2.0))).toBeLessThan(0.05);
    const vtt = await readFile(result.output?.subtitles?.[0]?.vtt as string, "utf8");
    const times = [...vtt.matchAll(/^((?:\d+:)?\d{2}:\d{2}\.\d{3}) -->/gm)].map((m) =>
      (m[1] as string).split(":").reduce((a, p) => a * 60 + Number(p), 0),
    );
    const expected = [c1 + 2.0, c4 + 2.0];
    expect(times.map((t, i) => Math.abs(t - (expected[i] ?? -1)) < 0.05)).toEqual([true, true]);
    expect(c3).toBeGreaterThan(c2);
  }, 300_000);
});

describe("burning in image subtitles", () => {
  it("lays the PGS picture over the video during its display only", async () => {
    const stages = realStages({
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
      ytDlp: "yt-dlp",
      childEnv: {},
      allow: [],
      cacheDir: join(tmp.dir, "burn-cache"),
      metadata: new DiskCache(join(tmp.dir, "burn-meta")),
      segmentMinSecs: 3600,
    });
    const ctx = { signal: new AbortController().signal, progress: () => {} };
    const spec = parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "burn" },
      spec: {
        episodes: [{ url: "https://cdn.example.com/x.mkv" }],
        quality: "480p",
        gpu: { policy: "off" },
        subtitles: { burnIn: "eng" },
        output: { local: { path: "/nonexistent" } },
      },
    }).spec;
    const input = join(tmp.dir, "src", "image.mkv");
    const probed = await stages.probe(input, ctx);
    const burned = join(tmp.dir, "burned.mp4");
    const enc = await stages.encode(input, probed, burned, spec, ctx);
    // The image track being burned in is not reported as dropped.
    expect(enc.warnings).toBeUndefined();
    const plain = join(tmp.dir, "plain.mp4");
    await stages.encode(input, probed, plain, { ...spec, subtitles: { languages: ["eng"] } }, ctx);
    // The box's place in the 320x240 picture: black while shown (1-2 s), as the plain encode otherwise.
    const yAvg = (path: string, at: number) => {
      const args = ["-hide_banner", "-ss", String(at), "-i", path, "-frames:v", "1"];
      const vf = "crop=60:16:100:200,signalstats,metadata=print";
      const r = spawnSync("ffmpeg", [...args, "-vf", vf, "-f", "null", "-"], { encoding: "utf8" });
      return Number(/lavfi\.signalstats\.YAVG=([\d.]+)/.exec(r.stderr)?.[1]);
    };
    expect(yAvg(burned, 1.5)).toBeLessThan(40);
    expect(yAvg(plain, 1.5) - yAvg(burned, 1.5)).toBeGreaterThan(60);
    for (const at of [0.5, 2.5]) expect(Math.abs(yAvg(plain, at) - yAvg(burned, at))).toBeLessThan(5);
  }, 120_000);
});
