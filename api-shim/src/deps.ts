// What the server is built from: real services in main.ts, the same in tests.
import type { VideoJobSpec } from "@reel/crds";
import type { Tracing } from "@reel/crds/tracing";
import type { KubeApi } from "@reel/operator/kube";
import type { Redis } from "ioredis";
import type { Job } from "./api/schemas.ts";
import type { Authenticator } from "./auth/authenticate.ts";
import type { Config } from "./config.ts";
import type { Database } from "./db/database.ts";
import type { JobCache, PhaseChange } from "./jobs/cache.ts";
import type { LiveStreams } from "./live/access.ts";
import type { JobEvents } from "./live/events.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/**
 * The webhook sender (api-shim/src/webhooks/, built beside this): registration is checked before
 * a job is created (REEL_EGRESS_DENIED refuses it), and it hears every phase change.
 */
export interface WebhookHooks {
  /** Throws REEL_EGRESS_DENIED, REEL_UNSUPPORTED_SCHEME or REEL_WEBHOOK_INVALID (400s). */
  validateRegistration(namespace: string, spec: Pick<VideoJobSpec, "notification">): Promise<void>;
  onPhaseChange(evt: PhaseChange): void;
  stop(): Promise<void>;
}

export interface ShimDeps {
  config: Config;
  log: Logger;
  db: Database;
  /** Commands (health, rate limits); subscriptions have their own connection. */
  redis: Redis;
  kube: KubeApi;
  cache: JobCache;
  events: JobEvents;
  /** Open live streams with the credentials that opened them (ended when access ends). */
  streams: LiveStreams;
  auth: Authenticator;
  metrics: Metrics;
  webhooks?: WebhookHooks;
  /** OpenTelemetry export, when an OTLP endpoint is configured: a span per request. */
  tracing?: Tracing;
  /** Called after a job's VideoJob was created. */
  onJobCreated?: (job: Job) => void;
}
