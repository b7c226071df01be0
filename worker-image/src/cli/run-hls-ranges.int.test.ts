// `reel run` with single-file HLS episodes (EXT-X-BYTERANGE), as ffmpeg writes them with
// `-hls_flags single_file`: MPEG-TS, and fMP4 whose init section is a byte range too. Both come down
// through range requests, fewer than their segments, and merge into one file that decodes cleanly.
import { execFile, execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { makeTempDir } from "../ffmpeg/test-media.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "main.ts");

let tmp: { dir: string; cleanup(): Promise<void> };
let server: Server;
let origin: string;
/** Every request the source saw: path and Range header. */
const seen: { path: string; range?: string }[] = [];

/** Serves `root` with single byte ranges, as a CDN does; logs each request. */
function serveRanges(root: string): Promise<void> {
  server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    seen.push({ path, range: req.headers.range });
    const file = join(root, path.replace(/[^\w.-]/g, ""));
    const size = (await stat(file).catch(() => undefined))?.size;
    if (size === undefined) return void res.writeHead(404).end();
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (!m) return void createReadStream(file).pipe(res.writeHead(200, { "content-length": size }));
    const [start, end] = [Number(m[1]), Math.min(Number(m[2]), size - 1)];
    res.writeHead(206, { "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${size}` });
    createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.2", resolve));
}

function singleFileHls(dir: string, name: string, extra: string[]): void {
  execFileSync("ffmpeg", [
    ...["-nostdin", "-v", "error", "-y"],
    ...["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=6", "-f", "lavfi", "-i", "sine=f=440:d=6"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"],
    ...["-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "vod"],
    ...["-hls_flags", "single_file", ...extra, join(dir, `${name}.m3u8`)],
  ]);
}

beforeAll(async () => {
  tmp = await makeTempDir("reel-run-hls-ranges-");
  singleFileHls(tmp.dir, "ts", []);
  singleFileHls(tmp.dir, "fm", ["-hls_segment_type", "fmp4"]);
  await serveRanges(tmp.dir);
  origin = `http://127.0.0.2:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await tmp?.cleanup();
});

describe("reel run with byte-range HLS", () => {
  it("downloads single-file TS and fMP4 episodes through range requests and merges them", async () => {
    const job = join(tmp.dir, "job.yaml");
    await writeFile(
      job,
      stringify({
        apiVersion: "reel.dev/v1alpha1",
        kind: "VideoJob",
        metadata: { name: "hls-ranges" },
        spec: {
          episodes: [
            { url: `${origin}/ts.m3u8`, title: "MPEG-TS" },
            { url: `${origin}/fm.m3u8`, title: "fMP4" },
          ],
          quality: "480p",
          compression: { preset: "fast", level: 6 },
          output: { local: { path: join(tmp.dir, "out") } },
        },
      }),
    );
    const r = await exec(process.execPath, [main, "run", job, "--json", "--allow", "127.0.0.2/32"], {
      env: { ...process.env, REEL_CACHE_DIR: join(tmp.dir, "cache") },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const result = JSON.parse(r.stdout) as {
      phase: string;
      episodes: { phase: string; error?: { code: string; message: string } }[];
      output: { location: string; chapters: number };
    };
    expect(result.phase, r.stdout + r.stderr).toBe("Completed");
    expect(result.episodes.map((e) => e.phase)).toEqual(["Completed", "Completed"]);
    for (const media of ["/ts.ts", "/fm.m4s"]) {
      const requests = seen.filter((s) => s.path === media);
      expect(requests.length, media).toBeGreaterThan(0);
      // Six 1 s segments each; the fMP4 file also gives its init section as a range.
      expect(requests.length, media).toBeLessThan(6);
      expect(
        requests.every((s) => s.range?.startsWith("bytes=")),
        JSON.stringify(requests),
      ).toBe(true);
    }
    expect(result.output.chapters).toBe(2);
    const decode = execFileSync("ffmpeg", ["-v", "error", "-i", result.output.location, "-f", "null", "-"], {
      stdio: "pipe",
    });
    expect(decode.toString()).toBe("");
    const probe = JSON.parse(
      execFileSync("ffprobe", [
        "-v",
        "error",
        "-show_streams",
        "-show_format",
        "-of",
        "json",
        result.output.location,
      ]).toString(),
    ) as { streams: { codec_type: string }[]; format: { duration: string } };
    // A chapter track may come as a data stream beside them.
    const types = probe.streams.map((s) => s.codec_type).filter((t) => t !== "data");
    expect(types.sort()).toEqual(["audio", "video"]);
    expect(Number(probe.format.duration)).toBeCloseTo(12, 0);
  }, 180_000);
});
