// A small REST client for the harness: the kubeconfig's TLS and credentials, JSON requests, and a
// watch stream (newline-delimited JSON events) that ends on error so the caller relists.
import { KubeConfig } from "@kubernetes/client-node";
import { Agent, fetch } from "undici";

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export class Api {
  private readonly server: string;
  private readonly agent: Agent;
  private readonly headers: Record<string, string>;

  private constructor(server: string, agent: Agent, headers: Record<string, string>) {
    this.server = server;
    this.agent = agent;
    this.headers = headers;
  }

  static async fromKubeconfig(path: string): Promise<Api> {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`${path}: no current cluster`);
    const tls: { ca?: string; cert?: string; key?: string; headers?: Record<string, string> } = {};
    await kc.applyToHTTPSOptions(tls as never);
    const agent = new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key }, keepAliveTimeout: 30_000 });
    const auth = tls.headers?.Authorization ?? tls.headers?.authorization;
    return new Api(cluster.server.replace(/\/$/, ""), agent, auth ? { Authorization: auth } : {});
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const res = await fetch(`${this.server}${path}`, {
      method,
      dispatcher: this.agent,
      headers: {
        ...this.headers,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": contentType }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new ApiError(res.status, `${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Calls `onEvent` for each event until the stream ends, errs or `signal` aborts. */
  async watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch(`${this.server}${path}`, {
      dispatcher: this.agent,
      headers: { ...this.headers, Accept: "application/json" },
      signal,
    });
    if (!res.ok || !res.body) throw new ApiError(res.status, `watch ${path}: ${res.status} ${await res.text()}`);
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
      }
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
