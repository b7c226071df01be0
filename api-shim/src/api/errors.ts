// Every error answers {"error": {"code", "message", "hint", "details"?}} with a status that follows
// from its code. Fastify's own errors (body too large, bad JSON), lost database connections and the
// database's data errors (a value it cannot store: 400, never its own words) are mapped onto the
// same registry.
import { type ErrorCode, ReelError } from "@reel/crds";
import type { z } from "zod";

const STATUS: Partial<Record<ErrorCode, number>> = {
  REEL_JOB_INVALID: 400,
  REEL_INVALID_ARGUMENT: 400,
  REEL_EGRESS_DENIED: 400,
  REEL_UNSUPPORTED_SCHEME: 400,
  REEL_WEBHOOK_INVALID: 400,
  REEL_AUTH_REQUIRED: 401,
  REEL_AUTH_INVALID: 401,
  REEL_FORBIDDEN: 403,
  REEL_JOB_NOT_FOUND: 404,
  REEL_NOT_FOUND: 404,
  REEL_JOB_EXISTS: 409,
  REEL_JOB_FINISHED: 409,
  REEL_JOB_NOT_RETRYABLE: 409,
  REEL_TENANT_EXISTS: 409,
  REEL_LAST_ADMIN: 409,
  REEL_TENANT_UNKNOWN: 400,
  REEL_OUTPUT_ON_VOLUME: 409,
  REEL_OUTPUT_CREDENTIALS_MISSING: 409,
  REEL_OUTPUT_EXPIRED: 410,
  REEL_BODY_TOO_LARGE: 413,
  REEL_UPLOAD_QUOTA_EXCEEDED: 413,
  REEL_UPLOAD_INCOMPLETE: 409,
  REEL_RATE_LIMITED: 429,
  REEL_UNAVAILABLE: 503,
};

export interface Detail {
  path: string;
  message: string;
}

/**
 * A ReelError with field details (validation), and a status of its own where the code's usual one
 * does not fit (a conflict reported under REEL_INVALID_ARGUMENT is 409, not 400).
 */
export class RequestError extends ReelError {
  readonly details: Detail[] | undefined;
  readonly status: number | undefined;
  constructor(code: ErrorCode, message: string, details?: Detail[], status?: number) {
    super(code, message);
    this.details = details;
    this.status = status;
  }
}

/** A zod failure as a 400: REEL_JOB_INVALID for a job, REEL_INVALID_ARGUMENT for anything else. */
export function invalid(
  error: z.ZodError,
  what = "request",
  code: "REEL_JOB_INVALID" | "REEL_INVALID_ARGUMENT" = "REEL_INVALID_ARGUMENT",
): RequestError {
  const details = error.issues.map((i) => ({
    path: i.path.join(".") || "(body)",
    message: i.code === "unrecognized_keys" ? `not accepted here: ${i.keys.join(", ")}` : i.message,
  }));
  return new RequestError(
    code,
    `invalid ${what}: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
    details,
  );
}

/** Fields of a spec that no VideoJob has (crds unknownSpecFields: "spec.x.y: unknown field; did you mean z?"). */
export function unknownFieldsError(issues: string[]): RequestError {
  const details = issues.map((i) => {
    const at = i.indexOf(": ");
    return at > 0 ? { path: i.slice(0, at), message: i.slice(at + 2) } : { path: "spec", message: i };
  });
  return new RequestError("REEL_JOB_INVALID", `invalid job: ${issues.join("; ")}`, details);
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P03", // cannot_connect_now
]);

/** SQLSTATE class 22, data exception: a value the database refuses (a NUL byte in text, say). */
const isDataError = (e: { name?: string; code?: string }) =>
  e?.name === "PostgresError" && typeof e.code === "string" && e.code.startsWith("22");

/** The status and body for anything thrown by a handler. */
export function toResponse(err: unknown): { status: number; body: unknown; internal: boolean } {
  let e: ReelError;
  const anyErr = err as { code?: string; statusCode?: number; message?: string };
  if (err instanceof ReelError) e = err;
  else if (anyErr?.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    e = new ReelError("REEL_BODY_TOO_LARGE", anyErr.message ?? "request body too large");
  else if (anyErr?.code && CONNECTION_CODES.has(anyErr.code))
    e = new ReelError("REEL_UNAVAILABLE", "a service the shim needs is not reachable; try again shortly");
  else if (isDataError(anyErr as { name?: string }))
    e = new ReelError("REEL_INVALID_ARGUMENT", "a value in the request cannot be stored or looked up (a NUL byte?)");
  else if (anyErr?.statusCode && anyErr.statusCode >= 400 && anyErr.statusCode < 500) {
    // Malformed JSON, a wrong content type and the like: the request is wrong, not the shim.
    const body = {
      error: {
        code: "REEL_INVALID_ARGUMENT",
        message: anyErr.message ?? "bad request",
        hint: errorHint("REEL_INVALID_ARGUMENT"),
      },
    };
    return { status: anyErr.statusCode, body, internal: false };
  } else e = new ReelError("REEL_INTERNAL", (err as Error)?.message ?? String(err));
  const details = e instanceof RequestError ? e.details : undefined;
  const status = e instanceof RequestError ? e.status : undefined;
  return {
    status: status ?? STATUS[e.code] ?? 500,
    body: { error: { code: e.code, message: e.message, hint: e.hint, ...(details ? { details } : {}) } },
    internal: !(status ?? STATUS[e.code]),
  };
}

function errorHint(code: ErrorCode): string {
  return new ReelError(code, "").hint;
}
