// Inputs generated once and cached under config.cacheDir, keyed by the parameters that
// shape them, so reruns skip generation. Each is built in a temp name and renamed into
// place, so an interrupted generation never leaves a half-made fixture behind.
import { createCipheriv, createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { config } from "./config.mjs";
import { runMeasured, failureReason } from "./proc.mjs";

export async function sha256File(path) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk);
  return hash.digest("hex");
}

function cacheDir() {
  mkdirSync(config.cacheDir, { recursive: true });
  return config.cacheDir;
}

/**
 * A file of `size` incompressible, deterministic bytes (AES-CTR keystream) with its sha256.
 * Incompressible so no layer can win by compression; deterministic so runs are comparable.
 */
export async function blob(size) {
  const dir = join(cacheDir(), "blobs");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `blob-${size}.bin`);
  const sumPath = `${path}.sha256`;
  if (existsSync(path) && existsSync(sumPath)) {
    return { path, size, sha256: readFileSync(sumPath, "utf8").trim() };
  }
  const tmp = `${path}.tmp-${process.pid}`;
  const cipher = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(1 << 23);
  const hash = createHash("sha256");
  const fd = openSync(tmp, "w");
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, zeros.length);
      const chunk = cipher.update(zeros.subarray(0, n));
      hash.update(chunk);
      writeSync(fd, chunk);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  const sha256 = hash.digest("hex");
  renameSync(tmp, path);
  writeFileSync(sumPath, `${sha256}\n`);
  return { path, size, sha256 };
}

async function ffmpeg(args, what, timeoutMs = 600_000) {
  const res = await runMeasured("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-y", ...args], { timeoutMs });
  if (res.code !== 0) throw new Error(failureReason(res, what));
}

/**
 * An HLS VOD: master.m3u8 -> v0/index.m3u8 -> `segments` one-second MPEG-TS segments.
 * CBR with filler so every segment weighs about bitrate/8 bytes and a per-connection
 * rate limit makes fetching them in parallel matter.
 */
export async function hlsVod({ segments, height, videoKbps }) {
  const width = Math.round((height * 16) / 9 / 2) * 2;
  const key = `hls-${segments}seg-${width}x${height}-${videoKbps}k-v1`;
  const dir = join(cacheDir(), key);
  if (existsSync(join(dir, "master.m3u8"))) return describeHls(dir, key);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "v0"), { recursive: true });
  const fps = 25;
  const kbps = `${videoKbps}k`;
  await ffmpeg(
    [
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=${width}x${height}:rate=${fps}`,
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=48000",
      "-t",
      String(segments),
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-b:v",
      kbps,
      "-minrate",
      kbps,
      "-maxrate",
      kbps,
      "-bufsize",
      kbps,
      "-x264-params",
      "nal-hrd=cbr",
      "-g",
      String(fps),
      "-keyint_min",
      String(fps),
      "-sc_threshold",
      "0",
      "-c:a",
      "aac",
      "-b:a",
      "64k",
      "-f",
      "hls",
      "-hls_time",
      "1",
      "-hls_playlist_type",
      "vod",
      "-hls_list_size",
      "0",
      "-hls_segment_filename",
      join(tmp, "v0", "seg_%05d.ts"),
      join(tmp, "v0", "index.m3u8"),
    ],
    `ffmpeg HLS generation (${key})`,
  );
  const bandwidth = (videoKbps + 64) * 1000;
  writeFileSync(
    join(tmp, "master.m3u8"),
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},RESOLUTION=${width}x${height}\nv0/index.m3u8\n`,
  );
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return describeHls(dir, key);
}

function describeHls(dir, key) {
  const files = readdirSync(join(dir, "v0")).filter((f) => f.endsWith(".ts"));
  return { dir, key, segments: files.length, master: "master.m3u8" };
}

/**
 * Four H.264/AAC episodes (testsrc2 + a different sine tone each), for the merge benchmark.
 */
export async function episodes({ count = 4, height, seconds }) {
  const width = Math.round((height * 16) / 9 / 2) * 2;
  const key = `episodes-${count}x${seconds}s-${width}x${height}-30fps-v1`;
  const dir = join(cacheDir(), key);
  const paths = Array.from({ length: count }, (_, i) => join(dir, `ep${i + 1}.mp4`));
  if (paths.every((p) => existsSync(p))) return { dir, key, paths };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (let i = 0; i < count; i++) {
    await ffmpeg(
      [
        "-f",
        "lavfi",
        "-i",
        `testsrc2=size=${width}x${height}:rate=30`,
        "-f",
        "lavfi",
        "-i",
        `sine=frequency=${330 + 110 * i}:sample_rate=48000`,
        "-t",
        String(seconds),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "60",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-movflags",
        "+faststart",
        join(tmp, `ep${i + 1}.mp4`),
      ],
      `ffmpeg episode generation (${key} ep${i + 1})`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, key, paths };
}

/**
 * Four H.264 episodes with two AAC tracks (jpn, eng: two tones) and two mov_text tracks (eng, jpn:
 * one cue every two seconds), for the multi-track merge benchmark.
 */
export async function multiTrackEpisodes({ count = 4, height, seconds }) {
  const width = Math.round((height * 16) / 9 / 2) * 2;
  const key = `episodes-tracks-${count}x${seconds}s-${width}x${height}-30fps-v1`;
  const dir = join(cacheDir(), key);
  const paths = Array.from({ length: count }, (_, i) => join(dir, `ep${i + 1}.mp4`));
  if (paths.every((p) => existsSync(p))) return { dir, key, paths };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const stamp = (t) => `00:${String(Math.floor(t / 60)).padStart(2, "0")}:${String(t % 60).padStart(2, "0")},000`;
  for (const lang of ["eng", "jpn"]) {
    const cues = [];
    for (let t = 0; t + 1 < seconds; t += 2)
      cues.push(`${cues.length + 1}\n${stamp(t)} --> ${stamp(t + 1)}\n${lang} ${t}\n`);
    writeFileSync(join(tmp, `${lang}.srt`), cues.join("\n"));
  }
  for (let i = 0; i < count; i++) {
    await ffmpeg(
      [
        ...["-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=30`],
        ...["-f", "lavfi", "-i", `sine=frequency=${330 + 110 * i}:sample_rate=48000`],
        ...["-f", "lavfi", "-i", `sine=frequency=${880 + 110 * i}:sample_rate=48000`],
        ...["-i", join(tmp, "eng.srt"), "-i", join(tmp, "jpn.srt")],
        ...["-map", "0", "-map", "1", "-map", "2", "-map", "3", "-map", "4", "-t", String(seconds)],
        ...["-metadata:s:a:0", "language=jpn", "-metadata:s:a:1", "language=eng"],
        ...["-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=jpn"],
        ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60"],
        ...["-c:a", "aac", "-b:a", "128k", "-c:s", "mov_text", "-movflags", "+faststart"],
        join(tmp, `ep${i + 1}.mp4`),
      ],
      `ffmpeg episode generation (${key} ep${i + 1})`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, key, paths };
}
