// Subtitles end to end (real ffmpeg, the Rust merge): `reel run` of three episodes served on
// loopback — an MP4 with a mov_text track, an MKV with SRT whose cue text is hostile markup, an MKV
// with SRT and a styled ASS sidecar (with an embedded font section) — asked for [eng, jpn]. The
// merged file's mov_text tracks and the WebVTT files beside it are read back: a cue at 2.0 s of
// episode 3 is at chapter 3's start + 2.0 s in both.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseVideoJob, type ReelError } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type StaticServer, serveDir } from "../cli/serve.ts";
import { serveSite } from "../fetch/test-site.ts";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import type { JobResult } from "../pipeline/job.ts";
import { realStages } from "../pipeline/stages-real.ts";
import { DiskCache } from "../resilience/cache.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "..", "cli", "main.ts");
const av = [
  ...["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3"],
  ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3"],
];
const codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"];

const srt = (cues: [string, string, string][]) =>
  cues.map(([from, to, text], i) => `${i + 1}\n00:00:${from} --> 00:00:${to}\n${text}\n`).join("\n");

const styledAss = [
  "[Script Info]",
  "ScriptType: v4.00+",
  "PlayResX: 320",
  "PlayResY: 240",
  "",
  "[V4+ Styles]",
  "Format: Name, Fontname, Fontsize, PrimaryColour, Bold, Italic",
  "Style: Default,Arial,20,&H00FFFFFF,0,0",
  "",
  "[Fonts]",
  "fontname: remote-font_0.ttf",
  "M3'V9G!A1234567890",
  "",
  "[Events]",
  "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
  "Dialogue: 0,0:00:01.00,0:00:01.80,Default,,0,0,0,,{\\b1}Hajime{\\b0} {\\fnEvil}ni",
  "",
].join("\n");

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;

beforeAll(async () => {
  tmp = await makeTempDir("reel-subtitles-");
  const src = join(tmp.dir, "src");
  await mkdir(src);
  const file = async (name: string, text: string) => {
    await writeFile(join(src, name), text);
    return join(src, name);
  };
  const one = await file("one.srt", srt([["00,500", "01,500", "Episode one"]]));
  const two = await file("two.srt", srt([["01,000", "02,000", "<script>alert(1)</script> 1 & 2 --> 3 <img src=x>"]]));
  const three = await file("three.srt", srt([["02,000", "02,800", "Three at two"]]));
  await file("three-jpn.ass", styledAss);
  const mux = (sub: string, out: string, scodec: string) =>
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", ...av, "-i", sub, "-map", "0:v", "-map", "1:a", "-map", "2:0", ...codecs],
      ...["-c:s", scodec, "-metadata:s:s:0", "language=eng", join(src, out)],
    ]);
  mux(one, "one.mp4", "mov_text");
  mux(two, "two.mkv", "srt");
  mux(three, "three.mkv", "srt");
  server = await serveDir(src, { host: "127.0.0.2" });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

/** A subtitle track's cues as [start, end, text], read back through ffmpeg's SubRip writer. */
function cuesOf(path: string, track: number, before: string[] = []): [number, number, string][] {
  const args = ["-v", "error", ...before, "-i", path, "-map", `0:s:${track}`, "-f", "srt", "-"];
  const out = execFileSync("ffmpeg", args).toString();
  const secs = (t: string) => {
    const [h, m, s] = t.replace(",", ".").split(":").map(Number) as [number, number, number];
    return h * 3600 + m * 60 + s;
  };
  return out
    .trim()
    .split(/\n\n+/)
    .map((block) => {
      const [, times, ...text] = block.split("\n");
      const [from, to] = (times ?? "").split(" --> ") as [string, string];
      return [secs(from), secs(to), text.join("\n")];
    });
}

/** A WebVTT file's cues as [start, text]. */
function vttCues(text: string): [number, string][] {
  return [...text.matchAll(/^((?:\d+:)?\d{2}:\d{2}\.\d{3}) --> \S+\n([\s\S]*?)(?=\n\n|$)/gm)].map((m) => {
    const parts = (m[1] as string).split(":").map(Number);
    const secs = parts.reduce((a, p) => a * 60 + p, 0);
    return [secs, m[2] as string];
  });
}

