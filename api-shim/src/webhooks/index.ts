// Webhook delivery for VideoJob phase changes (api-shim/API.md, "Webhooks"): checked at
// registration, recorded in PostgreSQL, sent signed (Standard Webhooks) through the egress guard,
// retried with backoff under the same webhook-id, resumed after a restart.
//
// The flow is one loop: onPhaseChange inserts a row due now and wakes the loop; the loop claims due
// rows (a lease, so several shim replicas share the work), makes one attempt per row, and writes
// the result and when the row is due again. Nothing is kept only in memory except the full URL of
// a delivery made here whose URL held credentials (see store.ts), so a crash loses no delivery.
import { randomUUID } from "node:crypto";
import { ReelError } from "@reel/crds";
import { type EgressProxyHandle, startEgressProxy } from "@reel/native";
import type { Logger } from "pino";
import { Counter, Registry } from "prom-client";
import { parseAllowList } from "./address.ts";
import { checkWebhookUrl, isRedacted, type Lookup, parseWebhookUrl, redactUrl, systemLookup } from "./guard.ts";
import { type AttemptResult, decide, defaultRetryPolicy, type Outcome, type RetryPolicy } from "./retry.ts";
import { post } from "./send.ts";
import { isRegistrableSecret, parseSecret, sign } from "./signature.ts";
import {
  type ClaimedDelivery,
  claimDue,
  insertDelivery,
  type NewDelivery,
  pendingSummary,
  recordAttempt,
  release,
  type WebhookDb,
} from "./store.ts";

export { type AllowList, classifyIp, parseAllowList } from "./address.ts";
export { checkWebhookUrl, redactUrl } from "./guard.ts";
export type { Outcome, RetryPolicy } from "./retry.ts";
export { parseSecret, sign } from "./signature.ts";
export { postgresJsDb, type WebhookDb } from "./store.ts";

/** spec.notification.webhook of a VideoJob. */
export interface WebhookSpec {
  url: string;
  secretRef?: { name: string; key: string };
}

export interface SecretRef {
  name: string;
  key: string;
}

/** One phase change of a VideoJob, as the shim's watch sees it. */
export interface PhaseChange {
  namespace: string;
  name: string;
  phase: string;
  previousPhase?: string | null;
  progress?: number;
  output?: unknown;
  error?: unknown;
  /** The job's spec.notification?.webhook; nothing is sent without one. */
  webhook?: WebhookSpec;
  /**
   * metadata.uid and metadata.resourceVersion of the object that showed the change. Every replica's
   * watch sees the same pair for the same change, so they make the change's delivery key: the first
   * replica to record it sends it, the others find it recorded.
   */
  uid?: string;
  resourceVersion?: string;
}

export interface WebhooksDeps {
  db: WebhookDb;
  /**
   * The value of a key of a Secret in the job's namespace; undefined when the Secret or the key does
   * not exist; throws when the Kubernetes API cannot be asked.
   */
  readSecret(namespace: string, ref: SecretRef): Promise<string | undefined>;
  /** CIDRs (or IPs) opened past the egress guard, from the operator's configuration. */
  allow?: string[];
  log: Logger;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Where reel_shim_webhook_deliveries_total and reel_shim_webhook_attempts_total are registered. */
  registry?: Registry;
  /**
   * The job's current webhook spec, for resuming after a restart a delivery whose URL held
   * credentials or a query (only the redacted URL is stored). Without it such a delivery fails.
   */
  resolveWebhook?(namespace: string, job: string): Promise<WebhookSpec | undefined>;
  retry?: Partial<RetryPolicy>;
  /** Until the tunnel (and TLS) is up; default 5 s. */
  connectTimeoutMs?: number;
  /** For the whole attempt, answer included; default 15 s. */
  totalTimeoutMs?: number;
  /** How often due deliveries are looked for (other replicas' and retries); default 1 s. */
  pollIntervalMs?: number;
  /** Attempts in flight at once; default 8. */
  concurrency?: number;
  /** Name resolution for the registration check; the system resolver by default. */
  lookup?: Lookup;
  /** Extra trust anchors for https endpoints (tests). */
  ca?: string | Buffer | (string | Buffer)[];
  random?: () => number;
}

