// own-writes: what this operator wrote for each VideoJob that the watch has not shown back yet —
// Jobs being created and created, Jobs being deleted, the status sent (with the resourceVersion it
// was sent against) and the fingerprint its echo will carry, and whether the VideoJob's end was
// counted — one OwnWrites per VideoJob, kept in an OwnWritesBook. Reconciles read their own writes
// from it, and the named filter `dropOwnEchoes` consults it in front of the work queue (as
// controller-runtime puts predicates before its queue) so that watch events which only echo these
// writes cost no reconcile.
import type { VideoJobStatus } from "@reel/crds";
import type { KubeObject } from "../kube/api.ts";
import { specHash, VIDEOJOB_LABEL } from "../plan/jobs.ts";
import type { ObservedJob } from "./observed.ts";

export type Change = "added" | "modified" | "deleted";

/** One VideoJob's writes that the informers do not show yet. */
export class OwnWrites {
  /** Jobs whose creation was sent and that the Job informer has not delivered yet (the cap counts them). */
  private readonly creating = new Set<string>();
  /** Of those, the ones the apiserver accepted: planning counts them as existing. */
  private readonly created = new Map<string, ObservedJob>();
  /** Jobs whose deletion was sent and that the informer still shows. */
  private readonly deleting = new Set<string>();
  /** The last status sent and the resourceVersion it was sent against. */
  private sent?: { fromRv: string; status: VideoJobStatus };
  /** The fingerprint (echoPrint) of the VideoJob event that will echo the status write in flight. */
  private echo?: string;
  /** The uid of the VideoJob whose end was counted (a new VideoJob of the same name counts again). */
  private finishedUid?: string;

  get creatingCount(): number {
    return this.creating.size;
  }

  /** Whether nothing is remembered (the book may drop this entry). */
  get empty(): boolean {
    return (
      !this.creating.size &&
      !this.created.size &&
      !this.deleting.size &&
      !this.sent &&
      this.echo === undefined &&
      this.finishedUid === undefined
    );
  }

  beginCreate(name: string): void {
    this.creating.add(name);
  }

  /** The create was refused (other than 409): nothing is on its way. */
  createFailed(name: string): void {
    this.creating.delete(name);
  }

  /** The apiserver has the Job; remembered until the informer delivers it (unless it already did). */
  createDone(job: ObservedJob): void {
    if (this.creating.has(job.metadata.name)) this.created.set(job.metadata.name, job);
  }

  /** Jobs created that the informer does not show yet. */
  unseen(informerHas: (name: string) => boolean): ObservedJob[] {
    return [...this.created.values()].filter((j) => !informerHas(j.metadata.name));
  }

  /** The Job informer delivered one of this VideoJob's Jobs: it is no longer only ours to know. */
  jobSeen(name: string, change: Change): void {
    this.creating.delete(name);
    this.created.delete(name);
    if (change === "deleted") this.deleting.delete(name);
  }

  isBeingCreated(name: string): boolean {
    return this.creating.has(name);
  }

  /** Whether a deletion must be sent: false when one was sent and the informer has not shown it yet. */
  beginDelete(name: string): boolean {
    if (this.deleting.has(name)) return false;
    this.deleting.add(name);
    return true;
  }

  deleteFailed(name: string): void {
    this.deleting.delete(name);
  }

  /** A status write is being sent: the VideoJob event carrying `print` will be its echo. */
  expectEcho(print: string): void {
    this.echo = print;
  }

  statusSent(fromRv: string | undefined, status: VideoJobStatus): void {
    if (fromRv) this.sent = { fromRv, status };
  }

  statusFailed(): void {
    this.echo = undefined;
  }

  /** Whether a VideoJob event is the echo expected; the expectation is used up either way. */
  takeEcho(print: string): boolean {
    const expected = this.echo;
    this.echo = undefined;
    return expected !== undefined && expected === print;
  }

  /**
   * The status this process wrote (waiting, or sent) that the informer does not show yet: the
   * waiting write's, else the sent one while the informer still holds the version it was sent
   * against. Undefined once the watch caught up (the informer is the truth again).
   */
  status(informerRv: string | undefined, waiting: VideoJobStatus | undefined): VideoJobStatus | undefined {
    if (waiting) return waiting;
    if (!this.sent) return undefined;
    if (informerRv === this.sent.fromRv) return this.sent.status;
    this.sent = undefined;
    return undefined;
  }

