// What a running job reports. The CLI draws bars from these, the pod entrypoint turns them into
// status and Redis progress; nothing here knows who listens.
import type { EpisodeStatus, QualityScores } from "./types.ts";

export type Stage = "fetch" | "probe" | "encode" | "measure" | "store";

export type JobEvent =
  | {
      type: "episode";
      index: number;
      phase: EpisodeStatus["phase"];
      /** Percent of the whole episode (stages weighted, see SPAN). */
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

/** Each stage's share of an episode's progress bar, in percent. */
const SPAN: Record<Stage, [number, number]> = {
  fetch: [0, 30],
  probe: [30, 32],
  encode: [32, 90],
  measure: [90, 98],
  store: [98, 100],
};

export function overall(stage: Stage, fraction: number): number {
  const [a, b] = SPAN[stage];
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  return Math.round((a + (b - a) * f) * 10) / 10;
}

export type { QualityScores };