describe("subtitles", () => {
  it("keeps eng and jpn as mov_text in every chapter and writes a WebVTT file per language, cues at the chapter's start", async () => {
    const job = join(tmp.dir, "subs.yaml");
    await writeFile(
      job,
      stringify({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "subs" },
        spec: {
          episodes: [
            { url: `${server.origin}/one.mp4`, title: "One" },
            { url: `${server.origin}/two.mkv`, title: "Two" },
            {
              url: `${server.origin}/three.mkv`,
              title: "Three",
              subtitles: [{ url: `${server.origin}/three-jpn.ass`, language: "jpn" }],
            },
          ],
          quality: "480p",
          compression: { preset: "fast", level: 6 },
          gpu: { policy: "off" },
          subtitles: { languages: ["eng", "jpn"] },
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
    const merged = result.output?.location as string;

    const streams = JSON.parse(
      execFileSync("ffprobe", [
        "-v",
        "error",
        "-select_streams",
        "s",
        "-show_streams",
        "-of",
        "json",
        merged,
      ]).toString(),
    ).streams as { codec_name: string; tags?: { language?: string } }[];
    expect(streams.map((s) => [s.codec_name, s.tags?.language])).toEqual([
      ["mov_text", "eng"],
      ["mov_text", "jpn"],
    ]);
    const chapters = (
      JSON.parse(execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", merged]).toString())
        .chapters as { start_time: string }[]
    ).map((c) => Number(c.start_time));
    expect(chapters).toHaveLength(3);
    const [, ch2, ch3] = chapters as [number, number, number];

    // In the MP4: each episode's cue at its chapter's start plus its own time.
    const eng = cuesOf(merged, 0);
    const at = (list: [number, number, string][], text: string) => list.find((c) => c[2].includes(text))?.[0];
    expect(at(eng, "Episode one")).toBeCloseTo(0.5, 1);
    expect(Math.abs((at(eng, "Three at two") ?? -1) - (ch3 + 2.0))).toBeLessThan(0.05);
    expect(Math.abs((at(eng, "alert(1)") ?? -1) - (ch2 + 1.0))).toBeLessThan(0.05);
    const jpn = cuesOf(merged, 1);
    // Styling reduced to what mov_text keeps: bold and size stay, the font name goes.
    expect(jpn.map((c) => c[2].replace(/<[^>]+>/g, ""))).toEqual(["Hajime ni"]);
    expect(jpn[0]?.[2]).toContain("<b>Hajime</b>");
    expect(jpn[0]?.[2]).not.toContain("Evil");
    expect(Math.abs((jpn[0]?.[0] ?? -1) - (ch3 + 1.0))).toBeLessThan(0.05);

    // Beside it: one WebVTT file per language, the same times, the markup made inert.
    const files = result.output?.subtitles ?? [];
    expect(files.map((f) => [f.language, f.vtt.endsWith(`subs-subtitles-${f.language}.vtt`)])).toEqual([
      ["eng", true],
      ["jpn", true],
    ]);
    const engVtt = await readFile(files[0]?.vtt as string, "utf8");
    const engCues = vttCues(engVtt);
    const vttAt = (text: string) => engCues.find((c) => c[1].includes(text))?.[0] ?? -1;
    expect(Math.abs(vttAt("Three at two") - (ch3 + 2.0))).toBeLessThan(0.05);
    expect(Math.abs(vttAt("Episode one") - 0.5)).toBeLessThan(0.05);
    // (ffmpeg's SubRip reader drops the tags it does not know; what it keeps as text is escaped.)
    expect(engVtt).not.toMatch(/<script|<img|--> 3/);
    expect(engVtt).toContain("1 &amp; 2 --&gt; 3");
    const jpnVtt = await readFile(files[1]?.vtt as string, "utf8");
    expect(Math.abs((vttCues(jpnVtt)[0]?.[0] ?? -1) - (ch3 + 1.0))).toBeLessThan(0.05);
    expect(jpnVtt).not.toMatch(/remote-font|Evil|M3'V9G|<font/);
    expect(jpnVtt).toContain("<b>Hajime</b>");
  }, 240_000);
});

describe("a page's subtitles through yt-dlp", () => {
  it("takes the site's subtitles of the job's languages (and no others) into the merged file and its WebVTT", async () => {
    const dir = join(tmp.dir, "site");
    await mkdir(dir);
    execFileSync("ffmpeg", ["-v", "error", "-y", ...av, ...codecs, join(dir, "four.mp4")]);
    const vtt = (text: string) => `WEBVTT\n\n00:02.000 --> 00:02.600\n${text}\n`;
    const tracks =
      '<track kind="subtitles" srclang="en" src="/four.en.vtt"><track kind="subtitles" srclang="fr" src="/four.fr.vtt">';
    const site = await serveSite(dir, {
      "/four.mp4": { type: "video/mp4", file: "four.mp4" },
      "/four.en.vtt": { type: "text/vtt", body: vtt("From the site") },
      "/four.fr.vtt": { type: "text/vtt", body: vtt("Du site") },
      "/watch": { type: "text/html", body: `<html><body><video src="/four.mp4">${tracks}</video></body></html>` },
    });
    try {
      const job = join(tmp.dir, "page.yaml");
      await writeFile(
        job,
        stringify({
          apiVersion: "reel.dev/v1alpha1",
          kind: "VideoJob",
          metadata: { name: "page" },
          spec: {
            episodes: [{ url: `${site.origin}/watch`, title: "Page" }],
            quality: "480p",
            compression: { preset: "fast", level: 6 },
            gpu: { policy: "off" },
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
      const merged = result.output?.location as string;
      const langs = execFileSync("ffprobe", [
        ...["-v", "error", "-select_streams", "s", "-show_entries", "stream=codec_name:stream_tags=language"],
        ...["-of", "csv=p=0", merged],
      ]);
      expect(langs.toString().trim().split("\n")).toEqual(["mov_text,eng"]);
      expect(cuesOf(merged, 0).map((c) => [Number(c[0].toFixed(2)), c[2]])).toEqual([[2, "From the site"]]);
      expect(result.output?.subtitles?.map((f) => f.language)).toEqual(["eng"]);
      expect(site.requests).not.toContain("/four.fr.vtt");
    } finally {
      await site.close();
    }
  }, 120_000);
});

describe("HLS WebVTT subtitle renditions", () => {
  it("takes the master's eng WebVTT rendition: its cue at 2.0 s in the mov_text track and the WebVTT file", async () => {
    const hls = join(tmp.dir, "src", "hls");
    await mkdir(hls);
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", ...av, "-i", join(tmp.dir, "src", "three.srt"), "-map", "0:v", "-map", "1:a"],
      ...["-map", "2:0", ...codecs, "-g", "25", "-c:s", "webvtt", "-f", "hls", "-hls_time", "1"],
      ...["-hls_playlist_type", "vod", "-master_pl_name", "master.m3u8"],
      ...["-var_stream_map", "v:0,a:0,s:0,sgroup:subs,language:eng"],
      ...["-hls_segment_filename", join(hls, "s%v_%03d.ts"), join(hls, "p%v.m3u8")],
    ]);
    const job = join(tmp.dir, "hls.yaml");
    await writeFile(
      job,
      stringify({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "hls" },
        spec: {
          episodes: [
            { url: `${server.origin}/hls/master.m3u8`, title: "HLS" },
            { url: `${server.origin}/one.mp4`, title: "One" },
          ],
          quality: "480p",
          compression: { preset: "fast", level: 6 },
          gpu: { policy: "off" },
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
    const merged = result.output?.location as string;
    const chapters = (
      JSON.parse(execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", merged]).toString())
        .chapters as { start_time: string }[]
    ).map((c) => Number(c.start_time));
    expect(cuesOf(merged, 0).map((c) => c[2])).toEqual(["Three at two", "Episode one"]);
    // Within a frame of the cue's time in the source, as players read it (through the edit list
    // that trims the video's late start; ffmpeg 5.1 read it 0.524 s early before the merge
    // shortened the first sample instead) and as the samples are written (2.024 s: ffmpeg's segments).
    for (const before of [[], ["-ignore_editlist", "1"]]) {
      const cues = cuesOf(merged, 0, before);
      expect(Math.abs((cues[0]?.[0] ?? -1) - 2.0), before.join(" ")).toBeLessThan(0.04);
    }
    const vtt = await readFile(result.output?.subtitles?.[0]?.vtt as string, "utf8");
    const at = (text: string) => vttCues(vtt).find((c) => c[1].includes(text))?.[0] ?? -1;
    expect(Math.abs(at("Three at two") - 2.0)).toBeLessThan(0.04);
    // The next chapter's cue at its start plus its own time.
    expect(Math.abs(at("Episode one") - (chapters[1] ?? 0) - 0.5)).toBeLessThan(0.05);
  }, 120_000);
});

describe("the subtitle stages: fetch, encode, burn-in", () => {
  const ctx = { signal: new AbortController().signal, progress: () => {} };
  const stages = (allow: string[], maxSourceBytes?: number) =>
    realStages({
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
      ytDlp: "yt-dlp",
      childEnv: {},
      allow,
      cacheDir: join(tmp.dir, "stage-cache"),
      metadata: new DiskCache(join(tmp.dir, "stage-meta")),
      segmentMinSecs: 3600,
      ...(maxSourceBytes ? { maxSourceBytes } : {}),
    });
  const fetch = (s: ReturnType<typeof stages>, file: string) =>
    s.fetchSubtitle?.(`${server.origin}/${file}`, "jpn", join(tmp.dir, `fetched-${file}`), ctx).catch((e) => e);

  it("fetches through the egress guard: a loopback file is refused unless allowed", async () => {
    expect(((await fetch(stages([]), "three-jpn.ass")) as ReelError).code).toBe("REEL_EGRESS_DENIED");
    const ok = await fetch(stages(["127.0.0.2/32"]), "three-jpn.ass");
    expect(ok).toMatchObject({ format: "ass", language: "jpn" });
    expect(await readFile(ok.path, "utf8")).not.toContain("remote-font");
  });

  it("a segmented encode carries the subtitles with the audio: the sidecar's and the source's, with languages", async () => {
    const s = realStages({
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
      ytDlp: "yt-dlp",
      childEnv: {},
      allow: ["127.0.0.2/32"],
      cacheDir: join(tmp.dir, "segmented-cache"),
      metadata: new DiskCache(join(tmp.dir, "segmented-meta")),
      segmentMinSecs: 1,
      cores: 2,
    });
    const input = join(tmp.dir, "src", "three.mkv");
    const sidecar = await fetch(s, "three-jpn.ass");
    const spec = parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "seg" },
      spec: {
        episodes: [{ url: "https://cdn.example.com/x.mkv" }],
        quality: "480p",
        gpu: { policy: "off" },
        subtitles: { languages: ["jpn", "eng"] },
        output: { local: { path: "/nonexistent" } },
      },
    }).spec;
    const out = join(tmp.dir, "segmented.mp4");
    await s.encode(input, await s.probe(input, ctx), out, spec, { ...ctx, subtitles: [sidecar] });
    const langs = execFileSync("ffprobe", [
      ...["-v", "error", "-select_streams", "s", "-show_entries", "stream=codec_name:stream_tags=language"],
      ...["-of", "csv=p=0", out],
    ]);
    expect(langs.toString().trim().split("\n")).toEqual(["mov_text,jpn", "mov_text,eng"]);
    expect(cuesOf(out, 1)[0]?.[0]).toBeCloseTo(2.0, 1);
    expect(cuesOf(out, 0)[0]?.[0]).toBeCloseTo(1.0, 1);
  });

  it("burns in a language: white text on a black picture during its cue only, from the source's track or the sidecar", async () => {
    const s = realStages({
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
      ytDlp: "yt-dlp",
      childEnv: {},
      allow: ["127.0.0.2/32"],
      cacheDir: join(tmp.dir, "burn-cache"),
      metadata: new DiskCache(join(tmp.dir, "burn-meta")),
      // Segmented encodes would be chosen: burn-in must encode whole to keep cue times.
      segmentMinSecs: 1,
      cores: 2,
    });
    const black = join(tmp.dir, "black.mkv");
    execFileSync("ffmpeg", [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=3"],
      ...["-i", join(tmp.dir, "src", "three.srt"), "-map", "0:v", "-map", "1:0", "-c:v", "libx264"],
      ...["-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:s", "srt", "-metadata:s:s:0", "language=eng", black],
    ]);
    const sidecar = await fetch(s, "three-jpn.ass");
    const yMax = (path: string, at: number) => {
      const args = ["-hide_banner", "-ss", String(at), "-i", path, "-frames:v", "1"];
      const r = spawnSync("ffmpeg", [...args, "-vf", "signalstats,metadata=print", "-f", "null", "-"], {
        encoding: "utf8",
      });
      return Number(/lavfi\.signalstats\.YMAX=(\d+)/.exec(r.stderr)?.[1]);
    };
    const encodeWith = async (burnIn: string, name: string) => {
      const spec = parseVideoJob({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "burn" },
        spec: {
          episodes: [{ url: "https://cdn.example.com/x.mkv" }],
          quality: "480p",
          gpu: { policy: "off" },
          subtitles: { burnIn },
          output: { local: { path: "/nonexistent" } },
        },
      }).spec;
      const out = join(tmp.dir, name);
      const enc = await s.encode(black, await s.probe(black, ctx), out, spec, { ...ctx, subtitles: [sidecar] });
      return { out, enc };
    };
    // The source's SRT cue runs 2.0-2.8 s; the jpn sidecar's 1.0-1.8 s.
    const eng = await encodeWith("eng", "burn-eng.mp4");
    expect(yMax(eng.out, 1.4)).toBeLessThan(40);
    expect(yMax(eng.out, 2.4)).toBeGreaterThan(150);
    const jpn = await encodeWith("jpn", "burn-jpn.mp4");
    expect(yMax(jpn.out, 1.4)).toBeGreaterThan(150);
    expect(yMax(jpn.out, 2.4)).toBeLessThan(40);
    const none = await encodeWith("fra", "burn-fra.mp4");
    expect(none.enc.warnings).toEqual([
      { code: "REEL_SUBTITLES_DROPPED", message: "no fra subtitles to burn in: not drawn" },
    ]);
    expect(yMax(none.out, 2.4)).toBeLessThan(40);
  });

  it("holds the byte cap, and refuses a file that is not subtitles", async () => {
    expect(((await fetch(stages(["127.0.0.2/32"], 100), "three-jpn.ass")) as ReelError).code).toBe(
      "REEL_SOURCE_TOO_LARGE",
    );
    expect(((await fetch(stages(["127.0.0.2/32"]), "one.mp4")) as ReelError).code).toBe("REEL_MEDIA_INVALID");
  });
});
