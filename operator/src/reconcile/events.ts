// Kubernetes Events, sent beside the reconciles rather than inside them (as client-go's recorder
// does): an Event explains a decision, it is not state, so a reconcile never waits on one or fails
// because of one, and Job creation is not queued behind explanations. Bounded: under overload the
// newest explanations are dropped and counted, never the work.
import type { VideoJob } from "@reel/crds";
import type { Logger } from "pino";
import type { KubeApi } from "../kube/api.ts";
import type { KubeEvent } from "./decide.ts";
import type { CreationGate } from "./priority.ts";

const VJ_API = "reel.dev/v1alpha1";

export class EventRecorder {
  private readonly api: KubeApi;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private readonly queue: Array<() => Promise<void>> = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  dropped = 0;

  private readonly gate?: CreationGate;

  constructor(api: KubeApi, log: Logger, o: { concurrency?: number; maxQueued?: number; gate?: CreationGate } = {}) {
    this.api = api;
    this.log = log;
    this.concurrency = o.concurrency ?? 2;
    this.maxQueued = o.maxQueued ?? 5000;
    if (o.gate) this.gate = o.gate;
  }

  record(vj: VideoJob, e: KubeEvent, now: Date): void {
    if (this.queue.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    const ns = vj.metadata.namespace ?? "default";
    this.queue.push(async () => {
      // Job creation first (priority.ts): an explanation waits while work is being created.
      await this.gate?.idle();
      try {
        await this.api.create({
          apiVersion: "v1",
          kind: "Event",
          metadata: {
            name: `${vj.metadata.name}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 8)}`,
            namespace: ns,
          },
          involvedObject: {
            apiVersion: VJ_API,
            kind: "VideoJob",
            name: vj.metadata.name,
            namespace: ns,
            uid: vj.metadata.uid,
          },
          type: e.type,
          reason: e.reason,
          message: e.message,
          source: { component: "reel-operator" },
          firstTimestamp: now.toISOString(),
          lastTimestamp: now.toISOString(),
          count: 1,
        });
      } catch (err) {
        this.log.warn({ err: (err as Error).message, reason: e.reason }, "event not recorded");
      }
    });
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length) {
      const task = this.queue.shift() as () => Promise<void>;
      this.running++;
      void task().finally(() => {
        this.running--;
        this.pump();
        if (this.running === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  /** Resolves when every queued event was sent, or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
