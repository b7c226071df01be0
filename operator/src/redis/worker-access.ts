// The worker pods' Redis users (contract: crds/src/contract/redis-access.ts): per namespace that
// runs VideoJobs, a Secret `reel-redis-worker` with a random password (made once, never rotated
// unless someone deletes it) and the ACL user `reel-w-<namespace>` made from it with admin
// credentials. Redis without persistence forgets its users on restart, so they are made again
// whenever the admin connection becomes ready and every `resyncMs` for any user Redis lacks.
import { createHash, randomBytes } from "node:crypto";
import { ReelError, WORKER_REDIS_SECRET, WORKER_REDIS_SECRET_LABEL, workerRedisUser } from "@reel/crds";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { ApiError, type KubeApi } from "../kube/api.ts";
import { MANAGED_BY } from "../plan/jobs.ts";
import { workerAclRules } from "./acl.ts";

/** Where the passwords are kept: Kubernetes Secrets (kubeSecrets), or a fake in tests. */
export interface SecretStore {
  /** The Secret's `password`, or undefined when there is no such Secret. */
  password(namespace: string): Promise<string | undefined>;
  /** Creates the Secret; false when it exists already (another replica was first). */
  create(namespace: string, username: string, password: string): Promise<boolean>;
}

type SecretObject = { data?: Record<string, string> };

export function kubeSecrets(api: KubeApi): SecretStore {
  return {
    async password(namespace) {
      const s = await api.find<SecretObject & { apiVersion: string; kind: string; metadata: { name: string } }>(
        "v1",
        "Secret",
        namespace,
        WORKER_REDIS_SECRET,
      );
      const b64 = s?.data?.password;
      return b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
    },
    async create(namespace, username, password) {
      try {
        await api.create({
          apiVersion: "v1",
          kind: "Secret",
          // No owner: the Secret serves every VideoJob of the namespace, now and later.
          metadata: { name: WORKER_REDIS_SECRET, namespace, labels: { ...MANAGED_BY, ...WORKER_REDIS_SECRET_LABEL } },
          type: "Opaque",
          stringData: { username, password },
        });
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) return false;
        throw e;
      }
    },
  };
}

export interface WorkerAccessOptions {
  /** An admin connection (ACL SETUSER, ACL USERS); owned by the caller. */
  redis: Redis;
  secrets: SecretStore;
  /** Namespaces whose pods may be running now (non-final VideoJobs), kept even when not asked. */
  active?: () => Iterable<string>;
  log: Logger;
  /** How often users Redis lacks are made again (ms; default 30 s, 0: only on reconnect). */
  resyncMs?: number;
}

export class WorkerAccess {
  readonly #o: WorkerAccessOptions;
  /**
   * Namespaces whose user Redis holds as far as we know, with a digest of the password it was made
   * with; cleared when the connection comes back (a restarted Redis has no users).
   */
  readonly #made = new Map<string, string>();
  readonly #known = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  readonly #onReady = () => {
    this.#made.clear();
    void this.sync();
  };

  constructor(o: WorkerAccessOptions) {
    this.#o = o;
    o.redis.on("ready", this.#onReady);
    if (o.redis.status === "ready") this.#onReady();
    if ((o.resyncMs ?? 30_000) > 0) {
      this.#timer = setInterval(() => void this.sync(), o.resyncMs ?? 30_000);
      this.#timer.unref();
    }
  }

  /**
   * The namespace's Secret exists and Redis holds its user with the Secret's password. The Secret is
   * read on every call (one GET before a reconcile creates Jobs): someone may have deleted it, which
   * makes a new password. Throws when the Secret cannot be read or made (its pods could not start);
   * a Redis failure is logged and retried at the next sync (progress is an extra).
   */
  async ensure(namespace: string): Promise<void> {
    this.#known.add(namespace);
    const password = await this.#password(namespace);
    const digest = createHash("sha256").update(password).digest("hex");
    if (this.#made.get(namespace) === digest) return;
    try {
      const { user, rules } = workerAclRules(namespace, password);
      await this.#o.redis.call("ACL", "SETUSER", user, ...rules);
      this.#made.set(namespace, digest);
    } catch (err) {
      // Redis quotes a rule it refuses; the password must not reach the log that way.
      const reason = (err as Error).message.split(password).join("***");
      this.#o.log.warn(
        { namespace, code: "REEL_REDIS_DENIED", reason },
        "worker Redis user not made; its pods publish no progress until it is",
      );
    }
  }

  /** Makes again every known or active namespace's user that Redis does not hold (or we did not make). */
  async sync(): Promise<void> {
    if (this.#o.redis.status !== "ready") return;
    try {
      const users = new Set((await this.#o.redis.call("ACL", "USERS")) as string[]);
      for (const ns of new Set([...this.#known, ...(this.#o.active?.() ?? [])])) {
        if (users.has(workerRedisUser(ns)) && this.#made.has(ns)) continue;
        this.#made.delete(ns);
        await this.ensure(ns).catch((err: Error) =>
          this.#o.log.warn({ namespace: ns, reason: err.message }, "worker Redis Secret not made"),
        );
      }
    } catch (err) {
      this.#o.log.debug({ reason: (err as Error).message }, "worker Redis users not checked");
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#o.redis.off("ready", this.#onReady);
  }

  async #password(namespace: string): Promise<string> {
    try {
      const { secrets } = this.#o;
      const kept = await secrets.password(namespace);
      if (kept !== undefined) return kept;
      const fresh = randomBytes(32).toString("base64url");
      if (await secrets.create(namespace, workerRedisUser(namespace), fresh)) return fresh;
      const other = await secrets.password(namespace);
      if (other === undefined) throw new Error("it vanished while being made");
      return other;
    } catch (cause) {
      // The pods would wait on a Secret that never comes (CreateContainerConfigError): say so now.
      throw new ReelError(
        "REEL_CONFIG_INVALID",
        `cannot read or make Secret ${namespace}/${WORKER_REDIS_SECRET} for the worker pods' Redis user: ${(cause as Error).message}; let the operator get and create Secrets there (the chart does with redis.workerAcl) or set REEL_REDIS_WORKER_ACL=false`,
        { cause },
      );
    }
  }
}

/** A warning when the default user needs no password: any pod could then skip its own user. */
export async function defaultUserOpen(redis: Redis): Promise<boolean> {
  try {
    const info = (await redis.call("ACL", "GETUSER", "default")) as unknown[] | null;
    if (!info) return false;
    const flags = info[info.indexOf("flags") + 1] as string[];
    return flags.includes("on") && flags.includes("nopass");
  } catch {
    return false;
  }
}
