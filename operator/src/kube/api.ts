// A small Kubernetes REST client for the operator's writes and point reads: one keep-alive
// connection pool, every write under the operator's one field manager (Jobs are created by POST,
// status written as a merge patch; Server-Side Apply is kept for the benchmark that compares the
// two), a client-side rate limit, 429s honoured (Retry-After), and a count of every write for the
// metrics and the no-op benchmark. Watches go through kubernetes-fluent-client (informer.ts); its
// Apply hard-codes the field manager "pepr", so writes do not.
import { KubeConfig } from "@kubernetes/client-node";
import { Agent, fetch } from "undici";
import { FIELD_MANAGER } from "@reel/crds";
import { TokenBucket } from "../controller/rate.ts";

export { FIELD_MANAGER };

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    ownerReferences?: Array<Record<string, unknown>>;
    creationTimestamp?: string;
  };
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.reason = reason;
  }
}

/** Group/version/plural of every kind the operator touches. */
const RESOURCES: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  "reel.dev/v1alpha1/VideoJob": { prefix: "/apis/reel.dev/v1alpha1", plural: "videojobs", namespaced: true },
  "batch/v1/Job": { prefix: "/apis/batch/v1", plural: "jobs", namespaced: true },
  "v1/Pod": { prefix: "/api/v1", plural: "pods", namespaced: true },
  "v1/Node": { prefix: "/api/v1", plural: "nodes", namespaced: false },
  "v1/Event": { prefix: "/api/v1", plural: "events", namespaced: true },
  "v1/Namespace": { prefix: "/api/v1", plural: "namespaces", namespaced: false },
  "v1/Secret": { prefix: "/api/v1", plural: "secrets", namespaced: true },
  "coordination.k8s.io/v1/Lease": { prefix: "/apis/coordination.k8s.io/v1", plural: "leases", namespaced: true },
};

