import { execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { open, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ReelError } from "@reel/crds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execCommand } from "../ffmpeg/exec.ts";
import { inputArgs } from "../ffmpeg/input.ts";
import { runFfmpeg } from "../ffmpeg/run.ts";
import { aviClaiming, makeTempDir, makeTestClip } from "../ffmpeg/test-media.ts";
import { frameTimes } from "./frames.ts";
import { probe, safeProbeInput } from "./probe.ts";

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ReelError)) throw new Error(`expected a ReelError, got ${String(err)}`);
  return `${err.code}: ${err.message}`;
}

/** Rewrites the width/height fields of a tiny rawvideo AVI's headers (avih and strf are 32-bit). */
describe("probe (real ffprobe)", () => {
  let tmp: { dir: string; cleanup(): Promise<void> };
  let clip: string;
  beforeAll(async () => {
    tmp = await makeTempDir("reel-probe-");
    clip = join(tmp.dir, "clip.mp4");
    await makeTestClip(clip, { seconds: 2, fps: 25, gop: 25 });
  });
  afterAll(() => tmp.cleanup());

  it("describes a good MP4: size, fps, codecs, audio, pinned demuxer", async () => {
    const p = await probe(clip);
    expect(p).toMatchObject({
      formatName: "mov,mp4,m4a,3gp,3g2,mj2",
      demuxer: "mov",
      hasAudio: true,
      video: { codec: "h264", width: 320, height: 240, fps: 25, pixFmt: "yuv420p", bitDepth: 8, frames: 50, sar: 1 },
      audio: { codec: "aac", sampleRate: 48000, channels: 1 },
      streamCounts: { video: 1, audio: 1, subtitle: 0, other: 0, total: 2 },
    });
    expect(p.durationSecs).toBeCloseTo(2, 1);
  });

  it("lists keyframe times from packet flags", async () => {
    const f = await frameTimes(clip);
    expect(f.pts).toHaveLength(50);
    expect(f.keyframes).toEqual([0, 1]);
  });

  it("refuses a zero-byte file with REEL_MEDIA_INVALID", async () => {
    const p = join(tmp.dir, "empty.mp4");
    await writeFile(p, "");
    expect(await codeOf(probe(p))).toMatch(/^REEL_MEDIA_INVALID: empty file/);
  });

  it("refuses a truncated MP4 (moov never written) with REEL_MEDIA_INVALID", async () => {
    const p = join(tmp.dir, "trunc.mp4");
    await makeTestClip(p, { seconds: 1 }); // no faststart: moov is at the end
    const { size } = await (await open(p)).stat();
    await truncate(p, Math.floor(size / 2));
    expect(await codeOf(probe(p))).toMatch(/^REEL_MEDIA_INVALID: .*moov atom not found/);
  });

  it("refuses a text file named .mp4 with REEL_MEDIA_INVALID", async () => {
    const p = join(tmp.dir, "notes.mp4");
    await writeFile(p, "this is not a video, just some notes\n");
    expect(await codeOf(probe(p))).toMatch(/^REEL_MEDIA_INVALID: a text file/);
  });

  it("refuses audio-only media with REEL_MEDIA_INVALID", async () => {
    const p = join(tmp.dir, "audio.m4a");
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", p]);
    expect(await codeOf(probe(p))).toMatch(
      /^REEL_MEDIA_INVALID: an audio-only file \(mov\): an episode needs a video stream/,
    );
  });

  it.each([
    ["mp3", ["-c:a", "libmp3lame"], "an audio-only file (mp3)"],
    ["wav", ["-c:a", "pcm_s16le"], "an audio-only file (wav)"],
    ["flac", ["-c:a", "flac"], "an audio-only file (flac)"],
  ])("says a .%s is an audio-only file, not unreadable media", async (ext, codec, said) => {
    const p = join(tmp.dir, `audio.${ext}`);
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "sine=duration=1", ...codec, p]);
    expect(await codeOf(probe(p))).toMatch(
      new RegExp(`^REEL_MEDIA_INVALID: ${said.replace(/[()]/g, "\\$&")}: an episode needs a video stream`),
    );
  });

  it("names a container Reel does not open (NUT), and the ones it does", async () => {
    const p = join(tmp.dir, "clip.nut");
    execFileSync("ffmpeg", ["-v", "error", "-i", clip, "-c", "copy", p]);
    expect(await codeOf(probe(p))).toMatch(
      /^REEL_MEDIA_INVALID: the container format 'nut' is not one Reel opens \(MP4\/MOV.*MXF, DV, GXF\)$/,
    );
  });

  it("refuses a header claiming 100000x100000 with REEL_MEDIA_LIMITS", async () => {
    const small = join(tmp.dir, "small.avi");
    execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=s=16x16:d=0.2", "-c:v", "rawvideo", small]);
    const huge = join(tmp.dir, "huge.avi");
    await aviClaiming(small, huge, 100_000, 100_000);
    expect(await codeOf(probe(huge))).toBe("REEL_MEDIA_LIMITS: the header claims 100000x100000");
    // ffmpeg accepts 10000x10000 but our limit (8192) does not.
    const big = join(tmp.dir, "big.avi");
    await aviClaiming(small, big, 10_000, 10_000);
    expect(await codeOf(probe(big))).toBe("REEL_MEDIA_LIMITS: 10000x10000 exceeds 8192x8192");
  });

  it("refuses a duration over the limit with REEL_MEDIA_LIMITS", async () => {
    expect(await codeOf(probe(clip, { limits: { maxDurationSecs: 1 } }))).toMatch(/^REEL_MEDIA_LIMITS: duration 2 s/);
  });

  it("refuses a file with 17 streams with REEL_MEDIA_LIMITS", async () => {
    const p = join(tmp.dir, "many.mkv");
    const maps = Array.from({ length: 16 }, () => ["-map", "1:a"]).flat();
    execFileSync(
      "ffmpeg",
      ["-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:d=0.2"].concat([
        "-f",
        "lavfi",
        "-i",
        "sine=duration=0.2",
        "-map",
        "0:v",
        ...maps,
        "-c:v",
        "mpeg4",
        "-c:a",
        "pcm_s16le",
        p,
      ]),
    );
    expect(await codeOf(probe(p))).toBe("REEL_MEDIA_LIMITS: 17 streams; the limit is 16");
  });

  describe("an AVI that is really an HLS playlist (the 2017 file disclosure)", () => {
    let evil: string;
    let passwd: string;
    let canary: string;
    beforeAll(async () => {
      // The canary is a FIFO: opening it for reading is observable (a pending writer's open resolves).
      canary = join(tmp.dir, "canary.ts");
      execFileSync("mkfifo", [canary]);
      const playlist = (segment: string) =>
        [
          "#EXTM3U",
          "#EXT-X-MEDIA-SEQUENCE:0",
          "#EXT-X-TARGETDURATION:1",
          "#EXTINF:1.0,",
          segment,
          "#EXT-X-ENDLIST",
          "",
        ].join("\n");
      evil = join(tmp.dir, "evil.avi");
      await writeFile(evil, playlist(`file://${canary}`));
      passwd = join(tmp.dir, "passwd.avi");
      await writeFile(passwd, playlist("file:///etc/passwd"));
    });

    /** Runs `fn` and reports whether anything opened the canary FIFO for reading meanwhile. */
    async function touchesCanary(fn: () => Promise<unknown>): Promise<boolean> {
      let opened = false;
      const writer = open(canary, "w").then((fh) => {
        opened = true;
        return fh;
      });
      await fn().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      const seen = opened;
      // Release the pending open so no thread stays blocked.
      const reader = await open(canary, constants.O_RDONLY | constants.O_NONBLOCK);
      await (await writer).close();
      await reader.close();
      return seen;
    }

    it("control: unguarded ffprobe opens the files the playlist lists", async () => {
      const touched = await touchesCanary(() => execCommand("ffprobe", ["-v", "error", evil], { timeoutMs: 10_000 }));
      expect(touched).toBe(true);
    });

    it("probe refuses it with REEL_MEDIA_INVALID and opens nothing it lists", async () => {
      let code = "";
      const touched = await touchesCanary(async () => {
        code = await codeOf(probe(evil));
      });
      expect(code).toMatch(/^REEL_MEDIA_INVALID: a playlist or document/);
      expect(touched).toBe(false);
    });

    it("ffprobe with the safe input options refuses it even without the sniff", async () => {
      let stderr = "";
      const touched = await touchesCanary(async () => {
        const r = await execCommand("ffprobe", ["-v", "error", ...safeProbeInput(evil), "-show_format"]);
        stderr = r.stderr;
      });
      expect(stderr).toMatch(/Format not on whitelist/);
      expect(touched).toBe(false);
    });

    it("a transcode input pinned to avi refuses it too", async () => {
      let code = "";
      const touched = await touchesCanary(async () => {
        code = await codeOf(runFfmpeg([...inputArgs({ path: evil, demuxer: "avi" }), "-f", "null", "-"]));
      });
      expect(code).toMatch(/^REEL_FFMPEG_FAILED/);
      expect(touched).toBe(false);
    });

    it.skipIf(!hasStrace())("ffprobe never opens /etc/passwd (strace)", async () => {
      const log = join(tmp.dir, "strace.log");
      const guarded = ["-v", "error", ...safeProbeInput(passwd), "-show_format"];
      await execCommand("strace", ["-f", "-e", "trace=open,openat", "-o", log, "ffprobe", ...guarded]);
      const opened = await readFile(log, "utf8");
      expect(opened).toContain("passwd.avi");
      expect(opened).not.toContain("/etc/passwd");
    });
  });
});

function hasStrace(): boolean {
  try {
    execFileSync("strace", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
