// Fine-grained episode progress from Redis pub/sub, where the worker pods publish it
// (worker-image/src/worker/progress.ts): `reel:progress:<ns>/<name>` carries JSON
// {index, stage, progress, percent?, phase?}. ioredis reconnects after a Redis restart and subscribes again
// (autoResubscribe), so the streams pick up where the workers' next message lands.
import { EpisodePhase } from "@reel/crds";
import { Redis } from "ioredis";

export interface ProgressMessage {
  index: number;
  stage: string;
  progress: number;
  /** The episode's phase as the worker reports it; on stage "done" it says how the attempt ended. */
  phase?: string;
}

const PHASES = new Set<string>(EpisodePhase.options);

const PREFIX = "reel:progress:";

/** The message, or undefined when it is not one (a malformed publish is ignored). */
export function parseProgress(channel: string, message: string): { key: string; msg: ProgressMessage } | undefined {
  if (!channel.startsWith(PREFIX)) return undefined;
  const key = channel.slice(PREFIX.length);
  if (!/^[^/]+\/[^/:]+$/.test(key)) return undefined;
  let m: { index?: unknown; stage?: unknown; progress?: unknown; percent?: unknown; phase?: unknown };
  try {
    m = JSON.parse(message);
  } catch {
    return undefined;
  }
  const progress = typeof m.percent === "number" ? m.percent : m.progress;
  if (!Number.isInteger(m.index) || typeof m.stage !== "string" || typeof progress !== "number") return undefined;
  const phase = typeof m.phase === "string" && PHASES.has(m.phase) ? { phase: m.phase } : {};
  return { key, msg: { index: m.index as number, stage: m.stage, progress, ...phase } };
}

export interface ProgressSubscription {
  close(): Promise<void>;
  readonly connected: boolean;
}

export function subscribeProgress(
  url: string,
  /** `raw`: the message as published (live/sequence.ts numbers it by its digest). */
  onProgress: (key: string, msg: ProgressMessage, raw: string) => void,
  onError: (err: Error) => void,
): ProgressSubscription {
  const sub = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: null,
    retryStrategy: (n) => Math.min(100 * 2 ** n, 2000),
  });
  sub.on("error", onError);
  sub.on("pmessage", (_pattern: string, channel: string, message: string) => {
    const p = parseProgress(channel, message);
    if (p) onProgress(p.key, p.msg, message);
  });
  void sub.psubscribe(`${PREFIX}*`).catch(onError);
  return {
    get connected() {
      return sub.status === "ready";
    },
    async close() {
      sub.disconnect();
    },
  };
}
