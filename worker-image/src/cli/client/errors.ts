// What goes wrong on the client side and how it is shown: the API's error body
// `{error: {code, message, hint, details?}}` becomes an ApiError; everything the CLI prints as
// `error REEL_CODE: message` followed by what to do next.
import { errorCodes, isErrorCode, ReelError } from "@reel/crds";

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error answered by the shim. Its code may be newer than this CLI's registry, so it stays a string. */
export class ApiError extends Error {
  readonly code: string;
  readonly hint: string;
  readonly status: number;
  readonly details: ErrorDetail[];
  /** Seconds from Retry-After (429, 503). */
  readonly retryAfter: number | undefined;
  /** The server that answered, for the next step ("reel login --server …"). */
  readonly server: string | undefined;
  constructor(
    status: number,
    body: { code: string; message: string; hint?: string; details?: ErrorDetail[] },
    opts: { retryAfter?: number; server?: string } = {},
  ) {
    super(body.message);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code;
    this.hint = body.hint ?? (isErrorCode(body.code) ? errorCodes[body.code] : "");
    this.details = body.details ?? [];
    this.retryAfter = opts.retryAfter;
    this.server = opts.server;
  }
}

/** Exit 2: the command, the credentials, the server address or the input was wrong (see main.ts). */
export const EXIT_USAGE = 2;

/** Prints `error CODE: message`, the details, and the next step; answers the exit code. */
export function printError(err: unknown, stream: { write(s: string): unknown }): number {
  if (err instanceof ApiError) {
    let out = `error ${err.code}: ${err.message}\n`;
    for (const d of err.details) out += `  - ${d.path}: ${d.message}\n`;
    if (err.hint) out += `  ${err.hint}\n`;
    if (err.status === 401) out += `  then: reel login${err.server ? ` --server ${err.server}` : ""}\n`;
    if (err.retryAfter !== undefined && err.status === 429) out += `  retry after ${err.retryAfter}s\n`;
    stream.write(out);
  } else if (err instanceof ReelError) {
    stream.write(`error ${err.code}: ${err.message}\n  ${err.hint}\n`);
  } else {
    const e = err instanceof Error ? err : new Error(String(err));
    stream.write(`error REEL_INTERNAL: ${e.message}\n  ${errorCodes.REEL_INTERNAL}\n${e.stack ?? ""}\n`);
  }
  return EXIT_USAGE;
}
