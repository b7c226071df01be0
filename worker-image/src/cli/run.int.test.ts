// `reel run` as a user runs it: the CLI process, real ffmpeg, the Rust core and a loopback source
// server, with the list of bad inputs as episodes beside two good ones. Each bad episode
// gets its coded error, nothing else is lost, and the good ones are merged with chapters.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { startS3 } from "@reel/e2e/services";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { aviClaiming, makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { type StaticServer, serveDir } from "./serve.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "main.ts");

let tmp: { dir: string; cleanup(): Promise<void> };
let src: string;
let server: StaticServer;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function reel(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  try {
    const r = await exec(process.execPath, [main, ...args], {
      env: { ...process.env, REEL_CACHE_DIR: join(tmp.dir, "cache"), ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function writeJob(name: string, episodes: { url: string; title?: string }[], allowPartial: boolean) {
  const path = join(tmp.dir, `${name}.yaml`);
  await writeFile(
    path,
    stringify({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name },
      spec: {
        episodes,
        quality: "480p",
        compression: { preset: "fast", level: 6 },
        merge: { allowPartial },
        output: { local: { path: join(tmp.dir, "out") } },
      },
    }),
  );
  return path;
}

beforeAll(async () => {
  tmp = await makeTempDir("reel-run-int-");
  src = join(tmp.dir, "src");
  await mkdir(join(src, "hls-live"), { recursive: true });
  await makeTestClip(join(src, "good1.mp4"), { seconds: 2 });
  await makeTestClip(join(src, "good2.mp4"), { seconds: 1.5 });
  await makeTestClip(join(src, "wide30.mp4"), { seconds: 1.2, width: 640, height: 360, fps: 30, audio: false });
  await writeFile(join(src, "zero.mp4"), "");
  const good = await readFile(join(src, "good1.mp4"));
  // ffmpeg writes moov at the end: the first half has none.
  await writeFile(join(src, "truncated.mp4"), good.subarray(0, Math.floor(good.length / 2)));
  await writeFile(join(src, "notes.mp4"), "these are my notes, not a video\n");
  execFileSync("ffmpeg", [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=s=16x16:d=0.2",
    "-c:v",
    "rawvideo",
    join(src, "small.avi"),
  ]);
  await aviClaiming(join(src, "small.avi"), join(src, "huge.avi"), 100_000, 100_000);
  const hls = (segment: string, end = true) =>
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n${segment}\n${end ? "#EXT-X-ENDLIST\n" : ""}`;
  await writeFile(join(src, "passwd.m3u8"), hls("file:///etc/passwd"));
  await writeFile(join(src, "disclosure.avi"), hls("file:///etc/passwd"));
  await writeFile(join(src, "live.m3u8"), hls("seg0.ts", false));
  // A page for yt-dlp's generic extractor: the video is found in the HTML.
  await writeFile(join(src, "watch.html"), '<html><body><video src="/good2.mp4"></video></body></html>\n');
  // 127.0.0.2 serves; 127.0.0.1 stays denied, so URLs to it test the guard for real.
  server = await serveDir(src, { host: "127.0.0.2", redirects: { "/to-internal.mp4": "http://127.0.0.1:9/x.mp4" } });
  await writeFile(join(src, "self.m3u8"), `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n${server.origin}/self.m3u8\n`);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

describe("reel run", () => {
  it("gives every bad input its coded error and merges the good episodes with chapters", async () => {
    const o = server.origin;
    const cases: [string, string | undefined][] = [
      [`${o}/good1.mp4`, undefined],
      [`${o}/zero.mp4`, "REEL_MEDIA_INVALID"],
      [`${o}/truncated.mp4`, "REEL_MEDIA_INVALID"],
      [`${o}/notes.mp4`, "REEL_MEDIA_INVALID"],
      [`${o}/huge.avi`, "REEL_MEDIA_LIMITS"],
      [`${o}/passwd.m3u8`, "REEL_HLS_BAD_URI"],
      [`${o}/disclosure.avi`, "REEL_MEDIA_INVALID"],
      [`${o}/live.m3u8`, "REEL_HLS_LIVE"],
      [`${o}/self.m3u8`, "REEL_HLS_LOOP"],
      ["http://127.0.0.1/a.mp4", "REEL_EGRESS_DENIED"],
      ["http://169.254.169.254/latest/meta-data.mp4", "REEL_EGRESS_DENIED"],
      ["http://[::1]/a.mp4", "REEL_EGRESS_DENIED"],
      ["http://0x7f000001/a.mp4", "REEL_EGRESS_DENIED"],
      [`${o}/to-internal.mp4`, "REEL_EGRESS_DENIED"],
      [`${o}/missing.mp4`, "REEL_SOURCE_NOT_FOUND"],
      [`${o}/good2.mp4`, undefined],
    ];
    const episodes = cases.map(([url], i) => ({ url, title: i === 15 ? "../../etc/Finale" : `case ${i + 1}` }));
    const job = await writeJob("bad-inputs", episodes, true);
    const r = await reel(["run", job, "--json", "--allow", "127.0.0.2/32"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      phase: string;
      episodes: { phase: string; error?: { code: string } }[];
      output: { location: string; chapters: number };
    };
    expect(result.phase).toBe("Completed");
    expect(result.episodes.map((e) => e.error?.code)).toEqual(cases.map(([, code]) => code));
    expect(result.output.chapters).toBe(2);
    expect(result.output.location).toBe(join(tmp.dir, "out", "bad-inputs.mp4"));
    const chapters = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", result.output.location]).toString(),
    ) as { chapters: { tags: { title: string } }[] };
    expect(chapters.chapters.map((c) => c.tags.title)).toEqual(["case 1", "../../etc/Finale"]);
    // Nothing escaped the output directory, and no temporary files were left behind.
    // The merged file and its previews (a poster per completed episode, the seek thumbnails), nothing else.
    const stored = await readdir(join(tmp.dir, "out"));
    expect(stored.filter((f) => f.endsWith(".mp4"))).toEqual(["bad-inputs.mp4"]);
    expect(stored.filter((f) => f.endsWith("-poster.jpg"))).toHaveLength(2);
    for (const f of stored) expect(f).toMatch(/^bad-inputs(\.mp4|-ep\d{3}-poster\.jpg|-thumbs\.vtt|-thumbs-001\.jpg)$/);
  }, 180_000);

  it("fetches a page through yt-dlp behind the egress proxy, and the proxy refuses internal pages", async () => {
    const denied = await serveDir(src, { host: "127.0.0.1" });
    try {
      const job = await writeJob(
        "pages",
        [
          { url: `${server.origin}/watch.html`, title: "Page" },
          { url: `${denied.origin}/watch.html`, title: "Internal page" },
        ],
        true,
      );
      const r = await reel(["run", job, "--json", "--allow", "127.0.0.2/32"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const result = JSON.parse(r.stdout) as {
        episodes: { phase: string; error?: { code: string; message: string } }[];
        ytDlpVersion?: string;
      };
      expect(result.episodes[0]?.phase, JSON.stringify(result.episodes[0])).toBe("Completed");
      expect(result.episodes[1]?.error?.code, result.episodes[1]?.error?.message).toBe("REEL_EGRESS_DENIED");
      // The pinned version (worker-image/requirements.txt) is recorded with the result.
      expect(result.ytDlpVersion).toBe("2026.10.26");
    } finally {
      await denied.close();
    }
  }, 120_000);

  it("normalises episodes that differ in size, frame rate and audio, then merges them", async () => {
    const job = await writeJob(
      "mixed",
      [
        { url: `${server.origin}/good1.mp4`, title: "4:3 at 25 fps" },
        { url: `${server.origin}/wide30.mp4`, title: "16:9 at 30 fps, silent" },
      ],
      false,
    );
    const r = await reel(["run", job, "--json", "--allow", "127.0.0.2/32"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = (JSON.parse(r.stdout) as { output: { location: string; chapters: number } }).output;
    expect(out.chapters).toBe(2);
    const decode = execFileSync("ffmpeg", ["-v", "error", "-i", out.location, "-f", "null", "-"], { stdio: "pipe" });
    expect(decode.toString()).toBe("");
    const probe = JSON.parse(
      execFileSync("ffprobe", ["-v", "error", "-show_streams", "-show_format", "-of", "json", out.location]).toString(),
    ) as { streams: { codec_type: string; width?: number }[]; format: { duration: string } };
    // data: the QuickTime chapter track (ffprobe lists it as a stream, as for ffmpeg's own chapters).
    expect(probe.streams.map((st) => st.codec_type).sort()).toEqual(["audio", "data", "video"]);
    expect(Number(probe.format.duration)).toBeCloseTo(3.2, 0);
  }, 120_000);

  it("uploads the merged file to S3 (a real S3 server) and answers an expiring URL", async () => {
    const s3 = await startS3();
    try {
      const client = new S3Client({
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      await client.send(new CreateBucketCommand({ Bucket: "videos" }));
      const path = join(tmp.dir, "s3.yaml");
      await writeFile(
        path,
        stringify({
          apiVersion: "reel.dev/v1alpha1",
          kind: "VideoJob",
          metadata: { name: "to-s3" },
          spec: {
            episodes: [{ url: `${server.origin}/good1.mp4` }, { url: `${server.origin}/good2.mp4` }],
            quality: "480p",
            output: {
              s3: {
                bucket: "videos",
                prefix: "shows/",
                endpoint: s3.endpoint,
                credentialsSecret: "s3-creds",
                urlExpiry: "2h",
              },
            },
          },
        }),
      );
      const r = await reel(["run", path, "--json", "--allow", "127.0.0.2/32"], {
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const out = (
        JSON.parse(r.stdout) as { output: { location: string; url: string; checksum: string; urlExpiresAt: string } }
      ).output;
      expect(out.location).toBe("s3://videos/shows/to-s3.mp4");
      const body = Buffer.from(await (await fetch(out.url)).arrayBuffer());
      expect(`sha256:${createHash("sha256").update(body).digest("hex")}`).toBe(out.checksum);
      expect(new Date(out.urlExpiresAt).getTime() - Date.now()).toBeGreaterThan(7000_000);
      expect(r.stdout).not.toContain(s3.secretAccessKey);
    } finally {
      await s3.stop();
    }
  }, 120_000);

  it("without allowPartial fails with exit 1 and names each failed episode's code", async () => {
    const job = await writeJob(
      "strict",
      [{ url: `${server.origin}/good2.mp4` }, { url: `${server.origin}/notes.mp4`, title: "Notes" }],
      false,
    );
    const r = await reel(["run", job, "--allow", "127.0.0.2/32"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("job failed: REEL_EPISODES_FAILED episode 2 (Notes): REEL_MEDIA_INVALID");
    expect(r.stdout).toMatch(/1\s+Episode 1\s+Completed/);
  }, 120_000);

  it("refuses an invalid manifest with exit 2, the code and the field", async () => {
    const path = join(tmp.dir, "invalid.yaml");
    await writeFile(
      path,
      "apiVersion: reel.dev/v1alpha1\nkind: VideoJob\nmetadata: {name: x}\nspec:\n  episodes: []\n  output: {local: {path: out}}\n",
    );
    const r = await reel(["run", path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error REEL_JOB_INVALID");
    expect(r.stderr).toContain("spec.episodes");
  });

  it("says ffmpeg is missing, with exit 2 and what to do, before fetching anything", async () => {
    const job = await writeJob("no-ffmpeg", [{ url: `${server.origin}/good1.mp4` }], false);
    const r = await reel(["run", job, "--allow", "127.0.0.2/32"], { REEL_FFMPEG: "/nonexistent/ffmpeg" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error REEL_FFMPEG_MISSING: /nonexistent/ffmpeg is not installed");
    expect(r.stderr).toContain("apt-get install ffmpeg");
  });
});
