// Leader election on a coordination.k8s.io Lease, as client-go does it: the holder renews the
// lease every `renewMs`; a candidate takes it over only when it has not been renewed for the
// lease duration; every write carries the resourceVersion it read, so two replicas racing for
// the same lease cannot both win (the loser gets 409 Conflict). A leader that cannot renew in
// time steps down: the caller stops acting at once.
import { ApiError, type KubeApi, type KubeObject } from "../kube/api.ts";

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseSeconds: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (err: unknown) => void;
}

const microTime = (d: Date) => d.toISOString().replace("Z", "000Z");

export class LeaderElector {
  private readonly o: LeaderOptions;
  private leading = false;
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(o: LeaderOptions) {
    this.o = o;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stop campaigning; a leader gives the lease up so a standby can take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.o.api.get<Lease>("coordination.k8s.io/v1", "Lease", this.o.namespace, this.o.name);
      if (lease.spec?.holderIdentity === this.o.identity) {
        await this.o.api.update({
          ...lease,
          spec: { ...lease.spec, holderIdentity: "", renewTime: microTime(new Date(0)) },
        });
      }
    } catch (e) {
      this.o.onError?.(e);
    }
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const duration = this.o.leaseSeconds * 1000;
    try {
      const won = await this.tryAcquireOrRenew();
      if (won) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.o.onStartedLeading();
        }
      } else if (this.leading) this.stepDown();
    } catch (e) {
      this.o.onError?.(e);
      if (this.leading && Date.now() - this.lastRenew > duration * 0.8) this.stepDown();
    }
    // Renew well inside the duration; candidates poll at the same pace.
    this.schedule(Math.max(200, Math.floor(duration / 3)));
  }

  private stepDown() {
    this.leading = false;
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity, leaseSeconds } = this.o;
    const now = new Date();
    const lease = await api.find<Lease>("coordination.k8s.io/v1", "Lease", namespace, name);
    if (!lease) {
      try {
        await api.create({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: leaseSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const expired = now.getTime() - renewed > (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (holder !== identity && holder !== "" && !expired) return false;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: leaseSeconds,
        renewTime: microTime(now),
        ...(holder === identity
          ? {}
          : { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      await api.update(next); // carries lease.metadata.resourceVersion: 409 if someone else wrote first
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) return false;
      throw e;
    }
  }
}
