// A split episode end to end through `reel worker` as the operator runs it: the episode pod cuts
// the source and stages the pieces, the Indexed Job's pods (JOB_COMPLETION_INDEX 0..n-1, run at
// once) encode one each, and the merge pod joins them before merging. Real ffmpeg, the Rust join,
// a loopback source server and a real S3 server (versitygw) for staging and output.
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { S3Server } from "@reel/e2e/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StaticServer, serveDir } from "../cli/serve.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { countFrames } from "../probe/frames.ts";
import { startS3WithBucket } from "../testing/s3.ts";
import { type PodRun, podRunner } from "../testing/worker-pod.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;
let s3: S3Server;
let client: S3Client;
let pod: (env: NodeJS.ProcessEnv) => Promise<PodRun<Record<string, unknown> & { phase: string }>>;

beforeAll(async () => {
  tmp = await makeTempDir("reel-split-int-");
  const src = join(tmp.dir, "src");
  await mkdir(src, { recursive: true });
  // 12 s with a keyframe every second: cut at 4 s targets, three pieces.
  await makeTestClip(join(src, "long.mp4"), { seconds: 12, fps: 25, gop: 25 });
  await makeTestClip(join(src, "short.mp4"), { seconds: 2 });
  server = await serveDir(src, { host: "127.0.0.2" });
  ({ s3, client } = await startS3WithBucket("videos"));
  pod = podRunner(tmp.dir, {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    REEL_VIDEOJOB: "media/long-show",
    REEL_VIDEOJOB_UID: "uid-long-show",
    REEL_STAGING: staging,
  });
}, 600_000);

afterAll(async () => {
  await server?.close();
  await s3?.stop();
  await tmp?.cleanup();
});

const job = () => ({
  name: "long-show",
  uid: "uid-long-show",
  episodes: [
    { url: `${server.origin}/long.mp4`, title: "Long one" },
    { url: `${server.origin}/short.mp4`, title: "Short one" },
  ],
});
type Episode = { url: string; title: string };

const specOf = (episodes: Episode[]) => ({
  episodes,
  quality: "480p",
  compression: { preset: "fast", level: 6 },
  split: { enabled: true, minDuration: "10s", segmentDuration: "4s", maxParallel: 4 },
  output: {
    s3: { bucket: "videos", prefix: "shows/", endpoint: s3.endpoint, credentialsSecret: "s3", urlExpiry: "1h" },
  },
});
const staging = "s3://videos/shows/.reel-staging/uid-long-show/";
const prefix = "shows/.reel-staging/uid-long-show/";

const episodeEnv = (index: number, mode: "episode" | "segment") => {
  const ep = job().episodes[index] as Episode;
  return {
    REEL_MODE: mode,
    REEL_EPISODE_INDEX: String(index),
    REEL_EPISODE_URL: ep.url,
    REEL_EPISODE_TITLE: ep.title,
    REEL_SPEC: JSON.stringify(specOf([ep])),
  };
};
const segmentPod = (k: number) => pod({ ...episodeEnv(0, "segment"), JOB_COMPLETION_INDEX: String(k) });
const mergePod = () =>
  pod({
    REEL_MODE: "merge",
    // The staged pieces stay after the merge, for the tamper test below (by default they go).
    REEL_KEEP_STAGING: "true",
    REEL_SPEC: JSON.stringify(specOf(job().episodes)),
    REEL_MERGE_EPISODES: JSON.stringify([
      { index: 0, title: "Long one", segments: 3 },
      { index: 1, title: "Short one" },
    ]),
  });
const text = async (Key: string) =>
  (await client.send(new GetObjectCommand({ Bucket: "videos", Key }))).Body?.transformToString() ?? "";

