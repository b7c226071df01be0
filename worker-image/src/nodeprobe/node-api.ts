// The node probe's only writes: its capability labels and annotation on its own Node, by Server-Side
// Apply under its own field manager. A label this manager wrote before and no longer sends is removed
// by the apiserver; labels and annotations of other managers are left alone.
// (kubernetes-fluent-client's Apply hard-codes the field manager "pepr", so this uses client-node.)
import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, type V1Node } from "@kubernetes/client-node";
import type { NodeMetadata } from "./labels.ts";

export const FIELD_MANAGER = "reel-node-probe";

/** A failed API call: the HTTP status and Status reason when the apiserver answered, else the socket's code. */
export class NodeApiError extends Error {
  readonly status: number | undefined;
  readonly code: string;
  constructor(status: number | undefined, code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NodeApiError";
    this.status = status;
    this.code = code;
  }

  /** Worth another try: no answer, throttled, the apiserver's own trouble, or a conflict (the Node was replaced). */
  get retryable(): boolean {
    return this.status === undefined || this.status === 409 || this.status === 429 || this.status >= 500;
  }

  static from(err: unknown, what: string): NodeApiError {
    if (err instanceof NodeApiError) return err;
    if (err instanceof ApiException) {
      let status: { reason?: string; message?: string } = {};
      try {
        status = typeof err.body === "string" ? JSON.parse(err.body) : (err.body ?? {});
      } catch {
        status = { message: String(err.body).slice(0, 300) };
      }
      const code = status.reason ?? `HTTP${err.code}`;
      return new NodeApiError(err.code, code, `${what}: ${err.code} ${code}: ${status.message ?? ""}`.trim(), {
        cause: err,
      });
    }
    const e = err as { code?: unknown; message?: string };
    const code = typeof e?.code === "string" ? e.code : "REQUEST_FAILED";
    return new NodeApiError(undefined, code, `${what}: ${e?.message ?? String(err)}`, { cause: err });
  }
}

export interface NodeApi {
  /** The Node's uid; a NodeApiError with status 404 when no Node has that name. */
  uid(name: string): Promise<string>;
  /** Applies exactly these labels and annotations as this manager's; returns the Node's labels after. */
  apply(name: string, uid: string, meta: NodeMetadata): Promise<Record<string, string>>;
}

const timeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new NodeApiError(undefined, "ETIMEDOUT", `${what}: no answer in ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });

/** In a pod: the service account; elsewhere: the kubeconfig file named (or ~/.kube/config). */
export function loadKubeConfig(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

export function kubeNodeApi(kc: KubeConfig, requestTimeoutMs = 30_000): NodeApi {
  const api = KubernetesObjectApi.makeApiClient(kc);
  return {
    async uid(name) {
      const what = `get node ${name}`;
      try {
        const node = await timeout(
          api.read<V1Node>({ apiVersion: "v1", kind: "Node", metadata: { name } }),
          requestTimeoutMs,
          what,
        );
        return node.metadata?.uid ?? "";
      } catch (err) {
        throw NodeApiError.from(err, what);
      }
    },
    async apply(name, uid, meta) {
      const what = `apply labels to node ${name}`;
      const body: V1Node = {
        apiVersion: "v1",
        kind: "Node",
        // The uid makes the apply fail (409) instead of creating a Node when this one was deleted:
        // an apply is an upsert, and a probe must never invent a node.
        metadata: { name, uid, labels: meta.labels, annotations: meta.annotations },
      };
      try {
        const node = await timeout(
          api.patch(body, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
          requestTimeoutMs,
          what,
        );
        return node.metadata?.labels ?? {};
      } catch (err) {
        throw NodeApiError.from(err, what);
      }
    },
  };
}
