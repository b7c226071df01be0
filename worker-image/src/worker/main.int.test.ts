// `reel worker` pods as the operator runs them, called through workerMain with the env the Job
// sets: real ffmpeg, the Rust core, a loopback source server, a real S3 server (versitygw) for
// staging and output, and a real redis-server for progress. Each run gets a fresh scratch
// directory, as each pod gets a fresh emptyDir.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { type RedisServer, type S3Server, freePort, startRedis } from "@reel/e2e/services";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StaticServer, serveDir } from "../cli/serve.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { startS3WithBucket } from "../testing/s3.ts";
import { type PodRun, podRunner } from "../testing/worker-pod.ts";
import type { EpisodeOutcome } from "./episode.ts";
import type { MergeOutcome, StoredOutput } from "./merge.ts";
import { episodePosterName, posterLocation, type ProgressMessage } from "@reel/crds";
import { workerAclRules } from "../../../operator/src/redis/acl.ts";

let tmp: { dir: string; cleanup(): Promise<void> };
let src: string;
let server: StaticServer;
let s3: S3Server;
let redis: RedisServer;
let client: S3Client;
let pod: (env: NodeJS.ProcessEnv) => Promise<Pod>;

beforeAll(async () => {
  tmp = await makeTempDir("reel-worker-int-");
  src = join(tmp.dir, "src");
  await mkdir(src, { recursive: true });
  await makeTestClip(join(src, "good1.mp4"), { seconds: 2 });
  await makeTestClip(join(src, "good2.mp4"), { seconds: 1.5 });
  // A page for yt-dlp's generic extractor: the video is found in the HTML.
  await writeFile(join(src, "watch.html"), '<html><body><video src="/good2.mp4"></video></body></html>\n');
  // 127.0.0.2 serves and is allowlisted; 127.0.0.1 stays denied, so URLs to it test the guard.
  // Strong ETags, as CDNs send them: the worker records them as the source's validator (reuse).
  server = await serveDir(src, { host: "127.0.0.2", etag: true });
  [{ s3, client }, redis] = await Promise.all([startS3WithBucket("videos"), startRedis()]);
  pod = podRunner(tmp.dir, { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
}, 600_000);

afterAll(async () => {
  await server?.close();
  await Promise.all([s3?.stop(), redis?.stop()]);
  await tmp?.cleanup();
});

type Result = Omit<Partial<EpisodeOutcome> & Partial<MergeOutcome>, "mode" | "phase"> & {
  mode: string;
  phase: string;
};

type Pod = PodRun<Result>;

type Episode = { url: string; title?: string };

function specOf(name: string, episodes: Episode[], over: Record<string, unknown> = {}) {
  return {
    episodes,
    quality: "480p",
    compression: { preset: "fast", level: 6 },
    output: {
      s3: {
        bucket: "videos",
        prefix: "shows/",
        endpoint: s3.endpoint,
        credentialsSecret: "s3-creds",
        urlExpiry: "2h",
      },
    },
    tags: [name],
    ...over,
  };
}

function episodePod(
  job: { name: string; uid: string; episodes: Episode[]; over?: Record<string, unknown> },
  index: number,
  env: NodeJS.ProcessEnv = {},
) {
  const ep = job.episodes[index] as Episode;
  return pod({
    REEL_MODE: "episode",
    REEL_VIDEOJOB: `media/${job.name}`,
    REEL_VIDEOJOB_UID: job.uid,
    REEL_EPISODE_INDEX: String(index),
    REEL_EPISODE_URL: ep.url,
    ...(ep.title ? { REEL_EPISODE_TITLE: ep.title } : {}),
    REEL_SPEC: JSON.stringify(specOf(job.name, [ep], job.over)),
    REEL_STAGING: `s3://videos/shows/.reel-staging/${job.uid}/`,
    REEL_ENCODER_HINT: "libx264",
    ...env,
  });
}

function mergePod(
  job: { name: string; uid: string; episodes: Episode[]; over?: Record<string, unknown> },
  list: { index: number; title: string }[],
) {
  return pod({
    REEL_MODE: "merge",
    REEL_VIDEOJOB: `media/${job.name}`,
    REEL_VIDEOJOB_UID: job.uid,
    REEL_SPEC: JSON.stringify(specOf(job.name, job.episodes, job.over)),
    REEL_STAGING: `s3://videos/shows/.reel-staging/${job.uid}/`,
    REEL_MERGE_EPISODES: JSON.stringify(list),
  });
}

const head = (Key: string) => client.send(new HeadObjectCommand({ Bucket: "videos", Key }));
const getText = async (Key: string) =>
  (await client.send(new GetObjectCommand({ Bucket: "videos", Key }))).Body?.transformToString() ?? "";
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** The names left in a job's staging folder. */
const staged = async (uid: string) => {
  const Prefix = `shows/.reel-staging/${uid}/`;
  const page = await client.send(new ListObjectsV2Command({ Bucket: "videos", Prefix }));
  return (page.Contents ?? []).map((o) => (o.Key ?? "").slice(Prefix.length)).sort();
};

/** A picture file's codec and size, as ffprobe reads it. */
function pictureOf(path: string): { codec_name: string; width: number; height: number } {
  const out = execFileSync("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,width,height",
    "-of",
    "json",
    path,
  ]).toString();
  return (JSON.parse(out) as { streams: { codec_name: string; width: number; height: number }[] }).streams[0] as {
    codec_name: string;
    width: number;
    height: number;
  };
}

function chapterTitles(path: string): string[] {
  const out = JSON.parse(
    execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", path]).toString(),
  ) as {
    chapters: { tags: { title: string } }[];
  };
  return out.chapters.map((c) => c.tags.title);
}

const season = () => ({
  name: "season-1",
  uid: "uid-season-1",
  episodes: [
    { url: `${server.origin}/good1.mp4`, title: "Pilot" },
    { url: `${server.origin}/good2.mp4`, title: "Second" },
  ],
});

describe("reel worker, episode pods", () => {
  it("stages ep0.mp4 then ep0.json on S3 and writes a compact, valid termination message", async () => {
    const p = await episodePod(season(), 0);
    expect(p.code, p.raw).toBe(0);
    expect(Buffer.byteLength(p.raw)).toBeLessThanOrEqual(4096);
    expect(p.result).toMatchObject({ mode: "episode", index: 0, phase: "Completed", encoder: "libx264" });
    expect(p.result.quality?.ssim).toBeGreaterThan(0.9);
    expect(p.result.bytesDownloaded).toBe((await readFile(join(src, "good1.mp4"))).length);
    expect(p.result.bytesOutput).toBeGreaterThan(1000);
    expect(p.result.durationSecs).toBeCloseTo(2, 0);
    expect(p.result.staged).toBe("s3://videos/shows/.reel-staging/uid-season-1/ep0.mp4");
    expect(p.result.reused).toBeUndefined();

    const prefix = "shows/.reel-staging/uid-season-1/";
    const [video, record] = await Promise.all([head(`${prefix}ep0.mp4`), head(`${prefix}ep0.json`)]);
    expect(video.ContentLength).toBe(p.result.bytesOutput);
    expect((record.LastModified as Date).getTime()).toBeGreaterThanOrEqual((video.LastModified as Date).getTime());
    const rec = JSON.parse(await getText(`${prefix}ep0.json`));
    expect(rec).toMatchObject({ v: 1, videojob: "media/season-1", uid: "uid-season-1", index: 0 });
    expect(rec.status.phase).toBe("Completed");
    // What the origin said of the bytes at download, for another job's reuse (crds sourceValidator).
    const origin = await fetch(`${server.origin}/good1.mp4`, { method: "HEAD" });
    expect(rec.sourceValidator).toBe(`etag ${origin.headers.get("etag")} length ${p.result.bytesDownloaded}`);
    const body = Buffer.from(
      await ((
        await client.send(new GetObjectCommand({ Bucket: "videos", Key: `${prefix}ep0.mp4` }))
      ).Body?.transformToByteArray() ?? new Uint8Array()),
    );
    expect(rec.sha256).toBe(sha256(body));

    // JSON log lines with the job and episode on each; never the S3 secret.
    const lines = p.logs
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.find((l) => l.msg === "episode staged")).toMatchObject({ videojob: "media/season-1", episode: 0 });
    expect(p.logs).not.toContain(s3.secretAccessKey);
  }, 180_000);

  it("a retried pod finds the staged episode and redoes nothing (no download, no upload)", async () => {
    const prefix = "shows/.reel-staging/uid-season-1/";
    const before = await Promise.all([head(`${prefix}ep0.mp4`), head(`${prefix}ep0.json`)]);
    // Last-Modified has one-second resolution: a second upload must be visible in it.
    await new Promise((r) => setTimeout(r, 1100));
    // The source is gone: a pod that fetched again would fail with REEL_SOURCE_NOT_FOUND.
    await rename(join(src, "good1.mp4"), join(src, "good1.away"));
    try {
      const p = await episodePod(season(), 0);
      expect(p.code, p.raw).toBe(0);
      expect(p.result).toMatchObject({ mode: "episode", index: 0, phase: "Completed", reused: true });
      expect(p.result.bytesOutput).toBe(before[0].ContentLength);
    } finally {
      await rename(join(src, "good1.away"), join(src, "good1.mp4"));
    }
    const after = await Promise.all([head(`${prefix}ep0.mp4`), head(`${prefix}ep0.json`)]);
    expect(after.map((h) => [h.ETag, h.LastModified?.getTime()])).toEqual(
      before.map((h) => [h.ETag, h.LastModified?.getTime()]),
    );
  }, 120_000);

  it("publishes throttled progress on Redis and keeps the latest under a key with a TTL", async () => {
    const sub = new Redis(redis.url);
    const got: { at: number; msg: ProgressMessage }[] = [];
    await sub.subscribe("reel:progress:media/season-1");
    sub.on("message", (_ch, m: string) => got.push({ at: performance.now(), msg: JSON.parse(m) }));
    const t0 = performance.now();
    try {
      const p = await episodePod(season(), 1, { REEL_REDIS_URL: redis.url });
      expect(p.code, p.raw).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      sub.disconnect();
    }
    const secs = (performance.now() - t0) / 1000;
    expect(got.length).toBeGreaterThanOrEqual(2);
    expect(got.length).toBeLessThanOrEqual(Math.ceil(secs * 2) + 1);
    for (let i = 1; i < got.length; i++) {
      expect((got[i]?.at ?? 0) - (got[i - 1]?.at ?? 0)).toBeGreaterThan(400);
    }
    expect(got.every((g) => g.msg.index === 1)).toBe(true);
    expect(new Set(got.map((g) => g.msg.stage))).toContain("done");
    expect(got.at(-1)?.msg).toMatchObject({ index: 1, stage: "done", fraction: 1, phase: "Completed" });
    for (const g of got) expect(g.msg.fraction).toBeGreaterThanOrEqual(0);
    const reader = new Redis(redis.url);
    try {
      expect(JSON.parse((await reader.get("reel:progress:media/season-1:1")) ?? "{}")).toMatchObject({
        phase: "Completed",
      });
      const ttl = await reader.ttl("reel:progress:media/season-1:1");
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3600);
    } finally {
      reader.disconnect();
    }
  }, 180_000);

  it("as its namespace's Redis user (made by the operator's rules), publishes its progress and caches probes under its namespace only", async () => {
    const admin = new Redis(redis.url);
    const password = "w".repeat(43);
    try {
      const { user, rules } = workerAclRules("media", password);
      await admin.call("ACL", "SETUSER", user, ...rules);
      const job = { ...season(), name: "acl-own", uid: "uid-acl-own" };
      const p = await episodePod(job, 0, {
        REEL_REDIS_URL: redis.url,
        REEL_REDIS_USERNAME: user,
        REEL_REDIS_PASSWORD: password,
      });
      expect(p.code, p.raw).toBe(0);
      expect(p.logs).not.toContain("REEL_REDIS_DENIED");
      expect(p.logs).not.toContain(password);
      expect(JSON.parse((await admin.get("reel:progress:media/acl-own:0")) ?? "{}")).toMatchObject({
        stage: "done",
        phase: "Completed",
      });
      // The probe cache entry is the namespace's (it could not be written anywhere else).
      expect((await admin.keys("reel:meta:media/probe:*")).length).toBeGreaterThan(0);
    } finally {
      await admin.call("ACL", "DELUSER", "reel-w-media");
      admin.disconnect();
    }
  }, 180_000);

  it("refused by Redis (a wrong password), logs REEL_REDIS_DENIED once without the password, and the episode completes", async () => {
    const admin = new Redis(redis.url);
    try {
      const { user, rules } = workerAclRules("media", "r".repeat(43));
      await admin.call("ACL", "SETUSER", user, ...rules);
      const job = { ...season(), name: "acl-denied", uid: "uid-acl-denied" };
      const wrong = "x".repeat(43);
      const p = await episodePod(job, 0, {
        REEL_REDIS_URL: redis.url,
        REEL_REDIS_USERNAME: user,
        REEL_REDIS_PASSWORD: wrong,
      });
      expect(p.code, p.raw).toBe(0);
      expect(p.result.phase).toBe("Completed");
      expect(p.logs.match(/REEL_REDIS_DENIED/g)?.length).toBe(1);
      expect(p.logs).toMatch(/WRONGPASS/);
      expect(p.logs).not.toContain("Redis unavailable");
      expect(p.logs).not.toContain(wrong);
      expect(await admin.get("reel:progress:media/acl-denied:0")).toBeNull();
    } finally {
      await admin.call("ACL", "DELUSER", "reel-w-media");
      admin.disconnect();
    }
  }, 180_000);

  it("records the yt-dlp version when the episode came through yt-dlp", async () => {
    const job = { name: "page", uid: "uid-page", episodes: [{ url: `${server.origin}/watch.html`, title: "Page" }] };
    const p = await episodePod(job, 0);
    expect(p.code, p.raw).toBe(0);
    expect(p.result.ytDlp).toMatch(/^\d{4}\.\d{2}\.\d{2}/);
    const rec = JSON.parse(await getText("shows/.reel-staging/uid-page/ep0.json"));
    expect(rec.ytDlp).toBe(p.result.ytDlp);
  }, 120_000);

  it("sends an untitled page episode's own title and its source facts, and no title for a titled one", async () => {
    const page = '<html><head><title>Site Title</title></head><body><video src="/good1.mp4"></video></body></html>\n';
    await writeFile(join(src, "titled.html"), page);
    const url = `${server.origin}/titled.html`;
    const p = await episodePod({ name: "site", uid: "uid-site", episodes: [{ url }] }, 0);
    expect(p.code, p.raw).toBe(0);
    // The generic extractor numbers a page's <video> elements after the page's title.
    expect(p.result.title).toBe("Site Title (1)");
    expect(p.result.source).toMatchObject({ videoCodec: "h264", width: 320, height: 240, title: "Site Title (1)" });
    const given = await episodePod({ name: "site2", uid: "uid-site2", episodes: [{ url, title: "Given" }] }, 0);
    expect(given.code, given.raw).toBe(0);
    expect(given.result.title).toBeUndefined();
    expect(given.result.source?.title).toBe("Site Title (1)");
  }, 180_000);

  it("a 404 source exits 2 with REEL_SOURCE_NOT_FOUND and stages nothing", async () => {
    const job = {
      name: "partial",
      uid: "uid-partial",
      episodes: [{ url: `${server.origin}/missing.mp4`, title: "Gone" }],
    };
    const p = await episodePod(job, 0);
    expect(p.code).toBe(2);
    expect(p.result).toMatchObject({
      mode: "episode",
      index: 0,
      phase: "Failed",
      error: { code: "REEL_SOURCE_NOT_FOUND" },
    });
    expect(Buffer.byteLength(p.raw)).toBeLessThanOrEqual(4096);
    await expect(head("shows/.reel-staging/uid-partial/ep0.json")).rejects.toMatchObject({ name: "NotFound" });
  }, 60_000);

  it("a failing source's secret URL parts (userinfo, query, fragment) reach neither the result nor the logs", async () => {
    const origin = server.origin.replace("http://", "http://podUSER:podPASSword@");
    for (const path of ["/missing.mp4", "/missing/nothere"]) {
      const url = `${origin}${path}?sig=podSECRETsig123&x=1#podFRAGsecret`;
      const p = await episodePod({ name: "secret", uid: "uid-secret", episodes: [{ url, title: "S" }] }, 0);
      expect(p.code, p.raw).not.toBe(0);
      for (const s of ["podPASSword", "podSECRETsig123", "podFRAGsecret"]) {
        expect(p.raw, path).not.toContain(s);
        expect(p.logs, path).not.toContain(s);
      }
    }
  }, 120_000);

  it("placed on a GPU node whose encoder does not work, exits 3 with REEL_ENCODER_FAILED instead of using the CPU there", async () => {
    // This machine has no GPU: the operator's GPU placement finds no working GPU encoder here.
    const job = {
      name: "gpu-gone",
      uid: "uid-gpu-gone",
      episodes: [{ url: `${server.origin}/good1.mp4` }],
      over: { gpu: { policy: "auto", vendor: "nvidia" } },
    };
    const p = await episodePod(job, 0, { REEL_ENCODER_HINT: "h264_nvenc", REEL_ON_ENCODER_FAILURE: "exit" });
    expect(p.code).toBe(3);
    expect(p.result).toMatchObject({ phase: "Failed", error: { code: "REEL_ENCODER_FAILED" } });
    await expect(head("shows/.reel-staging/uid-gpu-gone/ep0.json")).rejects.toMatchObject({ name: "NotFound" });
  }, 60_000);

  it("an internal address (127.0.0.1, not allowlisted) exits 2 with REEL_EGRESS_DENIED", async () => {
    const internal = await serveDir(src, { host: "127.0.0.1" });
    try {
      const job = { name: "internal", uid: "uid-internal", episodes: [{ url: `${internal.origin}/good1.mp4` }] };
      const p = await episodePod(job, 0);
      expect(p.code).toBe(2);
      expect(p.result).toMatchObject({ phase: "Failed", error: { code: "REEL_EGRESS_DENIED" } });
    } finally {
      await internal.close();
    }
  }, 60_000);
});

