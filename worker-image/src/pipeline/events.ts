// What a running job reports. The CLI draws bars from these, the pod entrypoint turns them into
// status and Redis progress; nothing here knows who listens.
import { type EpisodeStage, stagePercent } from "@reel/crds";
import type { EpisodeStatus, QualityScores } from "./types.ts";

export type Stage = EpisodeStage;

export type JobEvent =
  | {
      type: "episode";
      index: number;
      phase: EpisodeStatus["phase"];
      /** Percent of the whole episode (stages weighted by the progress contract's EPISODE_STAGES). */
      progress: number;
      stage?: Stage;
      /** Fraction 0..1 of the current stage. */
      fraction?: number;
      detail?: string;
    }
  | { type: "episode-done"; index: number; status: EpisodeStatus }
  | { type: "merge"; progress: number }
  | { type: "store"; progress: number }
  | { type: "note"; level: "info" | "warn"; message: string };

export type Emit = (e: JobEvent) => void;

/** Percent of an episode at `fraction` of `stage` (crds/src/contract/progress.ts). */
export const overall = (stage: Stage, fraction: number): number => stagePercent(0, stage, fraction);

export type { QualityScores };
