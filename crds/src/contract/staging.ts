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
