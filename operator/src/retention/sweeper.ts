// The retention sweeper: carries out what due() asks, reading VideoJobs from the controller's
// informer cache (never listing the apiserver). One timer, set to the earliest time something comes
// due (capped, so a 30-day retention is looked at again hourly rather than trusted to one timer);
// every VideoJob change re-arms it when it brings that time closer. Runs only while this replica
// leads, as part of the controller.
//
// Per deletion: a Kubernetes Event on the VideoJob and reel_operator_retention_deletions_total{what}.
// A failure (Secret missing, S3 down) is logged, reported in a Warning Event and retried with
// backoff per VideoJob.
import { type VideoJob, VideoJob as VideoJobSchema } from "@reel/crds";
import type { Logger } from "pino";
import type { KubeApi, KubeObject } from "../kube/api.ts";
import type { KubeEvent } from "../reconcile/decide.ts";
import {
  type Due,
  due,
  humanDuration,
  type RetainedVideoJob,
  type RetentionAction,
  type RetentionSettings,
  storedFiles,
} from "./due.ts";

const VJ_API = "reel.dev/v1alpha1";
/** setTimeout overflows past ~24.8 days; look again at least hourly. */
const MAX_WAIT_MS = 3600_000;
const RETRY_FIRST_MS = 5_000;
const RETRY_MAX_MS = 600_000;

export interface SweeperOptions {
  api: KubeApi;
  /** The controller's VideoJob informer (its in-memory store). */
  videojobs: { values(): Iterable<KubeObject> };
  settings: RetentionSettings;
  log: Logger;
  /** Sends an Event about a VideoJob (the controller's recorder). */
  event: (vj: VideoJob, e: KubeEvent) => void;
  /** Counts a deletion: what is "output" or "videojob". */
  onDeleted: (what: "output" | "videojob") => void;
  /** Deletes the job's output objects (retention/outputs.ts); injectable for tests. */
  removeOutput: (vj: VideoJob) => Promise<{ removed: number }>;
  now?: () => number;
}

export class RetentionSweeper {
  private readonly o: SweeperOptions;
  private timer?: NodeJS.Timeout;
  private timerAt = Number.POSITIVE_INFINITY;
  private running = false;
  private again = false;
  private stopped = false;
  /** Actions carried out, by `${uid}/${action}`, until the watch shows their effect (or deletion). */
  private readonly done = new Set<string>();
  private readonly retry = new Map<string, { at: number; ms: number }>();
  private current?: Promise<void>;

  constructor(o: SweeperOptions) {
    this.o = o;
  }

