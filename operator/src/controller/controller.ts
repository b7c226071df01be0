// The controller: informers for VideoJobs, their Jobs and Pods, and Nodes feed one work queue of
// VideoJob keys; the reconciler plans and applies. Started by the leader only.
import type { Tracing } from "@reel/crds/tracing";
import type { Logger } from "pino";
import type { KubeApi } from "../kube/api.ts";
import { GVK, Informer, objectKey } from "../kube/informer.ts";
import type { Metrics } from "../metrics.ts";
import { MANAGED_BY, VIDEOJOB_LABEL } from "../plan/jobs.ts";
import type { DecideSettings } from "../reconcile/decide.ts";
import type { LiveProgress } from "../reconcile/observed.ts";
import { Reconciler } from "../reconcile/reconciler.ts";
import { type ReuseDeps, reuseFinishedEpisodes } from "../reuse/reuse.ts";
import type { RetentionSettings } from "../retention/due.ts";
import { removeOutput } from "../retention/outputs.ts";
import { RetentionSweeper } from "../retention/sweeper.ts";
import { WorkQueue } from "./queue.ts";

export interface ControllerOptions {
  api: KubeApi;
  log: Logger;
  metrics: Metrics;
  settings: DecideSettings;
  namespace?: string;
  workers: number;
  /** Overall reconciles per second and burst. */
  rate?: { perSec: number; burst: number };
  resyncSeconds: number;
  stallSeconds: number;
  progress?: (key: string, episodes: number) => Promise<LiveProgress | undefined>;
  /** Makes the namespace's worker Redis user before its Jobs are created (operator/src/redis/). */
  workerAccess?: (namespace: string) => Promise<void>;
  /** REEL_OUTPUT_RETENTION / REEL_FINISHED_RETENTION; nothing is deleted when absent. */
  retention?: RetentionSettings;
  /** OpenTelemetry export, when configured (a span per reconcile). */
  tracing?: Tracing;
}

/**
 * A watch problem in one readable line: the first line of an error's message (kubernetes-fluent-client
 * puts a whole response, header arrays included, in some), or the HTTP status of a response.
 */
