// `reel watch ID`: follows a job over the shim's event stream until it is Completed, Failed or
// Cancelled. Bars per episode on a terminal, one line per phase change otherwise, JSON lines with
// --json. Nothing is missed between the first read of the job and the stream, or while a dropped
// stream is down: a new stream starts with a snapshot of the status, a resumed one (Last-Event-ID)
// with the events it missed, or a snapshot when the shim no longer holds them. Reading the status
// here as well would race with that replay and could show an older phase after a newer one.
import { EPISODE_STAGES, EpisodePhase, type EpisodeStatus, episodeTitle, ReelError } from "@reel/crds";
import { progress } from "../progress.ts";
import type { Ctx } from "./context.ts";
import { ApiError } from "./errors.ts";
import type { Api } from "./http.ts";
import { jobView } from "./render.ts";
import { readSse } from "./sse.ts";
import { FINAL_PHASES, type Job, type JobEvent, type Phase } from "./types.ts";

const EPISODE_PHASES = new Set<string>(EpisodePhase.options);

interface EpisodeState {
  phase: EpisodeStatus["phase"];
  progress: number;
  error?: { code: string; message: string };
  encoder?: string;
}

/** Where a watch shows what happens: bars, lines or nothing (JSON prints the events themselves). */
interface View {
  job(phase: Phase, progress: number | undefined): void;
  episode(index: number, e: EpisodeState, title: string): void;
  /** The merge pod's percent of its work, while the job is Merging. */
  merge(percent: number): void;
  stop(): void;
}

/**
 * An episode pod's `{stage, progress, phase}` from the stream (a percent of the pod's work). The
 * phase is the stage table's (crds/src/contract/progress.ts); on "done", which ends an attempt and
 * not necessarily the episode, the pod's phase says how (a failed attempt the Job retries is
 * Failed here, then the next attempt's stages follow). An older shim may send no phase.
 */
export function episodeUpdate(ep: {
  stage: string;
  progress: number;
  phase?: string | undefined;
}): Pick<EpisodeState, "phase" | "progress"> {
  const said = ep.phase && EPISODE_PHASES.has(ep.phase) ? (ep.phase as EpisodeStatus["phase"]) : undefined;
  const staged = EPISODE_STAGES[ep.stage as keyof typeof EPISODE_STAGES]?.phase;
  const phase = staged ?? said ?? (ep.stage === "done" ? "Completed" : "Pending");
  return { phase, progress: Math.min(100, Math.max(0, ep.progress)) };
}

export interface WatchFlags {
  json: boolean;
}

