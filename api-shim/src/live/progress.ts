// Fine-grained pod progress from Redis pub/sub, where the worker pods publish it: read through the
// one contract (crds/src/contract/progress.ts: channel names, message shape, stage table) and turned
// into the streams' `progress` events — `episode` for an episode pod, `merge` for the merge pod, each
// with a percent of that pod's work. ioredis reconnects after a Redis restart and subscribes again
// (autoResubscribe), so the streams pick up where the workers' next message lands.
import { PROGRESS_PREFIX, type ProgressRead, parseProgressMessage, progressRef } from "@reel/crds";
import { Redis } from "ioredis";
import type { NewEvent } from "./events.ts";

/** The job (`<namespace>/<name>`) and the message, or undefined for anything else (ignored). */
export function parseProgress(channel: string, message: string): { key: string; msg: ProgressRead } | undefined {
  const key = progressRef(channel);
  const msg = key === undefined ? undefined : parseProgressMessage(message);
  return key !== undefined && msg ? { key, msg } : undefined;
}

/** The stream event of a message: the pod's stage, its phase and its percent. */
export function progressEvent(msg: ProgressRead): NewEvent {
  const pod = { stage: msg.stage, progress: msg.percent, phase: msg.phase };
  return msg.index === "merge"
    ? { type: "progress", merge: pod }
    : { type: "progress", episode: { index: msg.index, ...pod } };
}

export interface ProgressSubscription {
  close(): Promise<void>;
  readonly connected: boolean;
}

export function subscribeProgress(
  url: string,
  /** `raw`: the message as published (live/sequence.ts numbers it by its digest). */
  onProgress: (key: string, msg: ProgressRead, raw: string) => void,
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
  void sub.psubscribe(`${PROGRESS_PREFIX}*`).catch(onError);
  return {
    get connected() {
      return sub.status === "ready";
    },
    async close() {
      sub.disconnect();
    },
  };
}
