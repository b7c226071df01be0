// Test fixtures: small synthetic media made with ffmpeg's lavfi sources, so tests need no files
// checked in and no network. Used by *.test.ts only.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execCommand } from "./exec.ts";

export interface TestMediaOptions {
  seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Keyframe every this many frames (closed GOPs, no scene-cut keyframes). */
  gop?: number;
  audio?: boolean;
  /** Extra output args, e.g. ["-f", "mpegts"]. */
  extra?: string[];
}

/** Writes an H.264 (+AAC) test clip to `path`. */
export async function makeTestClip(path: string, o: TestMediaOptions = {}): Promise<void> {
  const { seconds = 2, width = 320, height = 240, fps = 25, audio = true } = o;
  const gop = o.gop ?? fps;
  const args = ["-nostdin", "-hide_banner", "-v", "error", "-y"];
  args.push("-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`);
  if (audio) args.push("-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`);
  args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p");
  args.push("-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0");
  if (audio) args.push("-c:a", "aac", "-b:a", "64k");
  args.push(...(o.extra ?? []), path);
  const r = await execCommand("ffmpeg", args);
  if (r.code !== 0) throw new Error(`makeTestClip failed: ${r.stderr}`);
}

export async function makeTempDir(prefix = "reel-ffmpeg-"): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Copies a small rawvideo AVI, rewriting its headers to claim a w x h picture. */
export async function aviClaiming(src: string, dest: string, w: number, h: number): Promise<void> {
  const b = Buffer.from(await readFile(src));
  const strf = b.indexOf("strf");
  b.writeUInt32LE(w, strf + 12);
  b.writeUInt32LE(h, strf + 16);
  const avih = b.indexOf("avih");
  b.writeUInt32LE(w, avih + 40);
  b.writeUInt32LE(h, avih + 44);
  await writeFile(dest, b);
}
