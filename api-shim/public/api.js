// The shim's REST API (api-shim/API.md) as the dashboard uses it. The API key lives in
// sessionStorage: it survives reloads of this tab and goes when the tab closes.

const KEY = "reel.apiKey";

export const session = {
  get token() {
    return sessionStorage.getItem(KEY) ?? "";
  },
  set token(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

/** An answer other than 2xx, with the API's error body: code, message, hint and field details. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ code?: string, message?: string, hint?: string, details?: { path: unknown, message: string }[] }} body
   */
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code ?? (status === 0 ? "NETWORK" : `HTTP_${status}`);
    this.hint = body.hint ?? "";
    this.details = Array.isArray(body.details) ? body.details : [];
  }
}

/**
 * @param {string} path below /api/v1, e.g. "/jobs"
 * @param {{ method?: string, body?: unknown, token?: string, signal?: AbortSignal }} [opts]
 */
export async function api(path, opts = {}) {
  const headers = { accept: "application/json" };
  const token = opts.token ?? session.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, { message: "The Reel API could not be reached. Check your connection and try again." });
  }
  if (res.status === 204) return undefined;
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = body && typeof body === "object" && body.error ? body.error : { message: text.slice(0, 300) };
    if (res.status === 429) {
      const wait = res.headers.get("retry-after");
      if (wait) err.message = `${err.message || "Too many requests"} (try again in ${wait} s)`;
    }
    throw new ApiError(res.status, err);
  }
  return body;
}

export const me = (token) => api("/me", { token });

/** @param {{ phase?: string, tag?: string, cursor?: string, limit?: number }} q */
export function listJobs(q = {}, signal) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") p.set(k, String(v));
  const qs = p.toString();
  return api(`/jobs${qs ? `?${qs}` : ""}`, { signal });
}

export const getJob = (id, signal) => api(`/jobs/${encodeURIComponent(id)}`, { signal });
export const getStatus = (id, signal) => api(`/jobs/${encodeURIComponent(id)}/status`, { signal });
export const createJob = (body) => api("/jobs", { method: "POST", body });
export const cancelJob = (id) => api(`/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
/** A new job <id>-r1, … from a finished one: its finished episodes are reused, failed ones run again. */
export const retryJob = (id) => api(`/jobs/${encodeURIComponent(id)}/retry`, { method: "POST" });
/** A fresh link to a stored file, as JSON ({url, expiresAt?}): the route answers JSON to accept: application/json. */
export const outputLink = (path) => api(path);

/**
 * A text answer (the seek-thumbnail index, text/vtt) with the same key and errors as api().
 * @param {string} path below /api/v1
 * @param {AbortSignal} [signal]
 */
export async function apiText(path, signal) {
  const headers = { accept: "text/vtt, application/json;q=0.5" };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { headers, signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, { message: "The Reel API could not be reached. Check your connection and try again." });
  }
  const text = await res.text();
  if (res.ok) return text;
  let err;
  try {
    err = JSON.parse(text).error;
  } catch {}
  throw new ApiError(res.status, err && typeof err === "object" ? err : { message: text.slice(0, 300) });
}
