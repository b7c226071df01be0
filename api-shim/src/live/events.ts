// Per-job event logs for the live streams. An event id means the same on every shim replica, so a
// client behind a load balancer can resume on another one: it is a cursor "<rv>-<seq>" —
//   rv:  the resourceVersion of the newest VideoJob version the client has seen. Phase and status
//        events come from the watch, and every replica's watch delivers the same object versions.
//   seq: the newest worker progress message the client has seen, numbered per job in Redis
//        (live/sequence.ts): every replica receives the same pub/sub message and gets the same
//        number for it.
// Resuming after "<R>-<S>" is "every watch event with rv > R and every progress event with seq > S
// this replica holds", decided per event, so it holds whatever interleaving the replica saw.
// A replica whose log does not reach back to R or S (it started later, the ring dropped events, the
// id is malformed or from before this format) cannot place the id: the stream then starts with the
// current full status.
import type { JobEvent } from "@reel/crds";

/** The shape of an event: crds/src/contract/rest.ts (the one the clients read). */
export type { JobEvent };

export type NewEvent = Omit<JobEvent, "id" | "at" | "job">;

/** What a client has seen, as its last event id says. */
export interface Cursor {
  rv: number;
  seq: number;
}

/** An event as the log keeps it: the cursor it moves a client to, and which part it moves. */
export interface Entry {
  event: JobEvent;
  rv: number;
  seq: number;
  source: "watch" | "progress";
}

type Listener = (e: Entry) => void;

export const formatId = (c: Cursor): string => `${c.rv}-${c.seq}`;

/** `<rv>-<seq>` as a cursor; undefined for anything else (a numeric id from an older shim too). */
export function parseId(raw: string | undefined): Cursor | undefined {
  const m = raw === undefined ? null : /^(\d{1,16})-(\d{1,16})$/.exec(raw);
  if (!m) return undefined;
  const rv = Number(m[1]);
  const seq = Number(m[2]);
  return Number.isSafeInteger(rv) && Number.isSafeInteger(seq) ? { rv, seq } : undefined;
}

/** A resourceVersion as a number (etcd's revision; 0 when it is not a number). */
export function rvOf(resourceVersion: string | undefined): number {
  const n = Number(resourceVersion);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

class JobLog {
  readonly entries: Entry[] = [];
  /** Newest watch version and progress seq in the log. */
  rv: number;
  seq = 0;
  /** The log holds every watch event with rv > rvFloor and every progress event with seq > seqFloor. */
  rvFloor: number;
  seqFloor = 0;
  readonly listeners = new Set<Listener>();
  dropTimer?: NodeJS.Timeout;

  constructor(rv: number) {
    this.rv = rv;
    this.rvFloor = rv;
  }
}

export class JobEvents {
  private readonly logs = new Map<string, JobLog>();
  private readonly capacity: number;

  constructor(capacity = 256) {
    this.capacity = capacity;
  }

  /**
   * The log of `key` ("ns/name"); a new one starts at `rv`, the version of the VideoJob before the
   * first change it will hold (every later change of the watch is appended to it).
   */
  private log(key: string, rv: number): JobLog {
    let l = this.logs.get(key);
    if (!l) {
      l = new JobLog(rv);
      this.logs.set(key, l);
    }
    return l;
  }

  /** Starts `key`'s log at version `rv` when there is none (a stream opened on a quiet job). */
  open(key: string, rv: number): void {
    this.log(key, rv);
  }

  /**
   * A change from the watch, seen at version `rv` (`previousRv`: the version before it, where a
   * new log starts). A version not newer than the log's is ignored (an older copy), except a
   * deletion, which is always kept.
   */
  appendWatch(key: string, rv: number, previousRv: number, e: NewEvent): Entry | undefined {
    const l = this.log(key, previousRv);
    if (rv <= l.rv && e.type !== "deleted") return undefined;
    l.rv = Math.max(l.rv, rv);
    return this.push(key, l, "watch", e);
  }

  /** A worker progress message numbered `seq` (live/sequence.ts); one already held is ignored. */
  appendProgress(key: string, seq: number, rv: number, e: NewEvent): Entry | undefined {
    const l = this.log(key, rv);
    if (seq <= l.seq) return undefined;
    l.seq = seq;
    return this.push(key, l, "progress", e);
  }

  private push(key: string, l: JobLog, source: Entry["source"], e: NewEvent): Entry {
    const name = key.slice(key.indexOf("/") + 1);
    const entry: Entry = {
      event: { id: formatId(l), job: name, at: new Date().toISOString(), ...e },
      rv: l.rv,
      seq: l.seq,
      source,
    };
    l.entries.push(entry);
    if (l.entries.length > this.capacity) {
      for (const dropped of l.entries.splice(0, l.entries.length - this.capacity)) {
        if (dropped.source === "watch") l.rvFloor = Math.max(l.rvFloor, dropped.rv);
        else l.seqFloor = Math.max(l.seqFloor, dropped.seq);
      }
    }
    for (const fn of l.listeners) fn(entry);
    return entry;
  }

  /** The newest cursor of `key`'s log (what a snapshot taken now stands for). */
  head(key: string): Cursor | undefined {
    const l = this.logs.get(key);
    return l ? { rv: l.rv, seq: l.seq } : undefined;
  }

  /**
   * What a client resuming after `after` missed, in this log's order, or undefined when the log
   * does not reach back that far (the caller then sends the current status first).
   */
  since(key: string, after: Cursor): Entry[] | undefined {
    const l = this.logs.get(key);
    if (!l || after.rv < l.rvFloor || after.seq < l.seqFloor) return undefined;
    return l.entries.filter((x) => advances(x, after));
  }

  /** Entries of `key`'s log as they are appended (the log is made at `rv` when there is none). */
  subscribe(key: string, rv: number, fn: Listener): () => void {
    const l = this.log(key, rv);
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

/** Whether a client at `c` has not seen `x` yet: a deletion is always news. */
export function advances(x: Entry, c: Cursor): boolean {
  if (x.event.type === "deleted") return true;
  return x.source === "watch" ? x.rv > c.rv : x.seq > c.seq;
}