export function watchDetail(detail: unknown): string {
  const status =
    (detail as { status?: unknown; statusCode?: unknown } | undefined)?.status ??
    (detail as { statusCode?: unknown } | undefined)?.statusCode;
  const text =
    detail instanceof Error
      ? detail.message
      : typeof status === "number"
        ? `HTTP ${status}`
        : typeof detail === "string"
          ? detail
          : detail === undefined || detail === null
            ? ""
            : JSON.stringify(detail);
  const line = (text.split("\n")[0] ?? "").trim();
  return line.length > 240 ? `${line.slice(0, 240)}…` : line;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly videojobs: Informer;
  readonly jobs: Informer;
  readonly pods: Informer;
  readonly nodes: Informer;
  private readonly reconciler: Reconciler;
  private readonly retention: RetentionSweeper;
  private resync?: NodeJS.Timeout;
  private readonly o: ControllerOptions;
  private ready = false;

  constructor(o: ControllerOptions) {
    this.o = o;
    const { log, metrics } = o;
    const ownerKey = (obj: { metadata: { namespace?: string; labels?: Record<string, string> } }) => {
      const vj = obj.metadata.labels?.[VIDEOJOB_LABEL];
      return vj ? `${obj.metadata.namespace}/${vj}` : undefined;
    };
    const watchEvent = (resource: string) => (event: string, detail?: unknown) => {
      metrics.watchEvents.inc({ resource, event });
      if (
        event !== "list" &&
        event !== "connect" &&
        event !== "cache_miss" &&
        event !== "init_cache_miss" &&
        event !== "inc_resync_failure_count"
      ) {
        log.warn({ resource, event, detail: watchDetail(detail) }, "watch");
      }
    };
    const common = {
      namespace: o.namespace || undefined,
      stallSeconds: o.stallSeconds,
      relistSeconds: Math.max(60, o.resyncSeconds * 2),
    };
    this.videojobs = new Informer({
      ...common,
      gvk: GVK.VideoJob,
      onChange: (obj, change) => {
        if (change === "deleted") this.reconciler.videoJobDeleted(obj.metadata.uid, objectKey(obj));
        // The reconciler's named filter (drop-own-echoes) in front of the queue, as controller-runtime's predicates.
        if (this.reconciler.filter.videoJob(obj, change)) this.queue.add(objectKey(obj));
        this.retention.changed(obj, change);
      },
      onWatchEvent: watchEvent("videojobs"),
    });
    this.jobs = new Informer({
      ...common,
      gvk: GVK.Job,
      labels: { ...MANAGED_BY },
      indexBy: ownerKey,
      onChange: (obj, change) => {
        const pass = this.reconciler.filter.job(obj, change);
        this.reconciler.jobChanged(obj, change);
        const k = ownerKey(obj);
        if (k && pass) this.queue.add(k);
        // A finished Job frees a slot of its namespace's cap: the namespace's waiting jobs get a turn.
        if (o.settings.maxRunningPerNamespace > 0 && change !== "added")
          this.requeueNamespace(obj.metadata.namespace ?? "");
      },
      onWatchEvent: watchEvent("jobs"),
    });
    this.pods = new Informer({
      ...common,
      gvk: GVK.Pod,
      labels: { ...MANAGED_BY },
      indexBy: ownerKey,
      onChange: (obj) => {
        const k = ownerKey(obj);
        if (k) this.queue.add(k);
      },
      onWatchEvent: watchEvent("pods"),
    });
    this.nodes = new Informer({
      stallSeconds: o.stallSeconds,
      relistSeconds: common.relistSeconds,
      gvk: GVK.Node,
      // Placement reads node labels at planning time; new capability labels matter to jobs still waiting.
      onChange: () => {},
      onWatchEvent: watchEvent("nodes"),
    });
    this.reconciler = new Reconciler({
      api: o.api,
      videojobs: this.videojobs,
      jobs: this.jobs,
      pods: this.pods,
      nodes: this.nodes,
      settings: o.settings,
      log,
      progress: o.progress,
      ...(o.workerAccess ? { workerAccess: o.workerAccess } : {}),
      onFinished: (phase) => metrics.finished.inc({ phase }),
      requeue: (key) => this.queue.add(key),
      ...(o.tracing ? { tracing: o.tracing } : {}),
      reuse: (vj, todo) => reuseFinishedEpisodes(this.reuseDeps(o, log), vj, todo),
    });
    this.retention = new RetentionSweeper({
      api: o.api,
      videojobs: this.videojobs,
      settings: o.retention ?? {},
      log,
      event: (vj, e) => this.reconciler.recordEvent(vj, e),
      onDeleted: (what) => metrics.retentionDeletions.inc({ what }),
      removeOutput: (vj) => removeOutput(o.api, vj),
    });
    this.queue = new WorkQueue(
      async (key) => {
        const end = metrics.reconcileDuration.startTimer();
        try {
          return await this.reconciler.reconcile(key);
        } finally {
          end();
        }
      },
      { workers: o.workers, ...(o.rate ? { rate: o.rate } : {}), onDepth: (d) => metrics.queueDepth.set(d) },
      (key, err, retryInMs) => {
        const code =
          (err as { code?: string; reason?: string }).code ?? (err as { reason?: string }).reason ?? "unknown";
        metrics.reconcileErrors.inc({ code: String(code) });
        log.warn({ videojob: key, err: (err as Error).message, retryInMs }, "reconcile failed; retrying with backoff");
      },
    );
  }

  /** What reuse of other VideoJobs' finished episodes reads: their statuses, the job's bucket, the sources. */
  private reuseDeps(o: ControllerOptions, log: ControllerOptions["log"]): ReuseDeps {
    return {
      api: o.api,
      videojobs: () => this.videojobs.values(),
      egressAllow: o.settings.egressAllow,
      ...(o.settings.installation ? { installation: o.settings.installation } : {}),
      log,
      now: () => new Date(),
    };
  }

  private requeueNamespace(ns: string) {
    for (const vj of this.videojobs.values()) {
      if (vj.metadata.namespace === ns) this.queue.add(objectKey(vj));
    }
  }

  get isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    // Children first: a VideoJob reconciled before its Jobs are known would plan them again.
    await Promise.all([this.nodes.start(), this.jobs.start(), this.pods.start()]);
    await Promise.all([this.nodes.hasSynced(), this.jobs.hasSynced(), this.pods.hasSynced()]);
    this.queue.start();
    await this.videojobs.start();
    await this.videojobs.hasSynced();
    this.ready = true;
    this.retention.start();
    this.resync = setInterval(() => {
      for (const vj of this.videojobs.values()) this.queue.add(objectKey(vj));
    }, this.o.resyncSeconds * 1000);
    this.o.log.info({ videojobs: this.videojobs.store.size, jobs: this.jobs.store.size }, "controller started");
  }

  /** Resolves when nothing is queued or running and every Event was sent. */
  async idle(): Promise<void> {
    await this.queue.idle();
    await this.reconciler.flushEvents();
  }

  /** Every VideoJob, queued again (what the periodic resync does). */
  resyncAll(): void {
    for (const vj of this.videojobs.values()) this.queue.add(objectKey(vj));
  }

  async stop(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    await this.retention.stop();
    for (const i of [this.videojobs, this.jobs, this.pods, this.nodes]) i.stop();
    await this.queue.stop();
    await this.reconciler.flushEvents(2000);
  }
}
