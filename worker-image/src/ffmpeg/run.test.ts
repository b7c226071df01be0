import { ReelError } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProgressEvent } from "./progress.ts";
import { runFfmpeg } from "./run.ts";
import { makeTempDir } from "./test-media.ts";

describe("runFfmpeg (real ffmpeg)", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(() => tmp.cleanup());

  it("reports progress events with percent and a final done event", async () => {
    const events: ProgressEvent[] = [];
    await runFfmpeg(
      [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
      ].concat(["-f", "mp4", "-y", `${tmp.dir}/p.mp4`]),
      { durationSecs: 2, onProgress: (e) => events.push(e) },
    );
    const last = events.at(-1);
    expect(last?.done).toBe(true);
    expect(last?.percent).toBe(100);
    expect(last?.frame).toBe(50);
  });

  it("maps a missing binary to REEL_FFMPEG_MISSING", async () => {
    const err = await runFfmpeg(["-version"], {
      binaries: { ffmpeg: "/nonexistent/ffmpeg", ffprobe: "/nonexistent/ffprobe" },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReelError);
    expect((err as ReelError).code).toBe("REEL_FFMPEG_MISSING");
  });

  it("maps a non-zero exit to REEL_FFMPEG_FAILED with the stderr tail", async () => {
    const err = await runFfmpeg(["-f", "mov", "-i", `${tmp.dir}/missing.mp4`, "-f", "null", "-"], {
      label: "decode",
    }).catch((e: unknown) => e);
    expect((err as ReelError).code).toBe("REEL_FFMPEG_FAILED");
    expect((err as ReelError).message).toMatch(/^decode: exit code 1\n.*No such file or directory/s);
  });

  it("kills ffmpeg on abort and rejects with REEL_CANCELLED", async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = runFfmpeg(["-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "null", "-"], {
      signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    const err = await p.catch((e: unknown) => e);
    expect((err as ReelError).code).toBe("REEL_CANCELLED");
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
