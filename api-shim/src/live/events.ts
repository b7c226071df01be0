// Per-job event logs for the live streams: ids increase per job, the last N events are kept so a
// client that reconnects with the last id it saw gets what it missed, then live events. Logs live
// in this process's memory (ids restart with the shim; a client resuming past the newest id gets a
// fresh snapshot).
import type { VideoJobStatus } from "@reel/crds";

export interface JobEvent {
  id: number;
  type: "phase" | "progress" | "status" | "deleted";
  job: string;
  at: string;
  phase?: string;
  progress?: number;
  episode?: { index: number; stage: string; progress: number; phase?: string };
  status?: VideoJobStatus;
}

export type NewEvent = Omit<JobEvent, "id" | "at" | "job">;
type Listener = (e: JobEvent) => void;

class JobLog {
  readonly events: JobEvent[] = [];
  nextId = 1;
  readonly listeners = new Set<Listener>();
  dropTimer?: NodeJS.Timeout;
}

export class JobEvents {
  private readonly logs = new Map<string, JobLog>();
  private readonly capacity: number;

  constructor(capacity = 256) {
    this.capacity = capacity;
  }

  private log(key: string): JobLog {
    let l = this.logs.get(key);
    if (!l) {
      l = new JobLog();
      this.logs.set(key, l);
    }
    return l;
  }

  /** Appends an event to `key`'s log ("ns/name") and hands it to the live listeners. */
  append(key: string, e: NewEvent): JobEvent {
    const l = this.log(key);
    const name = key.slice(key.indexOf("/") + 1);
    const event: JobEvent = { id: l.nextId++, job: name, at: new Date().toISOString(), ...e };
    l.events.push(event);
    if (l.events.length > this.capacity) l.events.splice(0, l.events.length - this.capacity);
    for (const fn of l.listeners) fn(event);
    return event;
  }

  lastId(key: string): number {
    return (this.logs.get(key)?.nextId ?? 1) - 1;
  }

  /**
   * What a client resuming after `lastEventId` missed, or undefined when the log no longer holds
   * all of it (or the id is from before a restart): the caller then sends a snapshot.
   */
  since(key: string, lastEventId: number): JobEvent[] | undefined {
    const l = this.logs.get(key);
    const newest = (l?.nextId ?? 1) - 1;
    if (lastEventId > newest) return undefined;
    const events = l?.events ?? [];
    const oldest = events[0]?.id ?? newest + 1;
    if (lastEventId < oldest - 1) return undefined;
    return events.filter((e) => e.id > lastEventId);
  }

  subscribe(key: string, fn: Listener): () => void {
    const l = this.log(key);
    l.listeners.add(fn);
    return () => {
      l.listeners.delete(fn);
    };
  }

  subscribers(key: string): number {
    return this.logs.get(key)?.listeners.size ?? 0;
  }

  /** Forgets `key`'s log after `ms` (a deleted job), unless it comes back before. */
  dropAfter(key: string, ms: number): void {
    const l = this.logs.get(key);
    if (!l) return;
    clearTimeout(l.dropTimer);
    l.dropTimer = setTimeout(() => {
      if (this.logs.get(key) === l) this.logs.delete(key);
    }, ms);
    l.dropTimer.unref();
  }

  keep(key: string): void {
    clearTimeout(this.logs.get(key)?.dropTimer);
  }

  get size(): number {
    return this.logs.size;
  }
}