  /** Counts the VideoJob's end once: false when it was already counted. */
  markFinished(uid: string): boolean {
    if (this.finishedUid === uid) return false;
    this.finishedUid = uid;
    return true;
  }

  /** The VideoJob is gone: its statuses, created Jobs and counted end need no remembering. */
  forget(uid: string | undefined): void {
    this.created.clear();
    this.sent = undefined;
    this.echo = undefined;
    if (uid !== undefined && uid === this.finishedUid) this.finishedUid = undefined;
  }
}

/** The OwnWrites of every VideoJob, by key (namespace/name). */
export class OwnWritesBook {
  private readonly byKey = new Map<string, OwnWrites>();

  of(key: string): OwnWrites {
    let w = this.byKey.get(key);
    if (!w) {
      w = new OwnWrites();
      this.byKey.set(key, w);
    }
    return w;
  }

  peek(key: string): OwnWrites | undefined {
    return this.byKey.get(key);
  }

  /** Drops an entry that remembers nothing. */
  tidy(key: string): void {
    if (this.byKey.get(key)?.empty) this.byKey.delete(key);
  }

  /** Jobs being created in a namespace, for every VideoJob there. */
  creatingIn(namespace: string): number {
    let n = 0;
    for (const [key, w] of this.byKey) if (key.startsWith(`${namespace}/`)) n += w.creatingCount;
    return n;
  }

  /** A Job event from the informer: whatever its VideoJob remembered about that Job is settled. */
  jobChanged(obj: KubeObject, change: Change): void {
    const owner = obj.metadata.labels?.[VIDEOJOB_LABEL];
    if (!owner) return;
    const key = `${obj.metadata.namespace ?? ""}/${owner}`;
    this.peek(key)?.jobSeen(obj.metadata.name, change);
    this.tidy(key);
  }

  videoJobDeleted(key: string, uid: string | undefined): void {
    this.peek(key)?.forget(uid);
    this.tidy(key);
  }
}

/** What a VideoJob watch event must differ in to be worth a reconcile: everything but resourceVersion and managedFields. */
export function echoPrint(obj: KubeObject): string {
  const {
    resourceVersion: _rv,
    managedFields: _mf,
    ...meta
  } = obj.metadata as KubeObject["metadata"] & {
    managedFields?: unknown;
  };
  return specHash({ ...obj, metadata: meta });
}

/**
 * The named filter in front of the work queue: a watch event passes unless it only echoes this
 * operator's own write, so reconciling it would decide nothing new — a Job this process is creating
 * appearing with no status yet, or a VideoJob whose only change is the status this process just
 * wrote. Under a burst that is most events (eight Job echoes per VideoJob of eight episodes), and
 * each would cost a reconcile and a token of the reconcile rate limit.
 */
export function dropOwnEchoes(book: OwnWritesBook) {
  return {
    name: "drop-own-echoes",
    /** Whether a Job event should queue its VideoJob. Read before the book settles the event (jobChanged). */
    job(obj: KubeObject, change: Change): boolean {
      if (change !== "added") return true;
      const fresh = !(obj as { status?: { conditions?: unknown[] } }).status?.conditions?.length;
      const owner = obj.metadata.labels?.[VIDEOJOB_LABEL];
      const w = owner ? book.peek(`${obj.metadata.namespace ?? ""}/${owner}`) : undefined;
      return !(fresh && (w?.isBeingCreated(obj.metadata.name) ?? false));
    },
    /** Whether a VideoJob event should queue it; uses up the echo it was expected to be. */
    videoJob(obj: KubeObject, change: Change): boolean {
      if (change !== "modified") return true;
      const w = book.peek(`${obj.metadata.namespace ?? ""}/${obj.metadata.name}`);
      return !(w?.takeEcho(echoPrint(obj)) ?? false);
    },
  } as const;
}

export type OwnEchoFilter = ReturnType<typeof dropOwnEchoes>;