export function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string): string {
  const r = RESOURCES[`${apiVersion}/${kind}`];
  if (!r) throw new Error(`unknown kind ${apiVersion}/${kind}`);
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${r.prefix}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ""}`;
}

export type WriteCounter = (
  verb: "apply" | "apply-status" | "patch-status" | "create" | "update" | "delete" | "patch",
  kind: string,
) => void;

export interface KubeApiOptions {
  kubeConfig: KubeConfig;
  qps: number;
  burst: number;
  onWrite?: WriteCounter;
  /** Connections kept open to the apiserver. */
  connections?: number;
}

export class KubeApi {
  readonly server: string;
  private readonly agent: Agent;
  private readonly auth: Record<string, string>;
  private readonly bucket: TokenBucket;
  private readonly onWrite?: WriteCounter;

  private constructor(server: string, agent: Agent, auth: Record<string, string>, o: KubeApiOptions) {
    this.server = server.replace(/\/$/, "");
    this.agent = agent;
    this.auth = auth;
    this.bucket = new TokenBucket(o.qps, o.burst);
    this.onWrite = o.onWrite;
  }

  static async create(o: KubeApiOptions): Promise<KubeApi> {
    const cluster = o.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const tls: { ca?: unknown; cert?: unknown; key?: unknown; headers?: Record<string, string> } = {};
    await o.kubeConfig.applyToHTTPSOptions(tls as never);
    const agent = new Agent({
      connections: o.connections ?? 32,
      keepAliveTimeout: 60_000,
      connect: {
        ca: tls.ca as string | undefined,
        cert: tls.cert as string | undefined,
        key: tls.key as string | undefined,
        rejectUnauthorized: !cluster.skipTLSVerify,
      },
    });
    const auth: Record<string, string> = {};
    const authorization = tls.headers?.Authorization ?? tls.headers?.authorization;
    if (authorization) auth.Authorization = authorization;
    return new KubeApi(cluster.server, agent, auth, o);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** One request; 429 and 503 with Retry-After are waited out (at most 5 times). */
  async request<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.bucket.take();
      const res = await fetch(`${this.server}${path}`, {
        method,
        dispatcher: this.agent,
        headers: {
          ...this.auth,
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": contentType }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if ((res.status === 429 || res.status === 503) && attempt < 5) {
        const after = Number(res.headers.get("retry-after") ?? "1");
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, Math.min(30, Number.isFinite(after) ? after : 1) * 1000));
        continue;
      }
      const text = await res.text();
      if (!res.ok) {
        let reason = res.statusText;
        let message = text;
        try {
          const s = JSON.parse(text) as { reason?: string; message?: string };
          reason = s.reason ?? reason;
          message = s.message ?? message;
        } catch {}
        throw new ApiError(res.status, reason, `${method} ${path}: ${res.status} ${message}`);
      }
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }

  get<T extends KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>("GET", resourcePath(apiVersion, kind, namespace, name));
  }

  /** The object, or undefined on 404. */
  async find<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(apiVersion, kind, namespace, name);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<T[]> {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
    const r = await this.request<{ items: T[] }>("GET", `${resourcePath(apiVersion, kind, namespace)}${q}`);
    return r.items;
  }

  /** Server-Side Apply of `obj` (or of its status subresource) under the operator's field manager (bench/tools/kube-load.ts compares it with create). */
  async apply<T extends KubeObject>(obj: KubeObject, opts: { status?: boolean } = {}): Promise<T> {
    const path = `${resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name)}${opts.status ? "/status" : ""}`;
    this.onWrite?.(opts.status ? "apply-status" : "apply", obj.kind);
    return this.request<T>(
      "PATCH",
      `${path}?fieldManager=${FIELD_MANAGER}&force=true`,
      obj,
      "application/apply-patch+yaml",
    );
  }

  /** Create; the fields it sets are owned by the operator's field manager, as an apply's would be. */
  create<T extends KubeObject>(obj: KubeObject): Promise<T> {
    this.onWrite?.("create", obj.kind);
    return this.request<T>(
      "POST",
      `${resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace)}?fieldManager=${FIELD_MANAGER}`,
      obj,
    );
  }

  /** Replace with optimistic concurrency (metadata.resourceVersion must match): 409 when it moved. */
  update<T extends KubeObject>(obj: KubeObject): Promise<T> {
    this.onWrite?.("update", obj.kind);
    return this.request<T>(
      "PUT",
      resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name),
      obj,
    );
  }

  /** JSON merge patch (finalizer lists: SSA would need the list's full ownership). */
  patch<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    patch: unknown,
  ): Promise<T> {
    this.onWrite?.("patch", kind);
    return this.request<T>(
      "PATCH",
      resourcePath(apiVersion, kind, namespace, name),
      patch,
      "application/merge-patch+json",
    );
  }

  /**
   * JSON merge patch of the status subresource under the operator's field manager. Status has one
   * writer (this operator), so a merge patch says the same as an apply, for less apiserver work.
   */
  patchStatus<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    status: unknown,
  ): Promise<T> {
    this.onWrite?.("patch-status", kind);
    return this.request<T>(
      "PATCH",
      `${resourcePath(apiVersion, kind, namespace, name)}/status?fieldManager=${FIELD_MANAGER}`,
      { status },
      "application/merge-patch+json",
    );
  }

  /**
   * Delete with background propagation (the Job's pods go too); 404 counts as done. With `uid`, only
   * that object (not a namesake created since) is deleted: a mismatch answers 409.
   */
  async delete(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    uid?: string,
  ): Promise<void> {
    this.onWrite?.("delete", kind);
    try {
      await this.request("DELETE", resourcePath(apiVersion, kind, namespace, name), {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: "Background",
        ...(uid ? { preconditions: { uid } } : {}),
      });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
}

/** The kubeconfig from KUBECONFIG, ~/.kube/config or the in-cluster service account. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}
