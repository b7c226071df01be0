// The port between the job runner and the real work. stages-real.ts wires it to the Rust core,
// yt-dlp and ffmpeg; unit tests of the runner give it fakes.
import type { SourceChapter, VideoJobSpec } from "@reel/crds";
import type { SiteInfo } from "../fetch/ytdlp.ts";
import type { SidecarFile } from "../subtitles/sidecar.ts";
import type { EpisodeStatus, QualityScores } from "./types.ts";

export interface StageContext {
  signal: AbortSignal;
  /** Fraction 0..1 of this stage, with an optional human detail ("12.3 MB/s"). */
  progress(fraction: number, detail?: string): void;
}

/** An encode's context: the episode's own subtitle files ride with it (wrappers pass ctx through). */
export interface EncodeContext extends StageContext {
  /** Fetched and cleaned (episodes[].subtitles); absent: none. */
  subtitles?: SidecarFile[];
}

export interface SourceProbe {
  durationSecs: number;
  width: number;
  height: number;
  fps: number;
  hasAudio: boolean;
  /** ffprobe's format name and the codecs of the kept streams, for the status's source facts. */
  container?: string;
  videoCodec?: string;
  audioCodec?: string;
}

export interface Fetched {
  path: string;
  bytes: number;
  route: "hls" | "direct" | "page";
  /** What the source's site said of it (pages fetched with yt-dlp). */
  site?: SiteInfo;
  /** Subtitles the page's site gave (yt-dlp, spec.subtitles), fetched and cleaned. */
  subtitles?: SidecarFile[];
  /** What names these bytes without hashing them (an S3 object's name, ETag and size). */
  identity?: string;
  /** The origin's validator of these bytes (crds sourceValidator: ETag or Last-Modified, and length), when it gave one. */
  validator?: string;
}

export interface Encoded {
  encoder: string;
  /** The encoded output's length: what was really decoded of the source, whatever its header claims. */
  decodedSecs?: number;
  /** Scores the encoder measured itself; when present the job skips the measure stage. */
  quality?: QualityScores;
  /** Loudness measured before and after, and what was done to the picture (status shows both). */
  loudness?: EpisodeStatus["loudness"];
  picture?: EpisodeStatus["picture"];
  /** What the episode lost that its status must say (image subtitles dropped). */
  warnings?: NonNullable<EpisodeStatus["warnings"]>;
}

export interface MergeMismatch {
  input: number;
  field: string;
  expected: string;
  found: string;
}

export interface Stages {
  fetch(url: string, dir: string, spec: VideoJobSpec, ctx: StageContext): Promise<Fetched>;
  probe(path: string, ctx: StageContext): Promise<SourceProbe>;
  /**
   * The source's own chapters, starts relative to its first frame (merge.chapterMarks source/both
   * only). Optional: a runner without it merges episode chapters only.
   */
  chapters?(path: string, ctx: StageContext): Promise<SourceChapter[]>;
  encode(source: string, probe: SourceProbe, output: string, spec: VideoJobSpec, ctx: EncodeContext): Promise<Encoded>;
  /**
   * Starts what the encode of `source` will first need (its sound and picture analysis) before the
   * episode waits for an encode slot; the encode then finds it done. Optional: never throws.
   */
  prepare?(source: string, probe: SourceProbe, spec: VideoJobSpec, ctx: StageContext): void;
  /**
   * A subtitle file (episodes[].subtitles) fetched like a source — the egress guard and the byte
   * cap — then told apart by its content and cleaned into `dest`. Optional: without it none are fetched.
   */
  fetchSubtitle?(url: string, language: string, dest: string, ctx: StageContext): Promise<SidecarFile>;
  measure(source: string, encoded: string, probe: SourceProbe, ctx: StageContext): Promise<QualityScores>;
  /**
   * Mismatches that stop a lossless join of these files; empty when they can be merged as they are.
   * With `spec`, its audio tracks by language are what is compared.
   */
  compatible(paths: string[], spec?: VideoJobSpec): Promise<MergeMismatch[]>;
  /** Re-encodes `input` to match the encoded file `reference` (canvas, frame rate, audio layout). */
  normalise(input: string, reference: string, output: string, spec: VideoJobSpec, ctx: StageContext): Promise<void>;
  merge(
    /** `chapters`: the input's source's own (merge.chapterMarks source/both). */
    inputs: { path: string; title: string; chapters?: SourceChapter[] }[],
    output: string,
    chapters: boolean,
    ctx: StageContext,
    /** The job: its audio and subtitle languages are the merged file's tracks, in order, in every chapter. */
    spec?: VideoJobSpec,
  ): Promise<{ durationSecs: number; chapters: number }>;
  /**
   * A JPEG poster of an encoded file (its length in seconds when known, else read from the file).
   * Optional: a runner without it makes no previews.
   */
  poster?(encoded: string, output: string, ctx: StageContext, durationSecs?: number): Promise<void>;
  /** Seek thumbnails of a merged file: sheets `<stem>-thumbs-NNN.jpg` written into `dir`, and their WebVTT index. */
  thumbnails?(merged: string, dir: string, stem: string, ctx: StageContext): Promise<{ sheets: string[]; vtt: string }>;
  /** One safe WebVTT file per subtitle track of a merged file, written into `dir` as `<stem>-subtitles-<lang>.vtt`. */
  subtitles?(
    merged: string,
    dir: string,
    stem: string,
    ctx: StageContext,
  ): Promise<{ language: string; file: string }[]>;
  /** A content hash of a file (blake3), for keying reusable work. */
  hash(path: string): Promise<string>;
  /** sha256 hex of a file, for storage checksums. */
  sha256(path: string): Promise<string>;
}
