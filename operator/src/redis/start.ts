// The operator's side of the worker pods' Redis users in a running process: an admin connection of
// its own, the users kept (worker-access.ts), and a warning when Redis lets anyone in as `default`.
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { KubeApi } from "../kube/api.ts";
import { defaultUserOpen, kubeSecrets, WorkerAccess } from "./worker-access.ts";

const FINAL = new Set(["Completed", "Failed", "Cancelled"]);

type Job = { metadata: { namespace?: string }; status?: unknown };

/** Namespaces of VideoJobs not yet finished: their pods may be running and need their user. */
export function activeNamespaces(videojobs: Iterable<Job>): Set<string> {
  const out = new Set<string>();
  for (const vj of videojobs) {
    const phase = (vj.status as { phase?: string } | undefined)?.phase ?? "Pending";
    if (!FINAL.has(phase) && vj.metadata.namespace) out.add(vj.metadata.namespace);
  }
  return out;
}

export function startWorkerAccess(
  url: string,
  api: KubeApi,
  log: Logger,
  videojobs: () => Iterable<Job>,
): { ensure(ns: string): Promise<void>; close(): void } {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const alog = log.child({ part: "redis-worker-users" });
  redis.on("error", (err: Error) => alog.debug({ reason: err.message }, "redis"));
  redis.once("ready", () => {
    void defaultUserOpen(redis).then((open) => {
      if (open) {
        alog.warn(
          "Redis's default user needs no password: a worker pod can connect without its own user and reach every key. Set requirepass (or ACL default off) and give the operator and shim a user in REEL_REDIS_URL",
        );
      }
    });
  });
  const access = new WorkerAccess({
    redis,
    secrets: kubeSecrets(api),
    active: () => activeNamespaces(videojobs()),
    log: alog,
  });
  return {
    ensure: (ns) => access.ensure(ns),
    close() {
      access.close();
      redis.disconnect();
    },
  };
}
