// Facts about a media file the scenarios check their outputs with: decoded frame count,
// SSIM against a reference, chapters and duration, and a clean full decode. Each is one
// ffprobe/ffmpeg child through runMeasured (with its timeout), never part of a timed row.
import { failureReason, runMeasured } from "./proc.mjs";

/** Frames the decoder really outputs for the first video stream (decodes everything). */
export async function countFrames(path, timeoutMs = 600_000) {
  const res = await runMeasured(
    "ffprobe",
    [
      "-v",
      "error",
      "-count_frames",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_frames",
      "-of",
      "csv=p=0",
      path,
    ],
    { timeoutMs },
  );
  const n = Number.parseInt(res.stdout.trim(), 10);
  if (res.code !== 0 || !Number.isFinite(n)) throw new Error(failureReason(res, "ffprobe -count_frames"));
  return n;
}

/** { width, height, durationS, chapters } from ffprobe. */
export async function probeMedia(path, timeoutMs = 60_000) {
  const res = await runMeasured(
    "ffprobe",
    ["-v", "error", "-print_format", "json", "-show_chapters", "-show_format", "-show_streams", path],
    { timeoutMs },
  );
  if (res.code !== 0) throw new Error(failureReason(res, "ffprobe"));
  const j = JSON.parse(res.stdout);
  const video = (j.streams ?? []).find((s) => s.codec_type === "video");
  return {
    width: video?.width ?? null,
    height: video?.height ?? null,
    durationS: Number(j.format?.duration ?? Number.NaN),
    chapters: j.chapters?.length ?? 0,
  };
}

/** The "All:" figure of ffmpeg's ssim filter from its stderr summary line; null when absent. */
export function parseSsimAll(stderr) {
  const m = /SSIM .*All:([0-9.]+)/.exec(stderr);
  return m ? Number(m[1]) : null;
}

/**
 * SSIM of `distorted` against `reference`, the reference scaled (bicubic) to the distorted
 * picture's size, every frame compared.
 */
export async function ssimAgainst(distorted, reference, { width, height }, timeoutMs = 1_200_000) {
  const res = await runMeasured(
    "ffmpeg",
    [
      "-hide_banner",
      "-nostdin",
      "-nostats",
      "-i",
      distorted,
      "-i",
      reference,
      "-lavfi",
      `[1:v]scale=${width}:${height}:flags=bicubic[r];[0:v][r]ssim`,
      "-f",
      "null",
      "-",
    ],
    { timeoutMs },
  );
  const ssim = parseSsimAll(res.stderr);
  if (res.code !== 0 || ssim == null) throw new Error(failureReason(res, "ffmpeg ssim"));
  return ssim;
}

/** Decodes every frame; a clean file makes ffmpeg print nothing at -v error. */
export async function decodeClean(path, timeoutMs = 600_000) {
  const res = await runMeasured("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"], {
    timeoutMs,
  });
  const out = `${res.stdout}${res.stderr}`.trim();
  return { ok: res.code === 0 && out === "", detail: out.split("\n").slice(0, 3).join(" | ") };
}
