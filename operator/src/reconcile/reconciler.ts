// The I/O half of a reconcile: read the VideoJob and its children from the informers' memory
// (and this process's own writes the informers do not show yet, own-writes.ts), `decide()`, then
// carry the decision out — writing only what differs from what exists, so a resync over unchanged
// VideoJobs sends nothing to the apiserver. It also owns the count of running episode Jobs per
// namespace (the cap) and the Event recorder. A VideoJob with playlist entries is decided as its
// recorded expansion; until one is recorded, expand() runs its list Job instead (expansion.ts).
import type { EpisodeStatus, VideoJob, VideoJobStatus } from "@reel/crds";
import { type Span, SpanKind, type Tracing } from "@reel/crds/tracing";
import type { Logger } from "pino";
import type { ReconcileResult } from "../controller/queue.ts";
import { ApiError, type KubeApi, type KubeObject } from "../kube/api.ts";
import type { Informer } from "../kube/informer.ts";
import { type KubeJob, ROLE_LABEL, SPEC_HASH, specHash, VIDEOJOB_LABEL } from "../plan/jobs.ts";
import type { ObservedNode } from "../scheduling/gpu.ts";
import { setCondition } from "../status/conditions.ts";
import { type DecideSettings, type Decision, decide, FINALIZER, type KubeEvent } from "./decide.ts";
import { jobDone, type LiveProgress, type Observed, type ObservedJob, type ObservedPod } from "./observed.ts";
import { type Change, dropOwnEchoes, echoPrint, type OwnEchoFilter, OwnWritesBook } from "./own-writes.ts";
import { keepExpiredOutput } from "../retention/due.ts";
import { EventRecorder } from "./events.ts";
import { CreationGate, DeferredStatus } from "./priority.ts";
import { cleanupStaging } from "./staging.ts";
import { videoJobParent } from "./trace.ts";
import { episodesToDo } from "../reuse/candidates.ts";
import { LIST_SUFFIX } from "../plan/list.ts";
import { childName } from "../plan/names.ts";
import { type Expanded, expanded, failureMessage, listingStep, shouldReadListing } from "./expansion.ts";
import { readListing } from "./listing.ts";

type Unlisted = Extract<Expanded, { kind: "unlisted" }>;

export interface ReconcilerDeps {
  api: KubeApi;
  videojobs: Informer;
  jobs: Informer;
  pods: Informer;
  nodes: Informer;
  settings: DecideSettings;
  log: Logger;
  /** Called once when a VideoJob's status first reaches a final phase. */
  onFinished?: (phase: string) => void;
  /** Fine progress per episode from Redis, when configured. */
  progress?: (key: string, episodes: number) => Promise<LiveProgress | undefined>;
  /** Makes the namespace's worker Redis user and its Secret, which the Jobs' pods read, before any create. */
  workerAccess?: (namespace: string) => Promise<void>;
  now?: () => Date;
  /** Queues a VideoJob's reconcile again (a deferred status write failed). */
  requeue?: (key: string) => void;
  /** Longest a status write or Event waits behind Job creation (ms; default 30 s). */
  deferMaxMs?: number;
  /** OpenTelemetry export, when configured: a span per reconcile, in the VideoJob's trace. */
  tracing?: Tracing;
  /** Copies other VideoJobs' finished episodes for the listed ones without a Job (reuse/reuse.ts). */
  reuse?: (vj: VideoJob, todo: number[]) => Promise<Map<number, EpisodeStatus>>;
}

const VJ_API = "reel.dev/v1alpha1";
const FINAL = new Set(["Completed", "Failed", "Cancelled"]);
/** Jobs one reconcile creates at once (a 500-episode VideoJob need not wait on 500 round trips). */
const CREATE_CONCURRENCY = 8;

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The JSON merge patch (RFC 7396) that turns `current` into `next`: objects merge key by key, a key
 * that is gone becomes null, arrays and scalars are replaced whole.
 */
export function mergePatch(current: unknown, next: unknown): unknown {
  if (!isPlain(current) || !isPlain(next)) return next;
  const out: Plain = {};
  for (const [k, v] of Object.entries(next)) {
    if (v === undefined) continue;
    out[k] = isPlain(v) && isPlain(current[k]) ? mergePatch(current[k], v) : v;
  }
  for (const k of Object.keys(current)) {
    if (current[k] !== undefined && next[k] === undefined) out[k] = null;
  }
  return out;
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure is thrown after all settle. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item).catch((e) => errors.push(e));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}