  get enabled(): boolean {
    return this.o.settings.outputsSecs !== undefined || this.o.settings.finishedSecs !== undefined;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** First sweep over the (synced) cache. */
  start(): void {
    if (this.enabled) this.arm(0);
  }

  /** A VideoJob changed (from the informer): sweep sooner if it comes due sooner. */
  changed(obj: KubeObject, change: "added" | "modified" | "deleted"): void {
    if (!this.enabled || this.stopped) return;
    const uid = obj.metadata.uid ?? "";
    if (change === "deleted") {
      this.done.delete(`${uid}/expire-output`);
      this.done.delete(`${uid}/delete-videojob`);
      this.retry.delete(uid);
      return;
    }
    const d = this.dueOf(obj, this.now());
    if (d.actions.length) this.arm(0);
    else if (d.next !== undefined) this.arm(d.next - this.now());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current;
  }

  private dueOf(obj: KubeObject, now: number): Due {
    return due(obj as unknown as RetainedVideoJob, new Date(now), this.o.settings);
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    const wait = Math.min(Math.max(0, delayMs), MAX_WAIT_MS);
    const at = this.now() + wait;
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Number.POSITIVE_INFINITY;
      this.timer = undefined;
      this.current = this.sweep();
    }, wait);
    this.timer.unref?.();
  }

  /** One pass over the cache: everything due is done, then the timer is set to the next due time. */
  async sweep(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        let next = Number.POSITIVE_INFINITY;
        for (const obj of [...this.o.videojobs.values()]) {
          if (this.stopped) return;
          const now = this.now();
          const uid = obj.metadata.uid ?? `${obj.metadata.namespace}/${obj.metadata.name}`;
          const r = this.retry.get(uid);
          if (r && r.at > now) {
            next = Math.min(next, r.at);
            continue;
          }
          const d = this.dueOf(obj, now);
          if (d.next !== undefined) next = Math.min(next, d.next);
          for (const action of d.actions) {
            if (this.done.has(`${uid}/${action}`)) continue;
            try {
              await this.carryOut(obj as unknown as VideoJob, action);
              this.done.add(`${uid}/${action}`);
              this.retry.delete(uid);
            } catch (err) {
              const ms = Math.min(RETRY_MAX_MS, r ? r.ms * 2 : RETRY_FIRST_MS);
              this.retry.set(uid, { at: this.now() + ms, ms });
              next = Math.min(next, this.now() + ms);
              const message = `${action === "expire-output" ? "deleting the output" : "deleting the VideoJob"} failed, retrying in ${humanDuration(Math.ceil(ms / 1000))}: ${(err as Error).message}`;
              this.o.log.warn({ videojob: `${obj.metadata.namespace}/${obj.metadata.name}`, action }, message);
              this.o.event(obj as unknown as VideoJob, { type: "Warning", reason: "RetentionFailed", message });
              break; // the VideoJob is not deleted while its output could not be
            }
          }
        }
        if (Number.isFinite(next)) this.arm(next - this.now());
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  private async carryOut(vj: VideoJob, action: RetentionAction): Promise<void> {
    const { namespace, name, uid } = vj.metadata;
    const log = this.o.log.child({ videojob: `${namespace}/${name}` });
    const s = this.o.settings;
    if (action === "expire-output") {
      const files = storedFiles(vj.status);
      const location =
        files.length > 1 ? `${files[0]?.location} and ${files.length - 1} more` : (files[0]?.location ?? "");
      // The cache holds what the apiserver sent; the schema fills what the S3 code reads.
      const parsed = VideoJobSchema.safeParse(vj);
      if (!parsed.success) throw new Error(`the VideoJob does not parse: ${parsed.error.message.slice(0, 200)}`);
      const { removed } = await this.o.removeOutput(parsed.data);
      // The dead link goes from status; decide() keeps it gone (keepExpiredOutput).
      const expiredAt = new Date(this.now()).toISOString();
      const dead = { url: null, urlExpiresAt: null, expiredAt };
      // A merge patch replaces a list whole: the outputs are written again, each without its link.
      await this.o.api.patchStatus(VJ_API, "VideoJob", namespace, name, {
        ...(vj.status?.output ? { output: dead } : {}),
        ...(vj.status?.outputs
          ? { outputs: vj.status.outputs.map(({ url: _u, urlExpiresAt: _e, ...o }) => ({ ...o, expiredAt })) }
          : {}),
      });
      this.o.onDeleted("output");
      const message = `deleted the output ${location} and its staging (${removed} object(s)), ${humanDuration(s.outputsSecs ?? 0)} after the job finished (REEL_OUTPUT_RETENTION)`;
      log.info({ removed, location }, "output expired");
      this.o.event(vj, { type: "Normal", reason: "OutputExpired", message });
      return;
    }
    // The Event first: it names the VideoJob by uid and outlives it (events have their own TTL).
    this.o.event(vj, {
      type: "Normal",
      reason: "Expired",
      message: `deleting the VideoJob ${humanDuration(s.finishedSecs ?? 0)} after it finished (REEL_FINISHED_RETENTION); its finalizer removes the staging`,
    });
    await this.o.api.delete(VJ_API, "VideoJob", namespace, name, uid);
    this.o.onDeleted("videojob");
    log.info("finished VideoJob deleted");
  }
}