export async function watchJob(ctx: Ctx, api: Api, id: string, flags: WatchFlags): Promise<number> {
  const path = `/api/v1/jobs/${encodeURIComponent(id)}`;
  let job = await api.get<Job>(path);
  const titles = (job.spec.episodes ?? []).map((e, i) => episodeTitle(e, i));
  const view = flags.json ? quiet() : ctx.stderr.isTTY ? bars(titles, ctx.stderr) : lines(id, ctx.stderr);
  const episodes = new Map<number, EpisodeState>();
  let phase: Phase | undefined;

  const setPhase = (p: Phase | undefined, prog: number | undefined) => {
    if (!p || p === phase) return;
    phase = p;
    view.job(p, prog);
  };
  // Episodes the status says are finished. Only those stay finished: a late progress message can
  // arrive after the status, while an attempt that ended (progress "done", Failed) may be retried.
  const settled = new Set<number>();
  const setEpisode = (index: number, next: EpisodeState, fromStatus = false) => {
    const prev = episodes.get(index);
    if (fromStatus && FINAL_PHASES.has(next.phase)) settled.add(index);
    if (prev && settled.has(index) && !fromStatus && !FINAL_PHASES.has(next.phase)) return;
    if (prev && prev.phase === next.phase && Math.abs(prev.progress - next.progress) < 0.05 && !next.error) return;
    episodes.set(index, next);
    view.episode(index, next, titles[index] ?? episodeTitle(undefined, index));
  };
  const applyStatus = (s: Job["status"]) => {
    for (const e of s?.episodes ?? []) {
      setEpisode(
        e.index,
        {
          phase: e.phase,
          progress: e.progress,
          ...(e.error ? { error: e.error } : {}),
          ...(e.encoder ? { encoder: e.encoder } : {}),
        },
        true,
      );
    }
    setPhase(s?.phase, s?.progress);
  };
  const emit = (e: JobEvent) => {
    if (flags.json) ctx.stdout.write(`${JSON.stringify(e)}\n`);
  };

  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  if (ctx.interrupt) ctx.interrupt.addEventListener("abort", onInterrupt, { once: true });
  else {
    process.once("SIGINT", onInterrupt);
    process.once("SIGTERM", onInterrupt);
  }
  let deleted = false;
  try {
    applyStatus(job.status);
    if (!phase) setPhase("Pending", 0); // the operator has not written a status yet
    if (!FINAL_PHASES.has(phase ?? "")) {
      for await (const item of readSse(api, `${path}/events`, {
        ...ctx.sse,
        signal: stop.signal,
        onReconnect: (reason, ms) => {
          if (!flags.json) ctx.stderr.write(`stream dropped (${reason}); reconnecting in ${(ms / 1000).toFixed(1)}s\n`);
          ctx.sse?.onReconnect?.(reason, ms);
        },
      })) {
        if (item.kind === "event" && (item.event.type === "status" || item.event.type === "message")) {
          const e = parseEvent(item.event.data, api.url(`${path}/events`));
          emit(e);
          if (e.type === "deleted") {
            deleted = true;
            break;
          }
          if (e.status) applyStatus(e.status);
          if (e.episode && Number.isInteger(e.episode.index)) {
            const prev = episodes.get(e.episode.index);
            setEpisode(e.episode.index, { ...prev, ...episodeUpdate(e.episode) });
          }
          // The merge pod runs: the job is Merging, whatever status the operator has written yet.
          if (e.merge && !FINAL_PHASES.has(phase ?? "")) {
            setPhase("Merging", e.progress ?? e.status?.progress);
            view.merge(Math.min(100, Math.max(0, e.merge.progress)));
          }
          setPhase(e.phase ?? e.status?.phase, e.progress ?? e.status?.progress);
        }
        if (FINAL_PHASES.has(phase ?? "")) break;
      }
    }
  } finally {
    ctx.interrupt?.removeEventListener("abort", onInterrupt);
    process.off("SIGINT", onInterrupt);
    process.off("SIGTERM", onInterrupt);
    view.stop();
  }
  if (stop.signal.aborted && !FINAL_PHASES.has(phase ?? "")) {
    ctx.stderr.write(`stopped watching ${id}; the job goes on (reel watch ${id}, reel cancel ${id})\n`);
    return 130;
  }
  // The summary comes from the job itself (its history once the VideoJob is gone).
  try {
    job = await api.get<Job>(path);
  } catch (err) {
    if (!(deleted && err instanceof ApiError && err.status === 404)) throw err;
  }
  const final = job.status?.phase ?? phase;
  if (!flags.json) {
    ctx.stdout.write(`\n${jobView(job, (p) => api.url(p))}\n`);
    if (deleted && !FINAL_PHASES.has(final ?? "")) ctx.stdout.write(`job ${id} was deleted before it finished\n`);
  }
  return final === "Completed" ? 0 : 1;
}

function parseEvent(data: string, url: string): JobEvent {
  try {
    const e = JSON.parse(data) as JobEvent;
    if (typeof e === "object" && e !== null && typeof e.type === "string") return e;
  } catch {}
  throw new ReelError(
    "REEL_SHIM_RESPONSE_INVALID",
    `${url} sent an event that is not a JobEvent: ${data.slice(0, 200)}`,
  );
}

function quiet(): View {
  return { job() {}, episode() {}, merge() {}, stop() {} };
}

/** The same bars as `reel run` (progress.ts), fed from the stream. */
function bars(titles: string[], stream: NodeJS.WriteStream): View {
  const p = progress(titles, stream);
  return {
    job: (phase, prog) =>
      p.on({ type: "note", level: "info", message: `job ${phase}${prog !== undefined ? ` ${prog}%` : ""}` }),
    episode(index, e) {
      if (FINAL_PHASES.has(e.phase)) {
        p.on({
          type: "episode-done",
          index,
          status: {
            index,
            phase: e.phase,
            progress: e.progress,
            attempts: 0,
            ...(e.error ? { error: e.error } : {}),
            ...(e.encoder ? { encoder: e.encoder } : {}),
          },
        });
      } else p.on({ type: "episode", index, phase: e.phase, progress: e.progress });
    },
    merge: (percent) => p.on({ type: "merge", progress: percent }),
    stop: () => p.stop(),
  };
}

/** Logs and CI: one line when the job or an episode changes phase. */
function lines(id: string, stream: NodeJS.WriteStream): View {
  const shown = new Map<number, string>();
  return {
    job: (phase, prog) => stream.write(`${id}: ${phase}${prog !== undefined ? ` (${prog}%)` : ""}\n`),
    episode(index, e, title) {
      if (shown.get(index) === e.phase) return;
      shown.set(index, e.phase);
      stream.write(
        `episode ${index + 1} (${title}): ${e.phase}${e.error ? ` ${e.error.code} ${e.error.message}` : ""}\n`,
      );
    },
    // One line per change: entering Merging is the job's phase line; the percent is for the bars.
    merge() {},
    stop() {},
  };
}
