// The live progress contract: what a worker pod publishes on Redis while it works and what the
// operator (status) and the shim (SSE/WebSocket) read back. One message shape, one stage table, one
// channel naming; the worker builds messages with progressMessage, readers use parseProgressMessage.
//
// Channel `reel:progress:<namespace>/<name>` announces every message; the latest message of each pod
// is kept under `reel:progress:<namespace>/<name>:<index>` (`:merge` for the merge pod).
// A message: {v: 1, index, stage, fraction, phase, detail?, at} where `fraction` is 0..1 of the
// stage; the stage table turns (stage, fraction) into a percent of the pod's work and a phase.
import { z } from "zod";
import { EpisodePhase } from "../schema.ts";

export const PROGRESS_PREFIX = "reel:progress:";

/** The channel a VideoJob's pods publish on. */
export const progressChannel = (ref: string) => `${PROGRESS_PREFIX}${ref}`;
/** Where the latest message of one pod (an episode index, or "merge") is kept. */
export const progressKey = (ref: string, index: number | "merge") => `${PROGRESS_PREFIX}${ref}:${index}`;
/** The VideoJob `<namespace>/<name>` a channel belongs to; undefined for anything else. */
export function progressRef(channel: string): string | undefined {
  if (!channel.startsWith(PROGRESS_PREFIX)) return undefined;
  const ref = channel.slice(PROGRESS_PREFIX.length);
  return /^[^/:]+\/[^/:]+$/.test(ref) ? ref : undefined;
}

/** An episode's phases, and Merging for the merge pod's own stages. */
export const ProgressPhase = z.enum([...EpisodePhase.options, "Merging"]);
export type ProgressPhase = z.infer<typeof ProgressPhase>;
type Phase = ProgressPhase;

/** Stages of an episode pod (and of a split episode's segment pods), in order. */
export const EPISODE_STAGES = {
  fetch: { phase: "Downloading", from: 0, to: 30 },
  probe: { phase: "Probing", from: 30, to: 32 },
  encode: { phase: "Transcoding", from: 32, to: 90 },
  measure: { phase: "Measuring", from: 90, to: 98 },
  store: { phase: "Uploading", from: 98, to: 100 },
} as const satisfies Record<string, { phase: Phase; from: number; to: number }>;

/** Stages of the merge pod, in order: join split episodes, fetch the staged ones, merge, store. */
export const MERGE_STAGES = {
  join: { phase: "Merging", from: 0, to: 10 },
  fetch: { phase: "Merging", from: 10, to: 30 },
  merge: { phase: "Merging", from: 30, to: 80 },
  store: { phase: "Uploading", from: 80, to: 100 },
} as const satisfies Record<string, { phase: Phase; from: number; to: number }>;

export type EpisodeStage = keyof typeof EPISODE_STAGES;
export type MergeStage = keyof typeof MERGE_STAGES;
/** `done` ends a pod's attempt; its phase says how (Completed, Failed, Cancelled). */
export type Stage = EpisodeStage | MergeStage | "done";

const stageTable = (index: number | "merge"): Record<string, { phase: Phase; from: number; to: number }> =>
  index === "merge" ? MERGE_STAGES : EPISODE_STAGES;

const clamp01 = (f: number) => Math.min(1, Math.max(0, Number.isFinite(f) ? f : 0));

/** Percent (0..100, one decimal) of a pod's work at `fraction` of `stage`; 100 once done. */
export function stagePercent(index: number | "merge", stage: string, fraction: number): number {
  if (stage === "done") return 100;
  const s = stageTable(index)[stage];
  if (!s) return 0;
  return Math.round((s.from + (s.to - s.from) * clamp01(fraction)) * 10) / 10;
}

export const ProgressMessage = z.object({
  v: z.literal(1),
  /** The episode's index in the VideoJob, or "merge". */
  index: z.union([z.number().int().min(0), z.literal("merge")]),
  stage: z.string().min(1),
  /** Fraction 0..1 of the stage. */
  fraction: z.number().min(0).max(1),
  /** The phase this stage stands for; on `done`, how the attempt ended. */
  phase: ProgressPhase,
  detail: z.string().max(200).optional(),
  at: z.string(),
});
export type ProgressMessage = z.infer<typeof ProgressMessage>;

/** A message read back, with the percent of the pod's work it stands for. */
export type ProgressRead = ProgressMessage & { percent: number };

export interface ProgressInput {
  index: number | "merge";
  stage: Stage;
  fraction: number;
  /** Only for `done`: how the attempt ended (Completed unless said). */
  ended?: Phase;
  detail?: string;
}

/** The writer's side: a message for (stage, fraction), its phase taken from the stage table. */
export function progressMessage(u: ProgressInput, now = new Date()): ProgressMessage {
  const phase: Phase =
    u.stage === "done" ? (u.ended ?? "Completed") : (stageTable(u.index)[u.stage]?.phase ?? "Downloading");
  return {
    v: 1,
    index: u.index,
    stage: u.stage,
    fraction: Math.round(clamp01(u.fraction) * 1000) / 1000,
    phase,
    ...(u.detail ? { detail: u.detail.slice(0, 200) } : {}),
    at: now.toISOString(),
  };
}

const PHASES = new Set<string>(ProgressPhase.options);

/**
 * The reader's side, lenient: a message of this version whole, or one of an older worker
 * ({index, stage, progress: fraction, percent?, phase?}) read into this shape. The phase comes
 * from the stage table for known stages, so a reader never trusts a writer's copy of it; undefined
 * for anything that is not a progress message.
 */
export function parseProgressMessage(text: string): ProgressRead | undefined {
  let raw: Record<string, unknown>;
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
    raw = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const index = raw.index;
  if (!(index === "merge" || (Number.isInteger(index) && (index as number) >= 0))) return undefined;
  if (typeof raw.stage !== "string" || !raw.stage) return undefined;
  const fraction = typeof raw.fraction === "number" ? raw.fraction : raw.progress;
  if (typeof fraction !== "number" || !Number.isFinite(fraction)) return undefined;
  const i = index as number | "merge";
  const known = stageTable(i)[raw.stage];
  const said = typeof raw.phase === "string" && PHASES.has(raw.phase) ? (raw.phase as Phase) : undefined;
  if (!known && raw.stage !== "done") return undefined;
  const phase: Phase = known ? known.phase : (said ?? "Completed");
  const f = clamp01(fraction);
  return {
    v: 1,
    index: i,
    stage: raw.stage,
    fraction: f,
    phase,
    ...(typeof raw.detail === "string" && raw.detail ? { detail: raw.detail.slice(0, 200) } : {}),
    at: typeof raw.at === "string" ? raw.at : "",
    percent: stagePercent(i, raw.stage, f),
  };
}