export interface Webhooks {
  /** Throws REEL_EGRESS_DENIED, REEL_UNSUPPORTED_SCHEME or REEL_WEBHOOK_INVALID (all 400s). */
  validateRegistration(
    namespace: string,
    spec: { notification?: { webhook?: WebhookSpec | undefined } | undefined },
  ): Promise<void>;
  onPhaseChange(evt: PhaseChange): void;
  /** Stops the loop; attempts in flight are cut and their rows left due for the next start. */
  stop(): Promise<void>;
  /** Resolves once nothing is pending in webhook_deliveries and nothing is in flight here. */
  drain(): Promise<void>;
}

const EVENT_TYPE = "videojob.phase";
/** Phase changes held in memory while PostgreSQL is down; beyond this the oldest are dropped. */
const MAX_UNSAVED = 10_000;

function counter(registry: Registry, name: string, help: string, label: string): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames: [label], registers: [registry] });
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createWebhooks(deps: WebhooksDeps): Webhooks {
  const { db, readSecret } = deps;
  const log = deps.log.child({ component: "webhooks" });
  const clock = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const lookup = deps.lookup ?? systemLookup;
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...deps.retry };
  const connectTimeoutMs = deps.connectTimeoutMs ?? 5_000;
  const totalTimeoutMs = deps.totalTimeoutMs ?? 15_000;
  const pollMs = deps.pollIntervalMs ?? 1_000;
  const concurrency = deps.concurrency ?? 8;
  // Longer than an attempt can take (the Secret read, the tunnel, the answer), so a row is claimed
  // again only after its attempt is surely over, or its replica gone.
  const leaseMs = 2 * (connectTimeoutMs + totalTimeoutMs) + 30_000;
  const allow = deps.allow ?? [];
  const allowList = parseAllowList(allow);

  const registry = deps.registry ?? new Registry();
  const deliveries = counter(
    registry,
    "reel_shim_webhook_deliveries_total",
    "Webhook deliveries by final outcome (delivered, gone, rejected, denied, exhausted, invalid).",
    "outcome",
  );
  const attemptsTotal = counter(
    registry,
    "reel_shim_webhook_attempts_total",
    "Webhook delivery attempts by result (2xx, 3xx, 4xx, 5xx, timeout, network, denied, unsendable).",
    "result",
  );
  for (const outcome of ["delivered", "gone", "rejected", "denied", "exhausted", "invalid"] satisfies Outcome[]) {
    deliveries.inc({ outcome }, 0);
  }

  // One proxy for the sender's life: it holds the guard and the operator's allowlist.
  const proxy: Promise<EgressProxyHandle> = startEgressProxy({ allow, connectTimeoutMs });
  proxy.catch((err) => log.error({ err: message(err) }, "egress proxy did not start; webhooks cannot be sent"));

  const stopping = new AbortController();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeAt = Number.POSITIVE_INFINITY;
  let ticking: Promise<void> | undefined;
  let again = false;
  let failing = false;
  const active = new Map<string, Promise<void>>();
  const writes = new Set<Promise<void>>();
  /** Recorded phase changes whose insert failed (PostgreSQL down); retried by the loop. */
  const unsaved: NewDelivery[] = [];
  /** The full spec of deliveries created here whose URL is stored redacted; until they finish. */
  const specs = new Map<string, WebhookSpec>();

  function wake(at: number): void {
    if (stopped || at >= wakeAt) return;
    clearTimeout(timer);
    wakeAt = at;
    timer = setTimeout(
      () => {
        wakeAt = Number.POSITIVE_INFINITY;
        void tick();
      },
      Math.max(0, at - clock()),
    );
    timer.unref();
  }

  function tick(): Promise<void> {
    if (ticking) {
      again = true;
      return ticking;
    }
    ticking = (async () => {
      do {
        again = false;
        if (stopped) return;
        await flushUnsaved();
        const free = concurrency - active.size;
        if (free <= 0) return;
        const now = clock();
        const claimed = await claimDue(db, new Date(now), new Date(now + leaseMs), free);
        for (const d of claimed) start(d);
      } while (again);
    })()
      .then(() => {
        if (failing) log.info("webhook deliveries can be looked up again");
        failing = false;
      })
      .catch((err) => {
        // Once per outage (the shim starts before PostgreSQL is migrated): warn, then keep quiet.
        if (!failing) log.warn({ err: message(err) }, "cannot look for due webhook deliveries; retrying");
        failing = true;
      })
      .finally(() => {
        ticking = undefined;
        wake(clock() + pollMs);
      });
    return ticking;
  }

  async function flushUnsaved(): Promise<void> {
    while (unsaved.length > 0) {
      const d = unsaved[0] as NewDelivery;
      try {
        if (await insertDelivery(db, d)) log.info({ delivery: d.id }, "webhook delivery recorded after a retry");
      } catch (err) {
        // Still failing: keep it, and let the claim below try (and log) on its own.
        log.debug({ err: message(err) }, "webhook delivery still not recorded");
        return;
      }
      unsaved.shift();
    }
  }

  function start(d: ClaimedDelivery): void {
    const p = attempt(d)
      .catch((err) => log.error({ delivery: d.id, err: message(err) }, "webhook attempt not recorded"))
      .finally(() => {
        active.delete(d.id);
        wake(clock());
      });
    active.set(d.id, p);
  }

  /** The URL to send to: the full one when this replica has it or nothing was redacted. */
  async function target(d: ClaimedDelivery): Promise<URL | undefined> {
    const spec = specs.get(d.id);
    if (spec) return new URL(spec.url);
    if (!d.urlRedacted) return new URL(d.url);
    const current = await deps.resolveWebhook?.(d.namespace, d.job);
    if (current && redactUrl(new URL(current.url)) === d.url) return new URL(current.url);
    return undefined;
  }

  async function send(d: ClaimedDelivery): Promise<AttemptResult | "aborted"> {
    const url = await target(d);
    if (!url) {
      return {
        kind: "unsendable",
        final: true,
        message:
          "REEL_WEBHOOK_INVALID: the webhook URL held credentials or a query, which are not stored, and the job's spec no longer has it",
      };
    }
    const headers: Record<string, string> = { "webhook-id": d.id };
    let key: Buffer | undefined;
    if (d.secretName && d.secretKey) {
      const ref = `Secret ${d.namespace}/${d.secretName} key ${d.secretKey}`;
      let value: string | undefined;
      try {
        value = await readSecret(d.namespace, { name: d.secretName, key: d.secretKey });
      } catch (err) {
        return { kind: "unsendable", final: false, message: `cannot read ${ref}: ${message(err)}` };
      }
      // Missing may be temporary (the Secret is being replaced): retried until attempts run out.
      if (value === undefined)
        return { kind: "unsendable", final: false, message: `REEL_WEBHOOK_INVALID: ${ref} does not exist` };
      try {
        key = parseSecret(value);
      } catch (err) {
        return { kind: "unsendable", final: true, message: `REEL_WEBHOOK_INVALID: ${ref}: ${message(err)}` };
      }
    }
    // A fresh timestamp (and so signature) per attempt: receivers refuse old timestamps (5 min).
    const timestamp = Math.floor(clock() / 1000);
    headers["webhook-timestamp"] = String(timestamp);
    if (key) headers["webhook-signature"] = sign(key, d.id, timestamp, d.payload);
    const handle = await proxy;
    return post(url, d.payload, headers, {
      proxy: handle.url,
      connectTimeoutMs,
      totalTimeoutMs,
      signal: stopping.signal,
      ...(deps.ca ? { ca: deps.ca } : {}),
    });
  }

  async function attempt(d: ClaimedDelivery): Promise<void> {
    const n = d.attempts + 1;
    const started = clock();
    const dlog = log.child({ delivery: d.id, videojob: `${d.namespace}/${d.job}`, url: d.url, attempt: n });
    let result: AttemptResult | "aborted";
    try {
      result = await send(d);
    } catch (err) {
      result = { kind: "unsendable", final: false, message: message(err) };
    }
    if (result === "aborted") {
      await release(db, d.id, new Date(clock()));
      dlog.info("webhook attempt cut by shutdown; due again at the next start");
      return;
    }
    const decision = decide(result, n, policy, random);
    const now = clock();
    const statusCode = result.kind === "response" ? result.status : null;
    await recordAttempt(db, {
      id: d.id,
      attempt: n,
      startedAt: new Date(started),
      durationMs: now - started,
      statusCode,
      error: decision.status === "delivered" ? null : decision.error,
      status: decision.status,
      nextAttemptAt: decision.status === "pending" ? new Date(now + decision.delayMs) : null,
      now: new Date(now),
    });
    attemptsTotal.inc({ result: result.kind === "response" ? `${Math.floor(result.status / 100)}xx` : result.kind });
    if (decision.status === "pending") {
      dlog.info({ statusCode, error: decision.error, retryInMs: decision.delayMs }, "webhook attempt failed; retrying");
      wake(now + decision.delayMs);
      return;
    }
    specs.delete(d.id);
    deliveries.inc({ outcome: decision.outcome });
    if (decision.status === "delivered") dlog.info({ statusCode }, "webhook delivered");
    else dlog.warn({ statusCode, outcome: decision.outcome, error: decision.error }, "webhook delivery failed");
  }

  function track(p: Promise<void>): void {
    writes.add(p);
    void p.finally(() => writes.delete(p));
  }

  // Resume what a previous run (or a replica that went away) left due.
  queueMicrotask(() => void tick());

  return {
    async validateRegistration(namespace, spec) {
      const hook = spec.notification?.webhook;
      if (!hook) return;
      await checkWebhookUrl(hook.url, allowList, lookup);
      if (hook.secretRef) {
        // One answer for a missing Secret, a missing key, an unreadable Secret and a bad value:
        // which of them it is would tell a caller what Secrets the namespace holds and how long.
        const { name, key } = hook.secretRef;
        const value = await readSecret(namespace, hook.secretRef).catch(() => undefined);
        if (value === undefined || !isRegistrableSecret(value)) {
          throw new ReelError(
            "REEL_WEBHOOK_INVALID",
            `secretRef ${name}/${key} is not a usable webhook secret: it must name a Secret in your namespace whose key holds whsec_ and the base64 of 24 to 64 random bytes`,
          );
        }
      }
    },

    onPhaseChange(evt) {
      const hook = evt.webhook;
      if (!hook) return;
      const videojob = `${evt.namespace}/${evt.name}`;
      if (stopped) {
        log.warn({ videojob, phase: evt.phase }, "webhook sender stopped; phase change not recorded");
        return;
      }
      let url: URL;
      try {
        url = parseWebhookUrl(hook.url);
      } catch (err) {
        log.warn({ videojob, err: message(err) }, "webhook URL unusable; phase change not sent");
        return;
      }
      const now = clock();
      const data: Record<string, unknown> = {
        job: evt.name,
        namespace: evt.namespace,
        phase: evt.phase,
        previousPhase: evt.previousPhase ?? null,
        progress: evt.progress ?? null,
      };
      if (evt.output !== undefined) data.output = evt.output;
      if (evt.error !== undefined) data.error = evt.error;
      const row: NewDelivery = {
        id: `msg_${randomUUID()}`,
        eventKey: [
          evt.namespace,
          evt.name,
          evt.uid ?? "",
          evt.resourceVersion ?? "",
          `${evt.previousPhase ?? ""}->${evt.phase}`,
        ].join("/"),
        namespace: evt.namespace,
        job: evt.name,
        eventType: EVENT_TYPE,
        url: redactUrl(url),
        urlRedacted: isRedacted(url),
        secretName: hook.secretRef?.name ?? null,
        secretKey: hook.secretRef?.key ?? null,
        payload: JSON.stringify({ type: EVENT_TYPE, timestamp: new Date(now).toISOString(), data }),
        now: new Date(now),
      };
      if (row.urlRedacted) specs.set(row.id, hook);
      track(
        insertDelivery(db, row)
          .then((inserted) => {
            if (inserted) wake(clock());
            else {
              specs.delete(row.id);
              log.debug({ videojob, phase: evt.phase }, "phase change already recorded (another replica)");
            }
          })
          .catch((err) => {
            if (unsaved.length >= MAX_UNSAVED) {
              const lost = unsaved.shift();
              log.error(
                { delivery: lost?.id, videojob: lost && `${lost.namespace}/${lost.job}` },
                "webhook lost: PostgreSQL down too long",
              );
            }
            unsaved.push(row);
            log.warn({ videojob, err: message(err) }, "cannot record webhook delivery; retrying");
          }),
      );
    },

    async stop() {
      stopped = true;
      clearTimeout(timer);
      stopping.abort();
      // A tick in progress may still start attempts (they see the abort and hand their rows back),
      // so it is awaited before the attempts are.
      await ticking;
      await Promise.allSettled([...writes]);
      await Promise.allSettled([...active.values()]);
      try {
        (await proxy).stop();
      } catch {
        // It never started; logged then.
      }
      if (unsaved.length > 0)
        log.error({ count: unsaved.length }, "phase changes never recorded; their webhooks are lost");
    },

    async drain() {
      for (;;) {
        await Promise.allSettled([...writes, ...active.values()]);
        if (stopped) return;
        await tick();
        if (active.size > 0 || writes.size > 0) continue;
        const { pending, nextDueAt } = await pendingSummary(db);
        if (pending === 0 && unsaved.length === 0) return;
        const wait = nextDueAt ? Math.min(Math.max(nextDueAt.getTime() - clock(), 5), pollMs) : pollMs;
        await new Promise((r) => setTimeout(r, wait));
      }
    },
  };
}
