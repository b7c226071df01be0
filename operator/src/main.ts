// The operator process: config, logs, metrics, leader election, and the controller while leading.
import { startTracing } from "@reel/crds/tracing";
import { Controller } from "./controller/controller.ts";
import { LeaderElector } from "./controller/leader.ts";
import { type Config, parseConfig } from "./config.ts";
import { KubeApi, loadKubeConfig } from "./kube/api.ts";
import { createLogger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { redisProgressSource } from "./reconcile/progress.ts";
import { workerRedisUrl } from "./redis/acl.ts";
import { startWorkerAccess } from "./redis/start.ts";
import { startServer } from "./server.ts";

export interface RunningOperator {
  port: number;
  controller: () => Controller | undefined;
  isLeader: () => boolean;
  stop(): Promise<void>;
}

type Settings = ConstructorParameters<typeof Controller>[0]["settings"];

/** What every Job the operator plans takes from its configuration. */
function planSettings(config: Config): Settings {
  return {
    image: config.REEL_WORKER_IMAGE,
    backoffLimit: config.REEL_BACKOFF_LIMIT,
    activeDeadlineSeconds: config.REEL_ACTIVE_DEADLINE_SECONDS,
    ttlSecondsAfterFinished: config.REEL_TTL_AFTER_FINISHED_SECONDS,
    kueueQueue: config.REEL_KUEUE_QUEUE,
    egressAllow: config.REEL_EGRESS_ALLOW,
    ...(config.REEL_REDIS_URL
      ? config.REEL_REDIS_WORKER_ACL
        ? { redisUrl: workerRedisUrl(config.REEL_REDIS_URL), workerRedisAcl: true }
        : { redisUrl: config.REEL_REDIS_URL }
      : {}),
    maxRunningPerNamespace: config.REEL_MAX_RUNNING_PER_NAMESPACE,
    installation: config.installation,
    resources: config.resources,
    ...(config.REEL_KEEP_STAGING ? { keepStaging: true } : {}),
  };
}

/** The controller's options that come from configuration alone. */
function controllerOptions(config: Config) {
  return {
    namespace: config.REEL_WATCH_NAMESPACE,
    workers: config.REEL_WORKERS,
    rate: { perSec: config.REEL_RECONCILE_QPS, burst: config.REEL_RECONCILE_BURST },
    resyncSeconds: config.REEL_RESYNC_SECONDS,
    stallSeconds: config.REEL_WATCH_STALL_SECONDS,
    settings: planSettings(config),
    retention: config.retention,
  };
}

/** The metrics; the phase gauge and the oldest pending job read the VideoJobs the controller holds. */
function operatorMetrics(controller: () => Controller | undefined) {
  const phaseOf = (vj: object) => (vj as { status?: { phase?: string } }).status?.phase ?? "Pending";
  return createMetrics(
    function* () {
      for (const vj of controller()?.videojobs.values() ?? []) yield phaseOf(vj);
    },
    () => {
      let oldest = Number.POSITIVE_INFINITY;
      for (const vj of controller()?.videojobs.values() ?? []) {
        const created = Date.parse(vj.metadata.creationTimestamp ?? "");
        if (phaseOf(vj) === "Pending" && created < oldest) oldest = created;
      }
      return Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0;
    },
  );
}

/** The lease this replica competes for; `lead` starts acting, `lost` stops at once. */
function leaderElector(
  config: Config,
  api: KubeApi,
  log: ReturnType<typeof createLogger>,
  on: { lead: () => void; lost: () => void },
): LeaderElector {
  return new LeaderElector({
    api,
    namespace: config.REEL_LEASE_NAMESPACE,
    name: config.REEL_LEASE_NAME,
    identity: config.POD_NAME,
    leaseSeconds: config.REEL_LEASE_SECONDS,
    onStartedLeading: () => {
      log.info({ identity: config.POD_NAME }, "leading");
      on.lead();
    },
    onStoppedLeading: on.lost,
    onError: (err) => log.warn({ err: (err as Error).message }, "leader election"),
  });
}

export async function startOperator(config: Config): Promise<RunningOperator> {
  const log = createLogger(config.LOG_LEVEL);
  let controller: Controller | undefined;
  const metrics = operatorMetrics(() => controller);
  const api = await KubeApi.create({
    kubeConfig: loadKubeConfig(),
    qps: config.REEL_API_QPS,
    burst: config.REEL_API_BURST,
    onWrite: (verb, kind) => metrics.apiWrites.inc({ verb, kind }),
  });
  let stopping = false;
  const tracing = await startTracing(config, "reel-operator");
  // Progress announcements queue their VideoJob at most every 2 s: live enough, few writes.
  const progress = config.REEL_REDIS_URL
    ? redisProgressSource(
        config.REEL_REDIS_URL,
        (key) => controller?.queue.addAfter(key, 2000),
        (err) => log.debug({ err: err.message }, "redis progress"),
      )
    : undefined;
  const access =
    config.REEL_REDIS_URL && config.REEL_REDIS_WORKER_ACL
      ? startWorkerAccess(config.REEL_REDIS_URL, api, log, () => controller?.videojobs.values() ?? [])
      : undefined;
  const startController = async () => {
    controller = new Controller({
      ...controllerOptions(config),
      api,
      log,
      metrics,
      ...(access ? { workerAccess: (ns: string) => access.ensure(ns) } : {}),
      ...(progress ? { progress: (key: string, n: number) => progress.read(key, n) } : {}),
      ...(tracing ? { tracing } : {}),
    });
    await controller.start();
  };
  const leader = config.REEL_LEADER_ELECT
    ? leaderElector(config, api, log, {
        lead: () => {
          metrics.leader.set(1);
          startController().catch((err) => {
            log.error({ err: (err as Error).message }, "controller failed to start");
            process.exitCode = 1;
          });
        },
        lost: () => {
          metrics.leader.set(0);
          if (stopping) return;
          // Another replica may already act: stop acting at once, and let the pod restart clean.
          log.error("lost the lease; exiting");
          void controller?.stop();
          controller = undefined;
          process.exitCode = 1;
        },
      })
    : undefined;
  const { server, port } = await startServer({
    host: config.REEL_METRICS_HOST,
    port: config.REEL_METRICS_PORT,
    registry: metrics.registry,
    ready: () => (controller ? controller.isReady : leader !== undefined),
  });
  if (leader) leader.start();
  else await startController();
  const retention = {
    outputs: config.REEL_OUTPUT_RETENTION || "keep",
    finishedVideoJobs: config.REEL_FINISHED_RETENTION || "keep",
  };
  const started = { port, leaderElection: config.REEL_LEADER_ELECT, output: config.installation, retention };
  log.info(started, "operator started");
  return {
    port,
    controller: () => controller,
    isLeader: () => leader?.isLeader ?? true,
    async stop() {
      stopping = true;
      await controller?.stop();
      await leader?.stop();
      server.close();
      await progress?.close();
      access?.close();
      await api.close();
      // Reconcile spans still queued leave now.
      await tracing
        ?.shutdown()
        .catch((err) => log.warn({ err: (err as Error).message }, "trace export at stop failed"));
    },
  };
}

/** The settings, or exit 2 with the REEL_* code and what to fix (a bad chart value stops the pod at once). */
function configOrExit(): Config {
  try {
    return parseConfig(process.env);
  } catch (err) {
    const code = (err as { code?: string }).code;
    process.stderr.write(`${code ? `${code}: ` : ""}${(err as Error).message}\n`);
    process.exit(2);
  }
}

if (import.meta.main) {
  const config = configOrExit();
  const op = await startOperator(config);
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      void op.stop().then(() => process.exit(process.exitCode ?? 0));
    });
  }
}