describe("a split episode: episode pod, Indexed Job pods, merge pod", () => {
  it("the episode pod cuts a long episode at keyframes and stages the pieces instead of encoding", async () => {
    const p = await pod(episodeEnv(0, "episode"));
    expect(p.code, p.raw).toBe(0);
    expect(p.result).toMatchObject({ mode: "episode", index: 0, phase: "Completed", split: { segments: 3 } });
    expect(p.result.staged).toBe(`${staging}ep0.split.json`);
    const rec = JSON.parse(await text(`${prefix}ep0.split.json`));
    expect(rec.segments.map((s: { frames: number }) => s.frames)).toEqual([100, 100, 100]);
    expect(rec.segments.map((s: { startSecs: number }) => Math.round(s.startSecs))).toEqual([0, 4, 8]);
    expect(rec.audio.sha256).toMatch(/^[0-9a-f]{64}$/);
    // A retried episode pod finds the split done and redoes nothing.
    const again = await pod(episodeEnv(0, "episode"));
    expect(again.result).toMatchObject({ phase: "Completed", reused: true, split: { segments: 3 } });
    // The short episode is below minDuration: encoded whole as ever.
    const short = await pod(episodeEnv(1, "episode"));
    expect(short.code, short.raw).toBe(0);
    expect(short.result.split).toBeUndefined();
    expect(short.result.encoder).toBe("libx264");
  });

  it("each Indexed Job pod encodes its own piece; a pod outside the split fails as bad input", async () => {
    const segs = await Promise.all([0, 1, 2].map((k) => segmentPod(k)));
    for (const [k, s] of segs.entries()) {
      expect(s.code, s.raw).toBe(0);
      expect(s.result).toMatchObject({ mode: "segment", index: 0, segment: k, phase: "Completed", frames: 100 });
      expect(String(s.result.encoder)).toMatch(/^libx264/);
    }
    const rec = JSON.parse(await text(`${prefix}ep0.seg0001.json`));
    expect(rec.quality.ssim).toBeGreaterThan(0.9);
    const again = await segmentPod(1);
    expect(again.result).toMatchObject({ phase: "Completed", reused: true });
    const outside = await segmentPod(7);
    expect(outside.code).toBe(2);
    expect(outside.result).toMatchObject({
      mode: "segment",
      phase: "Failed",
      error: { code: "REEL_WORKER_ENV_INVALID" },
    });
  });

  it("the merge pod joins the segments with the audio, then merges: every frame once, a chapter per episode", async () => {
    const m = await mergePod();
    expect(m.code, m.raw).toBe(0);
    const joined = m.result.joined as Array<Record<string, unknown> & { quality: { ssim: number; psnr: number } }>;
    expect(joined).toHaveLength(1);
    expect(joined[0]).toMatchObject({ index: 0, encoder: "libx264" });
    expect(joined[0]?.quality.ssim).toBeGreaterThan(0.9);
    expect(joined[0]?.quality.psnr).toBeGreaterThan(25);
    const out = m.result.output as { location: string };
    expect(out.location).toBe("s3://videos/shows/long-show.mp4");
    const local = join(tmp.dir, "merged.mp4");
    const body = await (
      await client.send(new GetObjectCommand({ Bucket: "videos", Key: "shows/long-show.mp4" }))
    ).Body?.transformToByteArray();
    await import("node:fs/promises").then((f) => f.writeFile(local, body ?? new Uint8Array()));
    // 12 s + 2 s at 25 fps: the joined episode lost and duplicated no frame.
    expect(await countFrames(local)).toBe(350);
    const probe = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-show_streams", "-of", "json", local]).toString(),
    ) as {
      chapters: Array<{ tags: { title: string }; start_time: string }>;
      streams: Array<{ codec_type: string; duration: string }>;
    };
    expect(probe.chapters.map((c) => c.tags.title)).toEqual(["Long one", "Short one"]);
    expect(Number(probe.chapters[1]?.start_time)).toBeCloseTo(12, 0);
    const audio = probe.streams.find((s) => s.codec_type === "audio");
    expect(Number(audio?.duration)).toBeCloseTo(14, 0);
    // The joined episode is staged like any other, so a retried merge pod answers at once.
    const again = await mergePod();
    expect(again.result).toMatchObject({ phase: "Completed", reused: true });
  });

  it("a segment changed in staging after its pod finished stops the join (checksum)", async () => {
    await client.send(
      new PutObjectCommand({ Bucket: "videos", Key: `${prefix}ep0.json`, Body: "{}" }), // forget the joined episode
    );
    await client.send(new PutObjectCommand({ Bucket: "videos", Key: `${prefix}merge.json`, Body: "{}" }));
    await client.send(new PutObjectCommand({ Bucket: "videos", Key: `${prefix}ep0.seg0002.mp4`, Body: "not a video" }));
    const m = await mergePod();
    expect(m.code).toBe(1);
    expect(m.result).toMatchObject({ mode: "merge", phase: "Failed", error: { code: "REEL_CHECKSUM_MISMATCH" } });
  });
});

