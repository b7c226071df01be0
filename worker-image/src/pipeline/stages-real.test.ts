import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseVideoJob } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { serveDir } from "../cli/serve.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { DiskCache } from "../resilience/cache.ts";
import { measureWindows, type RealStagesOptions, realStages } from "./stages-real.ts";

const exec = promisify(execFile);

describe("measureWindows", () => {
  it("compares short episodes whole", () => {
    expect(measureWindows(8)).toBeUndefined();
    expect(measureWindows(60)).toBeUndefined();
  });

  it.each([
    [61, 4, 2],
    [600, 10, 2],
    [3600, 30, 2],
    [36_000, 30, 2],
  ])("samples a %ss episode with %i windows of %i s inside it", (duration, count, length) => {
    const w = measureWindows(duration) ?? [];
    expect(w).toHaveLength(count);
    for (const x of w) {
      expect(x.duration).toBe(length);
      expect(x.start).toBeGreaterThanOrEqual(0);
      expect(x.start + x.duration).toBeLessThanOrEqual(duration);
    }
  });
});

describe("probe results cached by URL", () => {
  it("skip ffprobe for the same bytes from the same URL, and probe again when the bytes change", async () => {
    const tmp = await makeTempDir("reel-probe-cache-");
    const server = await serveDir(tmp.dir, { host: "127.0.0.2" });
    try {
      await makeTestClip(join(tmp.dir, "a.mp4"), { seconds: 1 });
      const metadata = new DiskCache(join(tmp.dir, "meta"));
      const make = (ffprobe: string) =>
        realStages({
          binaries: { ffmpeg: "ffmpeg", ffprobe },
          ytDlp: "yt-dlp",
          childEnv: {},
          allow: ["127.0.0.2/32"],
          cacheDir: join(tmp.dir, "cache"),
          metadata,
          segmentMinSecs: 120,
        });
      const spec = parseVideoJob({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "x" },
        spec: { episodes: [{ url: `${server.origin}/a.mp4` }], output: { local: { path: tmp.dir } } },
      }).spec;
      const ctx = { signal: new AbortController().signal, progress: () => {} };
      const fetchProbe = async (stages: ReturnType<typeof make>, n: number) => {
        const dir = join(tmp.dir, `run${n}`);
        await mkdir(dir);
        const f = await stages.fetch(`${server.origin}/a.mp4`, dir, spec, ctx);
        return stages.probe(f.path, ctx);
      };
      const first = await fetchProbe(make("ffprobe"), 1);
      // A broken ffprobe: the second run can only succeed from the cache.
      const second = await fetchProbe(make("/nonexistent/ffprobe"), 2);
      expect(second).toEqual(first);
      // Same URL, other bytes: the cache is not trusted, so the broken ffprobe is called and fails.
      await makeTestClip(join(tmp.dir, "a.mp4"), { seconds: 1, width: 160, height: 120 });
      await expect(fetchProbe(make("/nonexistent/ffprobe"), 3)).rejects.toMatchObject({ code: "REEL_FFMPEG_MISSING" });
    } finally {
      await server.close();
      await tmp.cleanup();
    }
  });
});

