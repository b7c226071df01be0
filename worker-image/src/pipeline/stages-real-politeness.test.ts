// realStages under spec.politeness: a failed fetch gives its connection back (with one connection
// per host, a leaked lease would hold every later fetch of that host forever).
import { join } from "node:path";
import { parseVideoJob } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { Cookies } from "../fetch/cookies.ts";
import { hostLimiter, memorySlots } from "../fetch/politeness.ts";
import { DiskCache } from "../resilience/cache.ts";
import { realStages } from "./stages-real.ts";

describe("realStages with a per-host limiter", () => {
  it("gives the connection back after a page whose cookies copy fails, a failed page and a failed download", async () => {
    const tmp = await makeTempDir("reel-stages-polite-");
    try {
      const stages = realStages({
        binaries: { ffmpeg: "ffmpeg", ffprobe: "ffprobe" },
        ytDlp: join(tmp.dir, "no-such-yt-dlp"),
        childEnv: {},
        allow: ["127.0.0.2/32"],
        cacheDir: join(tmp.dir, "cache"),
        metadata: new DiskCache(join(tmp.dir, "meta")),
        segmentMinSecs: 120,
        cookies: new Cookies("test", "127.0.0.2\tFALSE\t/\tFALSE\t0\ts\tvalue123\n"),
        politeness: hostLimiter(memorySlots(), { connectionsPerHost: 1, requestsPerSecond: 100 }),
      });
      const spec = parseVideoJob({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "x" },
        spec: { episodes: [{ url: "http://127.0.0.2:9/a.mp4" }], output: { local: { path: tmp.dir } } },
      }).spec;
      const ctx = { signal: AbortSignal.timeout(20_000), progress: () => {} };
      const codes: string[] = [];
      const tries: [string, string][] = [
        // The cookies' copy cannot be written (no such folder): fails before yt-dlp starts.
        ["http://127.0.0.2:9/watch", join(tmp.dir, "gone")],
        ["http://127.0.0.2:9/watch", tmp.dir],
        ["http://127.0.0.2:9/a.mp4", tmp.dir],
        ["http://127.0.0.2:9/watch", tmp.dir],
      ];
      for (const [url, dir] of tries) {
        const err = await stages.fetch(url, dir, spec, ctx).catch((e: { code: string }) => e);
        codes.push((err as { code: string }).code);
      }
      expect(codes).toEqual(["ENOENT", "REEL_YTDLP_MISSING", "REEL_SOURCE_UNREACHABLE", "REEL_YTDLP_MISSING"]);
    } finally {
      await tmp.cleanup();
    }
  }, 30_000);
});
