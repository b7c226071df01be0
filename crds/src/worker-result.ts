// The worker's result: what a worker pod writes to its termination message (at most 4096 bytes,
// shrunk by worker-image/src/worker/termination.ts) and the operator reads back into status. One
// definition for both sides; the operator parses leniently (a message cut short or from an older
// worker yields what can be read, never a failed reconcile).
import { z } from "zod";
import { EpisodeLoudness, EpisodePhase, EpisodePicture, QualityScores, SourceFacts } from "./schema.ts";

const CodedError = z.object({ code: z.string(), message: z.string() });

export const StoredOutput = z.object({
  location: z.string(),
  bytes: z.number().int().min(0),
  sha256: z.string(),
  url: z.string().optional(),
  urlExpiresAt: z.string().optional(),
  durationSecs: z.number().min(0).optional(),
  chapters: z.number().int().min(0).optional(),
  /** Seek thumbnails stored beside the file: the WebVTT index's location and its sheet count. */
  thumbnails: z.object({ vtt: z.string(), sheets: z.number().int().min(1) }).optional(),
  /**
   * The episodes' posters stored beside the merged file, each named by crds episodePosterName (500
   * locations would not fit this message): how many, and the few episodes (by index) that have none.
   */
  posters: z
    .object({ stored: z.number().int().min(0), missing: z.array(z.number().int().min(0)).max(8).optional() })
    .optional(),
  /** A WebVTT file per subtitle language stored beside the file. */
  subtitles: z
    .array(z.object({ language: z.string(), vtt: z.string() }))
    .max(8)
    .optional(),
});

export const EpisodeOutcome = z.object({
  mode: z.literal("episode"),
  index: z.number().int().min(0),
  phase: EpisodePhase,
  /** True when staging already held this episode and nothing was redone. */
  reused: z.boolean().optional(),
  encoder: z.string().optional(),
  quality: QualityScores.optional(),
  bytesDownloaded: z.number().int().min(0).optional(),
  bytesOutput: z.number().int().min(0).optional(),
  durationSecs: z.number().min(0).optional(),
  ytDlp: z.string().optional(),
  staged: z.string().optional(),
  /** The episode was long enough to split: its source is staged as this many segments for an Indexed Job. */
  split: z.object({ segments: z.number().int().min(1) }).optional(),
  error: CodedError.optional(),
  /** What the episode came out with that status should show (e.g. a truncated source kept). */
  warnings: z.array(CodedError).max(8).optional(),
  /** The source's own title (a page's, from yt-dlp), sent when the manifest left the episode untitled. */
  title: z.string().max(200).optional(),
  /** What the source is: container, codecs, picture, length, the site's title and date. */
  source: SourceFacts.optional(),
  /** Loudness measured before and after, and what was done to the picture. */
  loudness: EpisodeLoudness.optional(),
  picture: EpisodePicture.optional(),
});

/** One segment of a split episode, encoded by a pod of the episode's Indexed Job. */
export const SegmentOutcome = z.object({
  mode: z.literal("segment"),
  index: z.number().int().min(0),
  segment: z.number().int().min(0),
  phase: EpisodePhase,
  reused: z.boolean().optional(),
  encoder: z.string().optional(),
  frames: z.number().int().min(0).optional(),
  error: CodedError.optional(),
});

/** A split episode joined by the merge pod: its figures over all segments. */
export const JoinedEpisode = z.object({
  index: z.number().int().min(0),
  encoder: z.string().optional(),
  quality: QualityScores.optional(),
  bytesOutput: z.number().int().min(0).optional(),
  durationSecs: z.number().min(0).optional(),
});

export const MergeOutcome = z.object({
  mode: z.literal("merge"),
  phase: z.enum(["Completed", "Failed", "Cancelled"]),
  reused: z.boolean().optional(),
  /** The merged file (merge enabled). */
  output: StoredOutput.optional(),
  /** One file per episode (merge disabled), in list order. */
  outputs: z.array(StoredOutput).optional(),
  /** Split episodes this pod joined from their segments, with their figures. */
  joined: z.array(JoinedEpisode).optional(),
  error: CodedError.optional(),
});

/** A pod that failed before it knew more than its mode (e.g. a bad environment). */
export const FailedOutcome = z.object({
  mode: z.string(),
  phase: z.enum(["Failed", "Cancelled"]),
  index: z.number().int().min(0).optional(),
  error: CodedError,
});

export const WorkerResult = z.union([EpisodeOutcome, SegmentOutcome, MergeOutcome, FailedOutcome]);

export type StoredOutput = z.infer<typeof StoredOutput>;
export type EpisodeOutcome = z.infer<typeof EpisodeOutcome>;
export type MergeOutcome = z.infer<typeof MergeOutcome>;
export type SegmentOutcome = z.infer<typeof SegmentOutcome>;
export type JoinedEpisode = z.infer<typeof JoinedEpisode>;
export type WorkerResult = z.infer<typeof WorkerResult>;

/** Any worker result as the operator reads it: every field optional, mode and phase as text. */
export type WorkerResultRead = Partial<Omit<EpisodeOutcome, "mode" | "phase">> &
  Partial<Omit<SegmentOutcome, "mode" | "phase">> &
  Partial<Omit<MergeOutcome, "mode" | "phase">> & { mode?: string; phase?: string };

/**
 * A termination message read back: the full result when it parses, else what can be read of it
 * (mode, phase, error) so the operator still reports the code. Undefined for anything else.
 */
export function parseWorkerResult(message: string | undefined): WorkerResultRead | undefined {
  if (!message) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    return undefined;
  }
  const full = WorkerResult.safeParse(raw);
  if (full.success) return full.data;
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  const error = CodedError.safeParse(r.error);
  const out: WorkerResultRead = {};
  if (typeof r.mode === "string") out.mode = r.mode;
  if (typeof r.phase === "string") out.phase = r.phase;
  if (error.success) out.error = error.data;
  return Object.keys(out).length ? out : undefined;
}