export class Reconciler {
  private readonly d: ReconcilerDeps;
  /** What this process wrote per VideoJob that the watch has not shown back yet. */
  private readonly writes = new OwnWritesBook();
  /** The filter in front of the work queue: drops watch events that only echo our own writes. */
  readonly filter: OwnEchoFilter = dropOwnEchoes(this.writes);
  /** Running episode Jobs per namespace: Job name -> its VideoJob. */
  private readonly active = new Map<string, Map<string, string>>();
  private readonly nsLocks = new Map<string, Promise<unknown>>();

  private readonly events: EventRecorder;
  /** Job creates first: status writes and Events wait while creates are in flight. */
  private readonly gate: CreationGate;
  private readonly statuses: DeferredStatus;

  constructor(d: ReconcilerDeps) {
    this.d = d;
    this.gate = new CreationGate(d.deferMaxMs);
    this.events = new EventRecorder(d.api, d.log, { gate: this.gate });
    this.statuses = new DeferredStatus(this.gate, d.log, (key) => d.requeue?.(key));
  }

  /**
   * Keeps the count of running episode Jobs per namespace (for the cap) as the Job informer sees
   * them, instead of scanning every Job on every reconcile, and settles our own writes of that Job.
   */
  jobChanged(obj: KubeObject, change: Change): void {
    const ns = obj.metadata.namespace ?? "";
    const name = obj.metadata.name;
    this.writes.jobChanged(obj, change);
    const labels = obj.metadata.labels ?? {};
    const running = this.active.get(ns) ?? new Map<string, string>();
    this.active.set(ns, running);
    if (change !== "deleted" && labels[ROLE_LABEL] === "episode" && !jobDone(obj as unknown as ObservedJob)) {
      running.set(name, labels[VIDEOJOB_LABEL] ?? "");
    } else running.delete(name);
  }

  /** The VideoJob is gone: nothing about it needs remembering. */
  videoJobDeleted(uid: string | undefined, key?: string): void {
    if (key) this.writes.videoJobDeleted(key, uid);
  }

  private namespaceActive(namespace: string, exceptVideoJob: string): number {
    if (this.d.settings.maxRunningPerNamespace <= 0) return 0;
    let n = this.writes.creatingIn(namespace);
    for (const vj of this.active.get(namespace)?.values() ?? []) if (vj !== exceptVideoJob) n++;
    return n;
  }

