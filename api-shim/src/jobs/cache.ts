// The VideoJobs the shim serves, kept in memory from a watch (the operator's Informer): status
// GETs and listings read from here and never call the apiserver. Changes are turned into events:
// `phase` when a job's phase moves (the webhook sender and the live streams listen), `status` for
// any other status change, `final` when a job reaches a final phase or is deleted (history).
import { EventEmitter } from "node:events";
import { ReelError, type VideoJob } from "@reel/crds";
import { type ChangeKind, GVK, Informer, type KubeObject, objectKey } from "@reel/operator/kube";

export type CachedJob = VideoJob & KubeObject;

export const FINAL_PHASES: ReadonlySet<string> = new Set(["Completed", "Failed", "Cancelled"]);

/** A phase change as the webhook sender takes it (api-shim/src/webhooks/index.ts). */
export interface PhaseChange {
  namespace: string;
  name: string;
  phase: string;
  previousPhase: string | undefined;
  status: VideoJob["status"];
  progress?: number;
  output?: unknown;
  error?: unknown;
  webhook?: { url: string; secretRef?: { name: string; key: string } };
  /** uid and resourceVersion of the object that showed the change: the same on every replica. */
  uid?: string;
  resourceVersion?: string;
}

export function phaseChange(job: CachedJob, previousPhase: string | undefined): PhaseChange {
  const st = job.status;
  const failed = st?.episodes?.find((e) => e.error)?.error;
  const webhook = job.spec.notification?.webhook;
  return {
    namespace: job.metadata.namespace ?? "",
    name: job.metadata.name,
    phase: st?.phase ?? "Pending",
    previousPhase,
    status: st,
    ...(st?.progress !== undefined ? { progress: st.progress } : {}),
    ...(st?.output ? { output: st.output } : {}),
    ...(st?.phase === "Failed" && failed ? { error: failed } : {}),
    ...(webhook ? { webhook } : {}),
    ...(job.metadata.uid ? { uid: job.metadata.uid } : {}),
    ...(job.metadata.resourceVersion ? { resourceVersion: job.metadata.resourceVersion } : {}),
  };
}

/** Each change comes with the version before it (undefined for a job first seen). */
export interface CacheEvents {
  phase: [PhaseChange, CachedJob, CachedJob | undefined];
  status: [CachedJob, CachedJob | undefined];
  final: [CachedJob, { deleted: boolean }];
  deleted: [CachedJob];
}

export interface JobCacheOptions {
  /** Only this namespace; every namespace when empty. */
  namespace?: string;
  stallSeconds?: number;
  relistSeconds?: number;
  onWatchEvent?: (event: string, detail?: unknown) => void;
}

export class JobCache extends EventEmitter<CacheEvents> {
  private readonly byNamespace = new Map<string, Map<string, CachedJob>>();
  private readonly informer: Informer<CachedJob>;
  private synced = false;
  private failing: string | undefined;

  constructor(o: JobCacheOptions = {}) {
    super();
    const onWatchEvent = o.onWatchEvent;
    this.informer = new Informer<CachedJob>({
      gvk: GVK.VideoJob,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      stallSeconds: o.stallSeconds ?? 120,
      relistSeconds: o.relistSeconds ?? 600,
      onChange: (obj, change) => this.observe(obj as CachedJob, change),
      onWatchEvent: (event, detail) => {
        this.noteWatchEvent(event, detail);
        onWatchEvent?.(event, detail);
      },
    });
  }

  /** An error of the watch stands until it connects or lists again (what health reports). */
  private noteWatchEvent(event: string, detail: unknown): void {
    if (WATCH_OK.has(event)) this.failing = undefined;
    else if (WATCH_FAILING.has(event)) this.failing = `watch ${event}: ${String((detail as Error)?.message ?? detail)}`;
  }

  /** Why the watch is failing now, or undefined when it is not. */
  get watchError(): string | undefined {
    return this.failing;
  }

  async start(): Promise<void> {
    await this.informer.start();
    await this.informer.hasSynced();
    this.synced = true;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** Throws 503 until the first list has arrived: before it, an empty cache would answer 404s. */
  assertSynced(): void {
    if (!this.synced) throw new ReelError("REEL_UNAVAILABLE", "the VideoJob watch has not synced yet");
  }

  stop(): void {
    this.informer.stop();
  }

  get(namespace: string, name: string): CachedJob | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  list(namespace: string): CachedJob[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  get size(): number {
    let n = 0;
    for (const m of this.byNamespace.values()) n += m.size;
    return n;
  }

  /**
   * A job this shim just created, served before the watch delivers it (read-after-write for the
   * caller); the watch's copy replaces it.
   */
  remember(job: CachedJob): void {
    const ns = job.metadata.namespace ?? "";
    if (this.byNamespace.get(ns)?.has(job.metadata.name)) return;
    this.put(job);
  }

  private put(job: CachedJob) {
    const ns = job.metadata.namespace ?? "";
    let m = this.byNamespace.get(ns);
    if (!m) {
      m = new Map();
      this.byNamespace.set(ns, m);
    }
    m.set(job.metadata.name, job);
  }

  /** Exposed for tests: what the watch delivers. */
  observe(job: CachedJob, change: ChangeKind): void {
    const ns = job.metadata.namespace ?? "";
    const before = this.byNamespace.get(ns)?.get(job.metadata.name);
    // A job remembered from a create has no status yet; an older copy never replaces a newer one.
    if (change === "deleted") {
      this.byNamespace.get(ns)?.delete(job.metadata.name);
      this.emit("deleted", job);
      this.emit("final", job, { deleted: true });
      return;
    }
    if (before && before.metadata.uid === job.metadata.uid && olderThan(job, before)) return;
    this.put(job);
    const phase = job.status?.phase;
    const previousPhase = before?.metadata.uid === job.metadata.uid ? before?.status?.phase : undefined;
    if (phase && phase !== previousPhase && (this.synced || change !== "added")) {
      this.emit("phase", phaseChange(job, previousPhase), job, before);
    } else if (before && JSON.stringify(before.status) !== JSON.stringify(job.status)) {
      this.emit("status", job, before);
    }
    if (phase && FINAL_PHASES.has(phase) && !(previousPhase && FINAL_PHASES.has(previousPhase))) {
      this.emit("final", job, { deleted: false });
    }
  }
}

// kubernetes-fluent-client's WatchEvent values.
const WATCH_OK = new Set(["connect", "list"]);
const WATCH_FAILING = new Set(["network_error", "list_error", "watch_error", "give_up", "data_error"]);

function olderThan(a: KubeObject, b: KubeObject): boolean {
  const ra = Number(a.metadata.resourceVersion);
  const rb = Number(b.metadata.resourceVersion);
  return Number.isFinite(ra) && Number.isFinite(rb) && ra < rb;
}

export { objectKey };
