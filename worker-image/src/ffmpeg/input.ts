// How every media input is opened. Two rules, on every input of every command:
// - `-protocol_whitelist file,pipe`: a demuxer can never reach http, tcp, data, concat, ...
// - a pinned demuxer (`-f mov`, ...) chosen from the probe, plus `-format_whitelist`, so ffmpeg
//   never guesses the format from the content. Guessing is how the 2017 disclosure worked: a file
//   named .avi whose body was an HLS playlist listing file:///etc/passwd got opened as HLS.
import { ReelError } from "@reel/crds";

/** ffprobe's format_name -> the demuxer we pin. Anything not listed is refused. */
const demuxers: ReadonlyArray<{ formatName: string; demuxer: string }> = [
  { formatName: "mov,mp4,m4a,3gp,3g2,mj2", demuxer: "mov" },
  { formatName: "matroska,webm", demuxer: "matroska" },
  { formatName: "mpegts", demuxer: "mpegts" },
  { formatName: "avi", demuxer: "avi" },
  { formatName: "flv", demuxer: "flv" },
  { formatName: "mpeg", demuxer: "mpeg" },
  { formatName: "asf", demuxer: "asf" },
  { formatName: "ogg", demuxer: "ogg" },
  // Broadcast and archive containers media teams hold: MXF (OP1a, what cameras and playout servers
  // write; ffmpeg's demuxer reads only the one file, it never opens external essence), DV (tape
  // captures) and GXF (playout servers). None of them can name another file or URL.
  { formatName: "mxf", demuxer: "mxf" },
  { formatName: "dv", demuxer: "dv" },
  { formatName: "gxf", demuxer: "gxf" },
  // HLS packed audio renditions (raw ADTS AAC, AC-3, E-AC-3, MP3 segments); an episode given as one
  // of these alone is refused by the probe for having no video stream.
  { formatName: "aac", demuxer: "aac" },
  { formatName: "ac3", demuxer: "ac3" },
  { formatName: "eac3", demuxer: "eac3" },
  { formatName: "mp3", demuxer: "mp3" },
];

/** Demuxers a source may be opened with; also passed as `-format_whitelist` so nested demuxers
 * (AVI's GAB2 subtitles open one) cannot pick hls, concat, image2 or other file-reading formats. */
export const allowedDemuxers: readonly string[] = demuxers.map((d) => d.demuxer);

/** The demuxer to pin for a probed format name; REEL_MEDIA_INVALID when it is not a media container we accept. */
export function demuxerFor(formatName: string): string {
  const hit = demuxers.find((d) => d.formatName === formatName || d.demuxer === formatName);
  if (!hit) throw new ReelError("REEL_MEDIA_INVALID", `container format '${formatName}' is not accepted`);
  return hit.demuxer;
}

export const protocolWhitelist = "file,pipe";

export interface InputLimits {
  /** Bytes ffmpeg may read to detect streams. */
  probesize: number;
  /** Microseconds of media ffmpeg may analyse to detect streams. */
  analyzeduration: number;
}

export const defaultInputLimits: InputLimits = { probesize: 32 * 1024 * 1024, analyzeduration: 30_000_000 };

export interface InputSpec {
  path: string;
  /** Pinned demuxer from `demuxerFor`. */
  demuxer: string;
  limits?: InputLimits;
  /** Input options placed before the safety options, e.g. -hwaccel or -ss. */
  before?: readonly string[];
}

/** The options that open one input safely, ending with `-i path`. */
export function inputArgs(input: InputSpec): string[] {
  const limits = input.limits ?? defaultInputLimits;
  if (!allowedDemuxers.includes(input.demuxer)) {
    throw new ReelError("REEL_MEDIA_INVALID", `demuxer '${input.demuxer}' is not accepted`);
  }
  return [
    ...(input.before ?? []),
    "-protocol_whitelist",
    protocolWhitelist,
    "-format_whitelist",
    allowedDemuxers.join(","),
    "-probesize",
    String(limits.probesize),
    "-analyzeduration",
    String(limits.analyzeduration),
    "-f",
    input.demuxer,
    "-i",
    // A path starting with "-" or containing ":" could be read as an option or a protocol;
    // "file:" makes it a local file whatever its name.
    input.path.startsWith("file:") ? input.path : `file:${input.path}`,
  ];
}