  /** Serialise reconciles within a namespace when a cap applies, so two cannot both take the last slot. */
  private async withNamespace<T>(ns: string, fn: () => Promise<T>): Promise<T> {
    if (this.d.settings.maxRunningPerNamespace <= 0) return fn();
    const before = this.nsLocks.get(ns) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => {});
    this.nsLocks.set(ns, tail);
    try {
      return await run;
    } finally {
      if (this.nsLocks.get(ns) === tail) this.nsLocks.delete(ns);
    }
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const tracing = this.d.tracing;
    if (!tracing) return this.reconcileOnce(key);
    const raw = this.d.videojobs.get(key);
    if (!raw) return undefined;
    const parent = videoJobParent(raw);
    const span = tracing.startSpan("reconcile VideoJob", {
      kind: SpanKind.INTERNAL,
      ...(parent ? { parent } : {}),
      attributes: {
        "reel.videojob": key,
        ...(raw.metadata.uid ? { "k8s.videojob.uid": raw.metadata.uid } : {}),
        ...(raw.metadata.generation !== undefined ? { "reel.videojob.generation": raw.metadata.generation } : {}),
      },
    });
    return tracing.within(span, () => this.reconcileOnce(key, span));
  }

  private async reconcileOnce(key: string, span?: Span): Promise<ReconcileResult | undefined> {
    const raw = this.d.videojobs.get(key);
    if (!raw) return undefined; // gone: owner references let the garbage collector take the children
    const namespace = key.split("/")[0] ?? "default";
    // Read our own writes: a status still waiting to be sent, or sent but not yet back through the
    // watch, is what the VideoJob's status is about to be; deciding from the informer's older copy
    // would compute "now"-stamped fields (startedAt, finishedAt) afresh and write them again.
    const ours = this.ownStatus(key, raw);
    const stored = ours ? { ...raw, status: ours } : raw;
    // Playlist entries are planned from their recorded expansion only (expansion.ts).
    const e = expanded(stored);
    if (e.kind === "invalid") {
      await this.reportInvalid(raw, e.message);
      return undefined;
    }
    if (e.kind === "unlisted") {
      await this.expand(key, raw, stored, e);
      return undefined;
    }
    const vj = e.vj;
    return this.withNamespace(namespace, async () => {
      const decision = decide(vj, await this.observe(key, vj), this.d.settings, this.now());
      span?.setAttributes({
        "reel.decision.create": decision.create.length,
        "reel.decision.delete": decision.delete.length,
        "reel.decision.events": decision.events.length,
        ...(decision.status.phase ? { "reel.phase": decision.status.phase } : {}),
        ...(decision.finalizer ? { "reel.decision.finalizer": decision.finalizer } : {}),
      });
      await this.carryOut(key, raw, vj, decision, span);
      return undefined;
    });
  }

  /**
   * A VideoJob whose playlist entries have no recorded expansion yet: its list Job, then the
   * listing read from staging once, recorded in status (or the job Failed with the listing's code).
   */
  private async expand(key: string, raw: KubeObject, stored: KubeObject, u: Unlisted): Promise<void> {
    const status: VideoJobStatus = (stored as { status?: VideoJobStatus }).status ?? {};
    // A failed listing is final (a new VideoJob lists again); a deleted one's list Job goes with it.
    if (status.phase === "Failed" || raw.metadata.deletionTimestamp) return;
    const [namespace = "default", name = ""] = key.split("/");
    const jobName = childName(name, LIST_SUFFIX);
    const unseen = this.writes.peek(key)?.unseen((j) => this.d.jobs.get(`${namespace}/${j}`) !== undefined) ?? [];
    const job =
      (this.d.jobs.get(`${namespace}/${jobName}`) as unknown as ObservedJob | undefined) ??
      unseen.find((j) => j.metadata.name === jobName);
    const listing =
      shouldReadListing(job) && typeof u.staging === "string" && u.staging.startsWith("s3://")
        ? await readListing(this.d.api, u.standIn, u.staging)
        : undefined;
    const step = listingStep(stored, u, { ...(job ? { job } : {}), ...(listing ? { listing } : {}) }, this.d.settings);
    const generation = raw.metadata.generation ?? 0;
    const next: VideoJobStatus = { ...status, observedGeneration: generation };
    if (step.kind === "wait") return;
    if (step.kind === "create") {
      await this.createJobs(key, [step.job]);
      this.deferStatus(key, raw, { ...next, phase: "Pending", activity: "listing playlists" }, status);
      return;
    }
    if (step.kind === "record") {
      const { activity: _listing, ...rest } = next;
      this.deferStatus(key, raw, { ...rest, expansion: step.expansion }, status);
      const n = step.expansion.reduce((sum, x) => sum + x.episodes.length, 0);
      await this.event(u.standIn, {
        type: "Normal",
        reason: "PlaylistsExpanded",
        message: `${n} episode(s) from ${step.expansion.length} playlist(s)`,
      });
      return;
    }
    const message = failureMessage(step.code, step.message);
    const stalled = {
      type: "Stalled" as const,
      status: "True" as const,
      reason: "ListingFailed",
      message,
      observedGeneration: generation,
    };
    const conditions = setCondition(
      setCondition(status.conditions, stalled, this.now()),
      { type: "Ready", status: "False", reason: "ListingFailed", message, observedGeneration: generation },
      this.now(),
    );
    const { activity: _listing, ...rest } = next;
    this.deferStatus(key, raw, { ...rest, phase: "Failed", completedAt: this.now().toISOString(), conditions }, status);
    await this.event(u.standIn, { type: "Warning", reason: "ListingFailed", message });
    if (this.writes.of(key).markFinished(raw.metadata.uid ?? key)) this.d.onFinished?.("Failed");
  }

  /** The CRD's schema should make an invalid VideoJob impossible; report it instead of looping on it. */
  private async reportInvalid(raw: KubeObject, problem: string): Promise<void> {
    const status = (raw as { status?: VideoJobStatus }).status ?? {};
    const generation = raw.metadata.generation ?? 0;
    const stalled = {
      type: "Stalled" as const,
      status: "True" as const,
      reason: "Invalid",
      message: problem.slice(0, 2000),
      observedGeneration: generation,
    };
    const conditions = setCondition(
      setCondition(status.conditions, stalled, this.now()),
      { type: "Ready", status: "False", reason: "Invalid", observedGeneration: generation },
      this.now(),
    );
    await this.writeStatus(raw, status, { ...status, phase: "Failed", observedGeneration: generation, conditions });
  }

  /** The VideoJob's children from the informers, plus the Jobs we created that the watch has not delivered. */
  private async observe(key: string, vj: VideoJob): Promise<Observed> {
    const [namespace = "default", name = ""] = key.split("/");
    const known = this.d.jobs.byIndex(key) as unknown as ObservedJob[];
    // Jobs this process created that the watch has not delivered yet count as existing: a
    // reconcile in that window would otherwise plan them again (a 409 and a wrong Event).
    const unseen = this.writes.peek(key)?.unseen((job) => this.d.jobs.get(`${namespace}/${job}`) !== undefined) ?? [];
    return {
      jobs: unseen.length ? [...known, ...unseen] : known,
      pods: this.d.pods.byIndex(key) as unknown as ObservedPod[],
      nodes: this.nodes(),
      namespaceActive: this.namespaceActive(namespace, name),
      progress: await this.d.progress?.(key, vj.spec.episodes.length),
      ...(await this.reused(vj, known, unseen)),
    };
  }

  /** Finished work of other VideoJobs copied for the episodes nothing has started. */
  private async reused(vj: VideoJob, known: ObservedJob[], unseen: ObservedJob[]): Promise<Pick<Observed, "reused">> {
    const todo = this.d.reuse ? episodesToDo(vj, [...known, ...unseen]) : [];
    if (!this.d.reuse || !todo.length) return {};
    const reused = await this.d.reuse(vj, todo);
    return reused.size ? { reused } : {};
  }

  /** Carries a decision out: finalizer, Jobs, deletions, Events, staging, then the status. */
  private async carryOut(key: string, raw: KubeObject, vj: VideoJob, decision: Decision, span?: Span): Promise<void> {
    const namespace = key.split("/")[0] ?? "default";
    if (decision.finalizer === "add") {
      await this.setFinalizers(vj, [...(vj.metadata.finalizers ?? []), FINALIZER]);
    }
    if (decision.create.length && this.d.workerAccess) await this.d.workerAccess(namespace);
    await this.createJobs(key, decision.create, span);
    for (const jobName of decision.delete) {
      // Deleted by an earlier reconcile whose deletion the watch has not shown yet: nothing to send.
      if (!this.writes.of(key).beginDelete(jobName)) continue;
      try {
        await this.d.api.delete("batch/v1", "Job", namespace, jobName);
      } catch (e) {
        this.writes.of(key).deleteFailed(jobName);
        throw e;
      }
    }
    for (const e of decision.events) await this.event(vj, e);
    if (decision.cleanupStaging) {
      const r = await cleanupStaging(this.d.api, vj, decision.cleanupStaging);
      this.d.log.child({ videojob: key }).info({ removed: r.removed, skipped: r.skipped }, "staging cleaned");
      if (r.skipped) await this.event(vj, { type: "Warning", reason: "StagingKept", message: r.skipped });
    }
    if (decision.finalizer === "remove") {
      await this.setFinalizers(
        vj,
        (vj.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
      );
      return;
    }
    this.deferStatus(key, raw, keepExpiredOutput(vj.status, decision.status), vj.status);
    const was = vj.status?.phase;
    const now = decision.status.phase;
    // Counted once per VideoJob: a second reconcile can still see the status from before the
    // first one's write (the watch has not delivered it yet) and write the final phase again.
    if (now && FINAL.has(now) && !(was && FINAL.has(was)) && this.writes.of(key).markFinished(vj.metadata.uid ?? key)) {
      this.d.onFinished?.(now);
    }
  }

  /**
   * Creates the planned Jobs that the informer does not have. A Job is written once, at creation:
   * its template is immutable, so there is never an update to apply. POST with our field manager
   * owns the same fields as an apply at about half the apiserver's cost (bench: 8,000 Jobs,
   * 15.8-17.9 vs 27.8-30.5 CPU-s); a twin created from a reconcile that ran before the watch
   * delivered the first answers 409 and counts as done.
   */
  private async createJobs(key: string, planned: KubeJob[], span?: Span): Promise<void> {
    const fresh = planned.filter((job) => {
      const existing = this.d.jobs.get(`${job.metadata.namespace}/${job.metadata.name}`);
      // Jobs are immutable once created; an equal hash means nothing to write either way.
      if (existing && existing.metadata.annotations?.[SPEC_HASH] !== job.metadata.annotations[SPEC_HASH]) {
        this.d.log
          .child({ videojob: key })
          .debug(
            { job: job.metadata.name },
            "planned Job differs from the running one; kept (spec edits apply to episodes not started)",
          );
      }
      return !existing;
    });
    span?.setAttribute("reel.jobs.created", fresh.length);
    // The book is asked afresh after each await: the watch may have settled (and dropped) the entry.
    await inParallel(fresh, CREATE_CONCURRENCY, async (job) => {
      this.writes.of(key).beginCreate(job.metadata.name);
      try {
        await this.gate.create(() => this.d.api.create(job as unknown as KubeObject));
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 409)) {
          this.writes.of(key).createFailed(job.metadata.name);
          throw e;
        }
      }
      this.writes.of(key).createDone({ metadata: { ...job.metadata }, spec: job.spec as ObservedJob["spec"] });
    });
  }

  private now(): Date {
    return this.d.now?.() ?? new Date();
  }

  private nodes(): ObservedNode[] {
    const out: ObservedNode[] = [];
    for (const n of this.d.nodes.values()) {
      out.push({
        name: n.metadata.name,
        labels: n.metadata.labels ?? {},
        unschedulable: (n as { spec?: { unschedulable?: boolean } }).spec?.unschedulable === true,
      });
    }
    return out;
  }

  private async setFinalizers(vj: VideoJob, finalizers: string[]) {
    try {
      await this.d.api.patch(VJ_API, "VideoJob", vj.metadata.namespace, vj.metadata.name, {
        // The resourceVersion makes this conditional: a concurrent change answers 409 and we retry.
        metadata: { finalizers, resourceVersion: vj.metadata.resourceVersion },
      });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return;
      throw e;
    }
  }

  /**
   * Queues the status write behind Job creation. The patch is computed when it is sent, against the
   * status the informer then holds (what the apiserver has), so a write that waited is still a
   * correct merge patch and one that became unnecessary is not sent.
   */
  private deferStatus(key: string, raw: KubeObject, next: VideoJobStatus, decidedFrom?: VideoJobStatus): void {
    const { namespace, name, uid } = raw.metadata;
    // Unchanged (against what it already is or is about to be): a reconcile with nothing to change writes nothing.
    if (specHash(decidedFrom ?? (raw as { status?: unknown }).status ?? {}) === specHash(next)) return;
    let final: VideoJobStatus = next;
    this.statuses.write(key, {
      status: next,
      patch: () => {
        const live = this.d.videojobs.get(key) as (KubeObject & { status?: VideoJobStatus }) | undefined;
        if (!live || live.metadata.uid !== uid) return undefined; // gone, or a new VideoJob of that name
        const current = live.status ?? {};
        final = keepExpiredOutput(current, next);
        return specHash(current) === specHash(final) ? undefined : mergePatch(current, final);
      },
      send: async (patch) => {
        const live = this.d.videojobs.get(key);
        const next = live
          ? { ...live, status: keepExpiredOutput((live as { status?: VideoJobStatus }).status, final) }
          : undefined;
        if (next) this.writes.of(key).expectEcho(echoPrint(next));
        try {
          await this.d.api.patchStatus(VJ_API, "VideoJob", namespace, name, patch);
          this.writes.of(key).statusSent(live?.metadata.resourceVersion, final);
        } catch (e) {
          this.writes.of(key).statusFailed();
          throw e;
        }
      },
    });
  }

  /** The status this process has queued or sent for the VideoJob and the informer does not show yet. */
  private ownStatus(key: string, raw: KubeObject): VideoJobStatus | undefined {
    const waiting = this.statuses.waiting(key) as VideoJobStatus | undefined;
    const ours = this.writes.peek(key)?.status(raw.metadata.resourceVersion, waiting) ?? waiting;
    this.writes.tidy(key);
    return ours;
  }

  /** Writes status only when it differs from what the VideoJob already reports. */
  private async writeStatus(raw: KubeObject, current: VideoJobStatus, next: VideoJobStatus) {
    if (specHash(current) === specHash(next)) return;
    try {
      await this.d.api.patchStatus(
        VJ_API,
        "VideoJob",
        raw.metadata.namespace,
        raw.metadata.name,
        mergePatch(current, next),
      );
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return;
      throw e;
    }
  }

  private async event(vj: VideoJob, e: KubeEvent) {
    this.events.record(vj, e, this.now());
  }

  /** An Event about a VideoJob from outside a reconcile (retention), through the same recorder. */
  recordEvent(vj: VideoJob, e: KubeEvent): void {
    this.events.record(vj, e, this.now());
  }

  /** Events still being sent (tests and shutdown wait for them). */
  async flushEvents(timeoutMs = 5000): Promise<void> {
    await this.statuses.flush(timeoutMs);
    await this.events.flush(timeoutMs);
  }
}
