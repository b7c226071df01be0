// The transport to the shim: JSON over fetch with a timeout per request, one retry for idempotent
// GETs (network error, timeout, 502/503/504, a short 429), errors mapped to codes the CLI prints.
// The key lives in a private field so that printing the client never shows it.
import { ReelError } from "@reel/crds";
import { ApiError } from "./errors.ts";
import type { Target } from "./credentials.ts";

export interface HttpOptions {
  /** Per request, headers and body; for a stream only until its headers arrive. */
  timeoutMs?: number;
  /** Wait before the one retry of a GET (a 429's Retry-After replaces it). */
  retryDelayMs?: number;
  /** A 429 on a GET is waited out and retried when Retry-After is at most this long. */
  maxRetryAfterS?: number;
}

const USER_AGENT = "reel-cli/0.1.0";
const RETRY_STATUS = new Set([502, 503, 504]);

export class Api {
  readonly server: string;
  readonly #key: string;
  readonly #timeoutMs: number;
  readonly #retryDelayMs: number;
  readonly #maxRetryAfterS: number;

  constructor(target: Target, opts: HttpOptions = {}) {
    this.server = target.server;
    this.#key = target.key;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#retryDelayMs = opts.retryDelayMs ?? 500;
    this.#maxRetryAfterS = opts.maxRetryAfterS ?? 5;
  }

  url(path: string, query?: Record<string, string | number | undefined>): string {
    const u = new URL(`${this.server}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") u.searchParams.set(k, String(v));
    return u.toString();
  }

  async get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
    const url = this.url(path, query);
    try {
      return await this.#json<T>("GET", url);
    } catch (err) {
      const wait = this.#retryWait(err);
      if (wait === undefined) throw err;
      await new Promise((r) => setTimeout(r, wait));
      return this.#json<T>("GET", url);
    }
  }

  /** The headers of an authenticated request, for a transport of its own (tus uploads, upload.ts). */
  authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.#key}`, "user-agent": USER_AGENT };
  }

  /** Not retried: a POST that timed out may have been applied. */
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.#json<T>("POST", this.url(path), body);
  }

  /**
   * Opens a streaming GET (SSE). The timeout covers the wait for headers only; reading the body is
   * bounded by `signal` (the SSE reader adds an idle timeout).
   */
  async stream(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const url = this.url(path);
    const headersTimeout = new AbortController();
    const timer = setTimeout(
      () => headersTimeout.abort(new DOMException("timed out", "TimeoutError")),
      this.#timeoutMs,
    );
    try {
      const res = await this.#fetch("GET", url, undefined, headers, anySignal(headersTimeout.signal, signal));
      if (!res.ok) throw await this.#failure("GET", url, res);
      return res;
    } finally {
      clearTimeout(timer);
    }
  }

  async #json<T>(method: string, url: string, body?: unknown): Promise<T> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    const res = await this.#fetch(method, url, body, { accept: "application/json" }, signal);
    if (!res.ok) throw await this.#failure(method, url, res);
    if (res.status === 204) return undefined as T;
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.#unreachable(err);
    }
    if (!(res.headers.get("content-type") ?? "").includes("json")) {
      throw this.#invalid(method, url, res, "a body that is not JSON");
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.#invalid(method, url, res, "malformed JSON");
    }
  }

  async #fetch(
    method: string,
    url: string,
    body: unknown,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Response> {
    try {
      return await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.#key}`,
          "user-agent": USER_AGENT,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal,
        redirect: "error", // a redirect would carry the key to wherever it points
      });
    } catch (err) {
      throw this.#unreachable(err);
    }
  }

  async #failure(method: string, url: string, res: Response): Promise<Error> {
    const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
    let body: unknown;
    try {
      body = JSON.parse(await res.text());
    } catch {
      body = undefined;
    }
    const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (e && typeof e.code === "string" && /^REEL_[A-Z0-9_]+$/.test(e.code) && typeof e.message === "string") {
      return new ApiError(res.status, e as ConstructorParameters<typeof ApiError>[1], {
        ...(retryAfter !== undefined ? { retryAfter } : {}),
        server: this.server,
      });
    }
    if (RETRY_STATUS.has(res.status)) {
      return new ReelError(
        "REEL_SHIM_UNREACHABLE",
        `${method} ${url} answered ${res.status} ${res.statusText} without a Reel error body (a proxy in front of the shim?)`,
      );
    }
    return this.#invalid(method, url, res, "no Reel error body");
  }

  #invalid(method: string, url: string, res: Response, what: string): ReelError {
    const type = res.headers.get("content-type") ?? "no content-type";
    return new ReelError(
      "REEL_SHIM_RESPONSE_INVALID",
      `${method} ${url} answered ${res.status} ${res.statusText} with ${what} (${type}); is ${this.server} the Reel shim?`,
    );
  }

  #unreachable(err: unknown): ReelError {
    return new ReelError(
      "REEL_SHIM_UNREACHABLE",
      `cannot reach ${this.server}: ${networkReason(err, this.#timeoutMs)}`,
      {
        cause: err,
      },
    );
  }

  #retryWait(err: unknown): number | undefined {
    if (err instanceof ApiError) {
      if (RETRY_STATUS.has(err.status)) return (err.retryAfter ?? 0) * 1000 || this.#retryDelayMs;
      if (err.status === 429 && err.retryAfter !== undefined && err.retryAfter <= this.#maxRetryAfterS) {
        return err.retryAfter * 1000;
      }
      return undefined;
    }
    if (err instanceof ReelError && err.code === "REEL_SHIM_UNREACHABLE") return this.#retryDelayMs;
    return undefined;
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "DNS lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS: self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS: self-signed certificate in the chain",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS: certificate not trusted",
  CERT_HAS_EXPIRED: "TLS: certificate expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS: certificate is for another host",
};

/** Why fetch failed, in words, with the system code: "connection refused (ECONNREFUSED)". */
export function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e?.name === "TimeoutError" || e?.cause?.name === "TimeoutError") return `no answer within ${timeoutMs / 1000}s`;
  if (e?.name === "AbortError") return "cancelled";
  const code = e?.cause?.code;
  if (code) return `${REASONS[code] ?? e.cause?.message ?? "network error"} (${code})`;
  if (e?.message?.includes("redirect")) return "the server answered with a redirect (give its final URL with --server)";
  return e?.cause?.message ?? e?.message ?? String(err);
}

export function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function anySignal(a: AbortSignal, b?: AbortSignal): AbortSignal {
  return b ? AbortSignal.any([a, b]) : a;
}
