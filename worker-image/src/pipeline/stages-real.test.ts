import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseVideoJob } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { serveDir } from "../cli/serve.ts";
import { makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { DiskCache } from "../resilience/cache.ts";
import { measureWindows, realStages } from "./stages-real.ts";

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
