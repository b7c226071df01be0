// Issue 15: a 500-episode job as one `reel run` — the same 0.4 s source listed 500 times (the job
// allows one URL more than once) — gives a merged file whose chapter track holds 500 chapters
// with the episodes' titles (Nero chpl alone stops at 255), and a result that counts them.
import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StaticServer, serveDir } from "../cli/serve.ts";
import { makeTempDir } from "../ffmpeg/test-media.ts";
import { reelRun } from "../testing/reel-run.ts";

const EPISODES = 500;
const SECS = 0.4;

let tmp: { dir: string; cleanup(): Promise<void> };
let server: StaticServer;

beforeAll(async () => {
  tmp = await makeTempDir("reel-500-");
  const src = join(tmp.dir, "src");
  await mkdir(src, { recursive: true });
  execFileSync("ffmpeg", [
    ...["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi"],
    ...["-i", "sine=frequency=440:sample_rate=48000", "-t", String(SECS), "-c:v", "libx264"],
    ...["-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", join(src, "ep.mp4")],
  ]);
  server = await serveDir(src, { host: "127.0.0.2" });
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

describe("a 500-episode job", () => {
  it("merges 500 episodes into one file with 500 titled chapters, and the result counts them", async () => {
    const episodes = Array.from({ length: EPISODES }, (_, i) => ({
      url: `${server.origin}/ep.mp4`,
      title: `Episode ${i + 1}`,
    }));
    const { result, stderr } = await reelRun({
      dir: tmp.dir,
      name: "five-hundred",
      spec: {
        episodes,
        quality: "480p",
        compression: { preset: "fast", level: 6 },
        gpu: { policy: "off" },
        output: { local: { path: join(tmp.dir, "out") } },
      },
    });
    expect(result.phase, stderr.slice(-2000)).toBe("Completed");
    expect(result.output?.chapters).toBe(EPISODES);

    const merged = result.output?.location as string;
    const out = execFileSync("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", merged], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const chapters = (JSON.parse(out.toString()).chapters as { start_time: string; tags?: { title?: string } }[]).map(
      (c) => [c.tags?.title, Number(c.start_time)] as const,
    );
    expect(chapters).toHaveLength(EPISODES);
    expect(chapters.map((c) => c[0])).toEqual(episodes.map((e) => e.title));
    // Each chapter starts where its episode does: 0.4 s apart (10 frames at 25 fps).
    for (const k of [0, 1, 254, 255, 256, 499]) expect(chapters[k]?.[1]).toBeCloseTo(k * SECS, 2);
  }, 180_000);
});