describe("a split episode's own chapters (merge.chapterMarks source)", () => {
  it("go from the episode pod's split record to the joined episode's record and into the merged file", async () => {
    const src = join(tmp.dir, "src");
    const meta = join(tmp.dir, "acts.ffmeta");
    await writeFile(
      meta,
      ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=2500\nEND=6000\ntitle=Act 1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=6000\nEND=12000\ntitle=Act 2\n",
    );
    execFileSync("ffmpeg", [
      ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine"],
      ...["-f", "ffmetadata", "-i", meta, "-map", "0", "-map", "1", "-map_chapters", "2", "-t", "12"],
      ...["-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "25", "-c:a", "aac", join(src, "acts.mkv")],
    ]);
    const ep = { url: `${server.origin}/acts.mkv`, title: "Acts" };
    const spec = { ...specOf([ep]), merge: { chapterMarks: "source" } };
    const uid = "uid-acts";
    const common = {
      REEL_VIDEOJOB: "media/acts",
      REEL_VIDEOJOB_UID: uid,
      REEL_STAGING: `s3://videos/shows/.reel-staging/${uid}/`,
      REEL_SPEC: JSON.stringify(spec),
      REEL_EPISODE_INDEX: "0",
      REEL_EPISODE_URL: ep.url,
      REEL_EPISODE_TITLE: ep.title,
    };
    const cut = await pod({ ...common, REEL_MODE: "episode" });
    expect(cut.result).toMatchObject({ phase: "Completed", split: { segments: 3 } });
    const chapters = [
      { title: "Act 1", startSecs: 2.5 },
      { title: "Act 2", startSecs: 6 },
    ];
    const folder = `shows/.reel-staging/${uid}/`;
    expect(JSON.parse(await text(`${folder}ep0.split.json`)).sourceChapters).toEqual(chapters);
    const segs = await Promise.all(
      [0, 1, 2].map((k) => pod({ ...common, REEL_MODE: "segment", JOB_COMPLETION_INDEX: `${k}` })),
    );
    for (const s of segs) expect(s.code, s.raw).toBe(0);
    const m = await pod({
      ...common,
      REEL_MODE: "merge",
      REEL_KEEP_STAGING: "true",
      REEL_MERGE_EPISODES: JSON.stringify([{ index: 0, title: "Acts", segments: 3 }]),
    });
    expect(m.code, m.raw).toBe(0);
    expect(JSON.parse(await text(`${folder}ep0.json`)).sourceChapters).toEqual(chapters);
    const body = await (
      await client.send(new GetObjectCommand({ Bucket: "videos", Key: "shows/acts.mp4" }))
    ).Body?.transformToByteArray();
    const local = join(tmp.dir, "acts.mp4");
    await writeFile(local, body ?? new Uint8Array());
    const read = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", local]).toString(),
    ) as {
      chapters: Array<{ tags: { title: string }; start_time: string }>;
    };
    expect(read.chapters.map((c) => c.tags.title)).toEqual(["Acts", "Act 1", "Act 2"]);
    for (const [i, want] of [0, 2.5, 6].entries()) {
      expect(Math.abs(Number(read.chapters[i]?.start_time) - want)).toBeLessThan(0.05);
    }
  }, 240_000);
});
