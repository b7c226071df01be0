// Joining encoded segments into one file without re-encoding.
import { rm, writeFile } from "node:fs/promises";
import { join as joinPath } from "node:path";
import { ReelError } from "@reel/crds";
import { outputPath } from "../ffmpeg/args.ts";
import { inputArgs } from "../ffmpeg/input.ts";
import { defaultBinaries, type FfmpegBinaries, runFfmpeg } from "../ffmpeg/run.ts";

/** Joins MP4s that share codec parameters into `output`. */
export type Joiner = (inputs: string[], output: string, signal?: AbortSignal) => Promise<void>;

interface NativeMerge {
  merge(
    options: { inputs: Array<{ path: string; title?: string }>; output: string; chapters: boolean; faststart: boolean },
    opts?: { signal?: AbortSignal },
  ): Promise<unknown>;
}

async function loadNative(): Promise<NativeMerge | undefined> {
  try {
    const mod = (await import("@reel/native")) as Partial<NativeMerge>;
    return typeof mod.merge === "function" ? (mod as NativeMerge) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the Rust merge binding is built and loadable. */
export async function nativeMergeAvailable(): Promise<boolean> {
  return (await loadNative()) !== undefined;
}

/** The Rust merge (crates/merge): a lossless MP4 join, no chapters for segments of one episode. */
export const nativeJoin: Joiner = async (inputs, output, signal) => {
  const native = await loadNative();
  if (!native) throw new ReelError("REEL_INVALID_ARGUMENT", "the @reel/native merge binding is not built");
  try {
    await native.merge(
      { inputs: inputs.map((path) => ({ path })), output, chapters: false, faststart: true },
      { signal },
    );
  } catch (err) {
    throw ReelError.from(err, "REEL_FFMPEG_FAILED", "merge segments");
  }
};

/**
 * ffmpeg's concat demuxer as a stand-in join (used where the native binding is not built). The list
 * is written by us and names only our own segment files; it is the one place a playlist-like input
 * is opened, so the protocol whitelist stays file-only.
 */
export function ffmpegConcatJoin(binaries: FfmpegBinaries = defaultBinaries): Joiner {
  return async (inputs, output, signal) => {
    const list = `${output}.concat.txt`;
    const quote = (p: string) => `'${p.replaceAll("'", "'\\''")}'`;
    await writeFile(list, `ffconcat version 1.0\n${inputs.map((p) => `file ${quote(p)}`).join("\n")}\n`);
    await runFfmpeg(
      ["-y", "-protocol_whitelist", "file", "-f", "concat", "-safe", "0", "-i", `file:${list}`].concat([
        "-map",
        "0",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        outputPath(output),
      ]),
      { binaries, signal, label: "join segments" },
    );
  };
}

/** The Rust join when its binding is built, else ffmpeg's concat demuxer; and which it is. */
export async function defaultJoiner(
  binaries: FfmpegBinaries = defaultBinaries,
): Promise<{ joiner: Joiner; joinedWith: "native" | "ffmpeg-concat" }> {
  return (await nativeMergeAvailable())
    ? { joiner: nativeJoin, joinedWith: "native" }
    : { joiner: ffmpegConcatJoin(binaries), joinedWith: "ffmpeg-concat" };
}

/**
 * Joins video-only segments and muxes the episode's audio (encoded once for the whole episode:
 * per-segment AAC would add priming silence at every join) into `output`: its one track, or every
 * audio and subtitle track of that file tagged with `audioTags` (tracks by language, subtitles). Temporary files go in
 * `workDir` and are removed.
 */
export async function joinWithAudio(o: {
  joiner: Joiner;
  segments: string[];
  audio?: string;
  audioTags?: string[];
  output: string;
  workDir: string;
  binaries?: FfmpegBinaries;
  signal?: AbortSignal;
}): Promise<void> {
  const binaries = o.binaries ?? defaultBinaries;
  const videoPath = o.audio ? joinPath(o.workDir, "video.mp4") : o.output;
  await o.joiner(o.segments, videoPath, o.signal);
  if (!o.audio) return;
  try {
    await runFfmpeg(
      ["-y", ...inputArgs({ path: videoPath, demuxer: "mov" }), ...inputArgs({ path: o.audio, demuxer: "mov" })]
        .concat(["-map", "0:v:0", ...(o.audioTags ? ["-map", "1:a?", "-map", "1:s?"] : ["-map", "1:a:0"])])
        .concat(["-c", "copy", ...(o.audioTags ?? [])])
        .concat(["-map_metadata", "-1", "-map_chapters", "-1"])
        .concat(["-movflags", "+faststart", "-f", "mp4", outputPath(o.output)]),
      { binaries, signal: o.signal, label: "mux audio" },
    );
  } finally {
    await rm(videoPath, { force: true });
  }
}
