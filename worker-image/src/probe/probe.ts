// Probes a local media file safely and refuses what is not media or exceeds limits.
import { open } from "node:fs/promises";
import { ReelError } from "@reel/crds";
import { type CommandRunner, execCommand, tailLines } from "../ffmpeg/exec.ts";
import { allowedDemuxers, defaultInputLimits, type InputLimits } from "../ffmpeg/input.ts";
import { defaultBinaries, type FfmpegBinaries } from "../ffmpeg/run.ts";
import { defaultMediaLimits, type MediaLimits } from "./limits.ts";
import { audioOnlyMessage, type ProbeResult, parseProbe } from "./parse.ts";

export interface ProbeOptions {
  binaries?: FfmpegBinaries;
  runner?: CommandRunner;
  limits?: Partial<MediaLimits>;
  inputLimits?: InputLimits;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Looks at the first bytes before any demuxer does: an empty file, or text (playlists such as
 * #EXTM3U, ffconcat scripts, DASH manifests, HTML error pages saved as .mp4) is never media.
 */
export function sniff(head: Uint8Array): string | undefined {
  if (head.length === 0) return "empty file";
  const text = new TextDecoder("latin1").decode(head.subarray(0, 64)).trimStart();
  if (/^(#EXTM3U|ffconcat|#EXT|<\?xml|<!doctype|<html|<MPD)/i.test(text)) {
    return `a playlist or document, not media (starts with ${JSON.stringify(text.slice(0, 12))})`;
  }
  // Every container we accept has binary headers; a head that is all printable text is not media.
  const printable = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  if (printable) return "a text file, not media";
  return undefined;
}

async function readHead(path: string, bytes = 4096): Promise<Uint8Array> {
  const fh = await open(path, "r").catch((err: unknown) => {
    throw new ReelError("REEL_MEDIA_INVALID", `cannot open source: ${(err as Error).message}`, { cause: err });
  });
  try {
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The options that make ffprobe open a file safely: local files only, only media demuxers. */
export function safeProbeInput(path: string, inputLimits: InputLimits = defaultInputLimits): string[] {
  return [
    "-protocol_whitelist",
    "file",
    "-format_whitelist",
    allowedDemuxers.join(","),
    "-probesize",
    String(inputLimits.probesize),
    "-analyzeduration",
    String(inputLimits.analyzeduration),
    "-i",
    path.startsWith("file:") ? path : `file:${path}`,
  ];
}

// Audio-only formats ffmpeg names when it finds one: an episode needs a picture.
const AUDIO_ONLY = new Set([
  "mp3",
  "wav",
  "flac",
  "aac",
  "ac3",
  "eac3",
  "aiff",
  "w64",
  "ape",
  "wv",
  "tta",
  "amr",
  "au",
]);

/**
 * What to say when ffprobe found a format we do not open (it names it: "[mp3] Format not on
 * whitelist"): an audio-only file is told apart from a container Reel does not read.
 */
export function refusedFormat(stderr: string): string | undefined {
  const format = /\[([\w,]+) @ [^\]]*\]\s*Format not on whitelist|\[([\w,]+)\]\s*Format not on whitelist/.exec(stderr);
  const name = format?.[1] ?? format?.[2];
  if (!name) return undefined;
  if (AUDIO_ONLY.has(name)) {
    return audioOnlyMessage(name);
  }
  return `the container format '${name}' is not one Reel opens (MP4/MOV, Matroska/WebM, MPEG-TS/PS, AVI, FLV, ASF, Ogg, MXF, DV, GXF)`;
}

/**
 * Probes `path`: sniffs the head, then runs ffprobe with a file-only protocol whitelist and a
 * media-only format whitelist (so an HLS/concat playlist disguised as .avi is refused before any
 * file it lists is opened), then validates the result.
 */
export async function probe(path: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const { binaries = defaultBinaries, runner = execCommand } = options;
  const limits = { ...defaultMediaLimits, ...options.limits };
  const why = sniff(await readHead(path));
  if (why) throw new ReelError("REEL_MEDIA_INVALID", why);
  const args = ["-v", "error", ...safeProbeInput(path, options.inputLimits)];
  args.push("-show_format", "-show_streams", "-of", "json");
  const r = await runner(binaries.ffprobe, args, { signal: options.signal, timeoutMs: options.timeoutMs ?? 60_000 });
  if (r.timedOut) throw new ReelError("REEL_MEDIA_INVALID", "ffprobe timed out reading the source");
  if (r.code !== 0) {
    const refused = refusedFormat(r.stderr);
    if (refused) throw new ReelError("REEL_MEDIA_INVALID", refused);
    const reason = tailLines(r.stderr, 5).join("; ") || `exit code ${r.code}`;
    throw new ReelError("REEL_MEDIA_INVALID", `not readable media: ${reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch (err) {
    throw new ReelError("REEL_MEDIA_INVALID", "ffprobe returned unreadable output", { cause: err });
  }
  return parseProbe(json, limits, r.stderr);
}