describe("reel worker, merge pods", () => {
  it("joins two staged episodes into one object with 2 chapters and a presigned URL that downloads", async () => {
    const p = await mergePod(season(), [
      { index: 0, title: "Pilot" },
      { index: 1, title: "Second" },
    ]);
    expect(p.code, p.raw).toBe(0);
    expect(Buffer.byteLength(p.raw)).toBeLessThanOrEqual(4096);
    const out = p.result.output as StoredOutput;
    expect(p.result).toMatchObject({ mode: "merge", phase: "Completed" });
    expect(out).toMatchObject({ location: "s3://videos/shows/season-1.mp4", chapters: 2 });
    expect(out.durationSecs).toBeCloseTo(3.5, 0);
    expect(new Date(out.urlExpiresAt ?? 0).getTime() - Date.now()).toBeGreaterThan(7000_000);

    const res = await fetch(out.url ?? "");
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(out.bytes);
    expect(sha256(body)).toBe(out.sha256);
    const file = join(tmp.dir, "merged-season-1.mp4");
    await writeFile(file, body);
    expect(chapterTitles(file)).toEqual(["Pilot", "Second"]);
    // Seek thumbnails beside it, their index naming the sheet stored next to it.
    expect(out.thumbnails).toEqual({ vtt: "s3://videos/shows/season-1-thumbs.vtt", sheets: 1 });
    const vtt = await getText("shows/season-1-thumbs.vtt");
    expect(vtt).toMatch(/^WEBVTT\n\n00:00:00\.000 --> 00:00:02\.000\nseason-1-thumbs-001\.jpg#xywh=0,0,160,\d+\n/);
    expect((await head("shows/season-1-thumbs-001.jpg")).ContentLength).toBeGreaterThan(0);
    // A poster per episode beside it, named by the crds rule the operator lists them by.
    expect(out.posters).toEqual({ stored: 2 });
    for (const n of [0, 1]) {
      const key = `shows/${episodePosterName("season-1", n)}`;
      const jpeg = await client.send(new GetObjectCommand({ Bucket: "videos", Key: key }));
      const poster = join(tmp.dir, `poster-${n}.jpg`);
      await writeFile(poster, Buffer.from((await jpeg.Body?.transformToByteArray()) ?? []));
      expect(pictureOf(poster)).toMatchObject({ codec_name: "mjpeg", width: 640 });
    }
    const rec = JSON.parse(await getText("shows/.reel-staging/uid-season-1/merge.json"));
    expect(rec.output.sha256).toBe(out.sha256);
    // The outputs are stored: staging is gone but for the record a retried pod answers from.
    expect(await staged("uid-season-1")).toEqual(["merge.json"]);
  }, 180_000);

  it("a retried merge pod answers the stored output with a fresh URL and writes nothing", async () => {
    const before = await head("shows/season-1.mp4");
    await new Promise((r) => setTimeout(r, 1100));
    const p = await mergePod(season(), [
      { index: 0, title: "Pilot" },
      { index: 1, title: "Second" },
    ]);
    expect(p.code, p.raw).toBe(0);
    expect(p.result).toMatchObject({ mode: "merge", phase: "Completed", reused: true });
    const out = p.result.output as StoredOutput;
    expect(out.location).toBe("s3://videos/shows/season-1.mp4");
    const res = await fetch(out.url ?? "");
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(out.bytes);
    const after = await head("shows/season-1.mp4");
    expect([after.ETag, after.LastModified?.getTime()]).toEqual([before.ETag, before.LastModified?.getTime()]);
  }, 120_000);

  it("with allowPartial the merge list leaves the failed episode out", async () => {
    const job = {
      name: "partial",
      uid: "uid-partial",
      episodes: [
        { url: `${server.origin}/good2.mp4`, title: "One" },
        { url: `${server.origin}/missing.mp4`, title: "Gone" },
        { url: `${server.origin}/good1.mp4`, title: "Three" },
      ],
      over: { merge: { allowPartial: true } },
    };
    for (const i of [0, 2]) expect((await episodePod(job, i)).code).toBe(0);
    expect((await episodePod(job, 1)).code).toBe(2);
    const p = await mergePod(job, [
      { index: 0, title: "One" },
      { index: 2, title: "Three" },
    ]);
    expect(p.code, p.raw).toBe(0);
    expect(p.result.output).toMatchObject({ location: "s3://videos/shows/partial.mp4", chapters: 2 });
    const file = join(tmp.dir, "partial.mp4");
    await writeFile(file, Buffer.from(await (await fetch(p.result.output?.url ?? "")).arrayBuffer()));
    expect(chapterTitles(file)).toEqual(["One", "Three"]);
  }, 240_000);

  it("with merge off, stores each listed episode under reel run's per-episode name", async () => {
    const job = { ...season(), uid: "uid-season-1-off", over: { merge: { enabled: false } } };
    for (const i of [0, 1]) expect((await episodePod(job, i)).code).toBe(0);
    const p = await mergePod(job, [
      { index: 0, title: "Pilot" },
      { index: 1, title: "Second" },
    ]);
    expect(p.code, p.raw).toBe(0);
    expect(p.result.output).toBeUndefined();
    expect(p.result.outputs?.map((o) => o.location)).toEqual([
      "s3://videos/shows/season-1-001-Pilot.mp4",
      "s3://videos/shows/season-1-002-Second.mp4",
    ]);
    const first = p.result.outputs?.[0] as StoredOutput;
    const body = Buffer.from(await (await fetch(first.url ?? "")).arrayBuffer());
    expect(sha256(body)).toBe(first.sha256);
    // Each file's poster beside it, where crds posterLocation (the operator's rule) says.
    expect(p.result.outputs?.map((o) => o.posters)).toEqual([{ stored: 1 }, { stored: 1 }]);
    for (const o of p.result.outputs ?? []) {
      const key = (posterLocation(o.location) ?? "").replace("s3://videos/", "");
      expect((await head(key)).ContentLength).toBeGreaterThan(1000);
    }
    expect(await staged("uid-season-1-off")).toEqual(["merge.json"]);
    // Retried after staging was cleared: the record answers, with fresh links, and nothing is redone.
    const again = await mergePod(job, [
      { index: 0, title: "Pilot" },
      { index: 1, title: "Second" },
    ]);
    expect(again.code, again.raw).toBe(0);
    expect(again.result).toMatchObject({ reused: true });
    expect(again.result.outputs?.map((o) => o.sha256)).toEqual(p.result.outputs?.map((o) => o.sha256));
  }, 180_000);

  it("a merge whose staged episode is missing exits 1 with REEL_STAGING_MISSING (retried)", async () => {
    const job = { ...season(), uid: "uid-never-staged" };
    const p = await mergePod(job, [{ index: 0, title: "Pilot" }]);
    expect(p.code).toBe(1);
    expect(p.result.error?.code).toBe("REEL_STAGING_MISSING");
  }, 60_000);
});

describe("reel worker on a volume output", () => {
  it("stages in <output>/.reel-staging/<uid>/ and merges beside it; a Redis outage fails nothing", async () => {
    const out = join(tmp.dir, "volume", "shows");
    const staging = join(out, ".reel-staging", "uid-vol");
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const episodes = [{ url: `${server.origin}/good2.mp4`, title: "Only" }];
    const spec = specOf("vol", episodes, { output: { volume: { claimName: "media", path: "/shows" } } });
    const common = {
      REEL_VIDEOJOB: "media/vol",
      REEL_VIDEOJOB_UID: "uid-vol",
      REEL_STAGING: `${staging}/`,
      REEL_REDIS_URL: deadRedis,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
    };
    const ep = await pod({
      ...common,
      REEL_MODE: "episode",
      REEL_EPISODE_INDEX: "0",
      REEL_EPISODE_URL: episodes[0]?.url,
      REEL_SPEC: JSON.stringify(spec),
    });
    expect(ep.code, ep.raw).toBe(0);
    expect(ep.logs).toContain("Redis unavailable");
    expect((await readdir(staging)).sort()).toEqual(["ep0.json", "ep0.mp4"]);
    const m = await pod({
      ...common,
      REEL_MODE: "merge",
      REEL_SPEC: JSON.stringify(spec),
      REEL_MERGE_EPISODES: JSON.stringify([{ index: 0, title: "Only" }]),
    });
    expect(m.code, m.raw).toBe(0);
    expect(m.result.output).toMatchObject({
      location: "pvc://media/shows/vol.mp4",
      chapters: 1,
      thumbnails: { vtt: "pvc://media/shows/vol-thumbs.vtt", sheets: 1 },
      posters: { stored: 1 },
    });
    expect(m.result.output?.url).toBeUndefined();
    // The merged file and its seek thumbnails beside it, on the volume too.
    expect((await readdir(out)).sort()).toEqual([
      ".reel-staging",
      "vol-ep001-poster.jpg",
      "vol-thumbs-001.jpg",
      "vol-thumbs.vtt",
      "vol.mp4",
    ]);
    expect(pictureOf(join(out, "vol-ep001-poster.jpg"))).toMatchObject({ codec_name: "mjpeg", width: 640 });
    expect(chapterTitles(join(out, "vol.mp4"))).toEqual(["Only"]);
  }, 180_000);
});

describe("reel worker, a source's own chapters (merge.chapterMarks both)", () => {
  it("the episode pod stages its source's chapters in ep0.json and the merge pod places them inside the episode", async () => {
    // A 2 s Matroska source with two chapters from an ffmetadata file (the encode drops them).
    const meta = join(tmp.dir, "chaptered.ffmeta");
    const marks = [
      ["Cold open", 500, 1200],
      ["Story", 1200, 2000],
    ];
    const text = marks.map(([t, s, e]) => `[CHAPTER]\nTIMEBASE=1/1000\nSTART=${s}\nEND=${e}\ntitle=${t}\n`);
    await writeFile(meta, `;FFMETADATA1\n${text.join("")}`);
    execFileSync("ffmpeg", [
      ...["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine"],
      ...["-f", "ffmetadata", "-i", meta, "-map", "0", "-map", "1", "-map_chapters", "2", "-t", "2"],
      ...["-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "25", "-c:a", "aac", join(src, "chaptered.mkv")],
    ]);
    const job = {
      name: "own-chapters",
      uid: "uid-own-chapters",
      episodes: [
        { url: `${server.origin}/chaptered.mkv`, title: "Pilot" },
        { url: `${server.origin}/good2.mp4`, title: "Second" },
      ],
      over: { merge: { chapterMarks: "both" } },
    };
    for (const i of [0, 1]) expect((await episodePod(job, i)).code).toBe(0);
    const rec = JSON.parse(await getText("shows/.reel-staging/uid-own-chapters/ep0.json"));
    expect(rec.sourceChapters).toEqual([
      { title: "Cold open", startSecs: 0.5 },
      { title: "Story", startSecs: 1.2 },
    ]);
    expect(JSON.parse(await getText("shows/.reel-staging/uid-own-chapters/ep1.json")).sourceChapters).toEqual([]);
    const p = await mergePod(job, [
      { index: 0, title: "Pilot" },
      { index: 1, title: "Second" },
    ]);
    expect(p.code, p.raw).toBe(0);
    expect(p.result.output).toMatchObject({ location: "s3://videos/shows/own-chapters.mp4", chapters: 4 });
    const file = join(tmp.dir, "own-chapters.mp4");
    await writeFile(file, Buffer.from(await (await fetch(p.result.output?.url ?? "")).arrayBuffer()));
    const read = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", file]).toString(),
    ) as { chapters: { start_time: string; tags: { title: string } }[] };
    const got = read.chapters.map((c) => [c.tags.title, Number(c.start_time)] as const);
    expect(got.map(([t]) => t)).toEqual(["Pilot", "Pilot — Cold open", "Pilot — Story", "Second"]);
    for (const [i, want] of [0, 0.5, 1.2, 2].entries()) expect(Math.abs((got[i]?.[1] ?? -1) - want)).toBeLessThan(0.05);
  }, 240_000);
});
