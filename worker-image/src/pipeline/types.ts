// The status types the pipeline reports in: the VideoJob's own (crds), under the pipeline's names.
import type { EpisodeStatus as CrdEpisodeStatus, VideoJobStatus } from "@reel/crds";

export type EpisodeStatus = CrdEpisodeStatus;
export type QualityScores = NonNullable<EpisodeStatus["quality"]>;
export type OutputStatus = NonNullable<VideoJobStatus["output"]>;