describe("direct downloads", () => {
  const spec = (origin: string) =>
    parseVideoJob({
      apiVersion: "reel.dev/v1alpha1",
      kind: "VideoJob",
      metadata: { name: "x" },
      spec: { episodes: [{ url: `${origin}/a.mp4` }], output: { local: { path: "/nonexistent" } } },
    }).spec;
  const ctx = { signal: new AbortController().signal, progress: () => {} };
  const stagesFor = (dir: string, extra: Partial<RealStagesOptions> = {}) =>
    realStages({
      binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
      ytDlp: "yt-dlp",
      childEnv: {},
      allow: ["127.0.0.2/32"],
      cacheDir: join(dir, "cache"),
      metadata: new DiskCache(join(dir, "meta")),
      segmentMinSecs: 120,
      ...extra,
    });

  // A tmpfs run folder with the cache on disk: the layout of Fedora, Arch and Debian 13.
  it("moves a download into a run folder on another filesystem (a real tmpfs mount)", async (t) => {
    const tmp = await makeTempDir("reel-xfs-");
    const runDir = join(tmp.dir, "tmpfs");
    await mkdir(runDir);
    const mounted = await exec("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", runDir]).then(
      () => true,
      (e: Error) => e.message,
    );
    if (mounted !== true) {
      await tmp.cleanup();
      t.skip(`cannot mount a tmpfs here: ${mounted}`);
      return;
    }
    const server = await serveDir(tmp.dir, { host: "127.0.0.2" });
    try {
      await writeFile(join(tmp.dir, "a.mp4"), randomBytes(3 << 20));
      const f = await stagesFor(tmp.dir).fetch(`${server.origin}/a.mp4`, runDir, spec(server.origin), ctx);
      expect(f.path).toBe(join(runDir, "source"));
      expect((await stat(f.path)).size).toBe(3 << 20);
      // Nothing orphaned in the cache: the download moved, it was not left behind.
      expect(await readdir(join(tmp.dir, "cache", "partial"))).toEqual([]);
    } finally {
      await server.close();
      await exec("umount", [runDir]).catch(() => {});
      await tmp.cleanup();
    }
  });

  it("records the origin's ETag and length as the source's validator, and none without an ETag", async () => {
    const tmp = await makeTempDir("reel-validator-");
    const tagged = await serveDir(tmp.dir, { host: "127.0.0.2", etag: true });
    const plain = await serveDir(tmp.dir, { host: "127.0.0.2" });
    try {
      await writeFile(join(tmp.dir, "a.mp4"), randomBytes(300_000));
      const stages = stagesFor(tmp.dir);
      await mkdir(join(tmp.dir, "r1"));
      await mkdir(join(tmp.dir, "r2"));
      const head = await fetch(`${tagged.origin}/a.mp4`, { method: "HEAD" });
      const got = await stages.fetch(`${tagged.origin}/a.mp4`, join(tmp.dir, "r1"), spec(tagged.origin), ctx);
      expect(got.validator).toBe(`etag ${head.headers.get("etag")} length 300000`);
      const bare = await stages.fetch(`${plain.origin}/a.mp4`, join(tmp.dir, "r2"), spec(plain.origin), ctx);
      expect(bare.validator).toBeUndefined();
    } finally {
      await tagged.close();
      await plain.close();
      await tmp.cleanup();
    }
  });

  it("fetches one URL three times at once: all complete, no control file stays", async () => {
    const tmp = await makeTempDir("reel-same-url-");
    const server = await serveDir(tmp.dir, { host: "127.0.0.2" });
    try {
      const body = randomBytes(8 << 20);
      await writeFile(join(tmp.dir, "a.mp4"), body);
      const stages = stagesFor(tmp.dir);
      const dirs = [1, 2, 3].map((n) => join(tmp.dir, `run${n}`));
      await Promise.all(dirs.map((d) => mkdir(d)));
      const got = await Promise.all(
        dirs.map((d) => stages.fetch(`${server.origin}/a.mp4`, d, spec(server.origin), ctx)),
      );
      for (const f of got) expect((await readFile(f.path)).equals(body)).toBe(true);
      expect(await readdir(join(tmp.dir, "cache", "partial"))).toEqual([]);
    } finally {
      await server.close();
      await tmp.cleanup();
    }
  });
});

describe("the encode's own output", () => {
  it("is not probed when x264 measured it: its length is ffmpeg's last progress report", async () => {
    const tmp = await makeTempDir("reel-encode-probe-");
    try {
      const src = join(tmp.dir, "a.mp4");
      await makeTestClip(src, { seconds: 3 });
      // An ffprobe that records every file it is asked about, then runs the real one.
      const log = join(tmp.dir, "probes.log");
      const wrapper = join(tmp.dir, "ffprobe");
      await writeFile(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec ffprobe "$@"\n`, { mode: 0o755 });
      const stages = realStages({
        binaries: { ffmpeg: "ffmpeg", ffprobe: wrapper },
        ytDlp: "yt-dlp",
        childEnv: {},
        allow: [],
        cacheDir: join(tmp.dir, "cache"),
        metadata: new DiskCache(join(tmp.dir, "meta")),
        segmentMinSecs: 120,
      });
      const spec = parseVideoJob({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "x" },
        spec: {
          episodes: [{ url: "https://example.com/a.mp4" }],
          quality: "480p",
          output: { local: { path: tmp.dir } },
        },
      }).spec;
      const ctx = { signal: new AbortController().signal, progress: () => {} };
      const sp = await stages.probe(src, ctx);
      const output = join(tmp.dir, "encoded.mp4");
      const enc = await stages.encode(src, sp, output, spec, ctx);
      expect(enc.quality?.method).toBe("encoder");
      expect(enc.quality?.ssim).toBeGreaterThan(0.9);
      expect(enc.decodedSecs).toBeCloseTo(3, 1);
      const probed = (await readFile(log, "utf8")).split("\n").filter(Boolean);
      expect(probed.filter((l) => l.includes(src))).toHaveLength(1);
      expect(probed.filter((l) => l.includes(output))).toEqual([]);
      // What ffprobe says of the file agrees with the length reported.
      const { stdout } = await exec("ffprobe", [
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "csv=p=0",
        output,
      ]);
      expect(Number(stdout)).toBeCloseTo(enc.decodedSecs ?? 0, 1);
    } finally {
      await tmp.cleanup();
    }
  });
});
