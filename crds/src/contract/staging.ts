// The staging layout: every file the pods of one VideoJob leave for each other, under
//   S3:      s3://<bucket>/<prefix>.reel-staging/<uid>/
//   volume:  <mount>/<path>/.reel-staging/<uid>/
// Files (i: the episode's index, k: a segment's number, zero-padded to 4 digits). A segment is a
// keyframe-aligned piece of a split episode, the one noun from the cut to the join:
//   ep<i>.mp4, ep<i>.json           an encoded episode, then its record (written last: it marks the
//                                   episode complete; nothing is trusted without it)
//   ep<i>.src<k>.mkv                segment k of a split episode's source (the episode pod's cut)
//   ep<i>.audio.m4a                 a split episode's audio, encoded once by the episode pod
//   ep<i>.split.json                the split record (written last: segment pods trust only what it names)
//   ep<i>.seg<k>.mp4, ep<i>.seg<k>.json   segment k encoded by a segment pod, then its record
//   merge.json                      the merge record, after every output is stored
// The operator removes the whole folder once the job's outputs are stored (or when the VideoJob is
// deleted); outputs live outside it and are never removed with it.
import type { EpisodeStatus } from "../schema.ts";

export const STAGING_DIR = ".reel-staging";

const pad = (k: number) => String(k).padStart(4, "0");

export const staged = {
  episode: (i: number) => `ep${i}.mp4`,
  episodeRecord: (i: number) => `ep${i}.json`,
  segmentSource: (i: number, k: number) => `ep${i}.src${pad(k)}.mkv`,
  audio: (i: number) => `ep${i}.audio.m4a`,
  splitRecord: (i: number) => `ep${i}.split.json`,
  segment: (i: number, k: number) => `ep${i}.seg${pad(k)}.mp4`,
  segmentRecord: (i: number, k: number) => `ep${i}.seg${pad(k)}.json`,
  mergeRecord: "merge.json",
} as const;

/** The staging folder of a VideoJob under an output prefix or directory ("" or ending in "/"). */
export const stagingFolder = (under: string, uid: string) => `${under}${STAGING_DIR}/${uid}/`;

/**
 * What ep<i>.json holds: written by the episode pod (and the pod that joins a split episode), read
 * by the merge pod, and rewritten by the operator when it copies a finished episode into another
 * VideoJob's staging for reuse.
 */
export interface EpisodeRecord {
  v: 1;
  videojob: string;
  uid: string;
  index: number;
  /** Decides reuse by a later pod of this episode (worker-image worker/episode.ts stagingKey). */
  stagingKey: string;
  /** The encode cache key (source content + settings) of the staged file. */
  encodeKey: string;
  /** sha256 hex of ep<index>.mp4, checked by the merge pod. */
  sha256: string;
  status: EpisodeStatus;
  ytDlp?: string;
  /**
   * The source's validator at download (crds sourceValidator), absent when the origin gave none:
   * the operator lets another VideoJob reuse this episode only while the source still answers it.
   */
  sourceValidator?: string;
  /**
   * The source's own chapters (merge.chapterMarks source or both only; absent otherwise), starts
   * relative to the episode's first frame: at most 1,000, titles cut to 200 characters, no control
   * characters. The merge pod places them inside the episode's span. A split episode's come from
   * its split record (ep<i>.split.json) to the record the join writes.
   */
  sourceChapters?: SourceChapter[];
}

/** One of a source's own chapters, as the merge takes it (the addon's SourceChapter). */
export interface SourceChapter {
  title: string;
  startSecs: number;
}
