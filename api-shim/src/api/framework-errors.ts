// Answers that Fastify and Node's HTTP parser make before any route runs — a path parameter over
// the length limit, a malformed URL, headers too large (431), a request not received in time
// (408), a request the parser cannot read (400) — in the same {"error": {code, message, hint}}
// shape as every other answer, instead of Fastify's {"error", "code": "FST_…", "statusCode"}.
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { ReelError } from "@reel/crds";
import type { FastifyReply, FastifyRequest } from "fastify";

const body = (message: string) => {
  const e = new ReelError("REEL_INVALID_ARGUMENT", message);
  return JSON.stringify({ error: { code: e.code, message: e.message, hint: e.hint } });
};

/** Fastify's `frameworkErrors`: routing errors (FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH, …). */
export function frameworkErrors(
  err: Error & { statusCode?: number; code?: string },
  _req: FastifyRequest,
  reply: FastifyReply,
) {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const message =
    err.code === "FST_ERR_MAX_PARAM_LENGTH"
      ? "a path parameter is longer than any id this API serves"
      : "the URL cannot be read";
  return reply.code(status).type("application/json").send(body(message));
}

/** Fastify's `clientErrorHandler`: what Node's parser refuses, written straight to the socket. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "the request's headers are too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "the request was not received in time"]
        : [400, "the request cannot be read as HTTP/1.1"];
  const text = body(message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${text}`,
  );
}
