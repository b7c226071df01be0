// A request body must have arrived within REEL_REQUEST_TIMEOUT_MS of its headers: an authenticated
// client sending a body a byte at a time is answered 408 (in the REEL_* shape, through the error
// handler) and its connection closed, instead of holding a socket and a parser forever. Node's
// requestTimeout does not cover this once the request has been handed to its handler.
import { PassThrough, type Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";

type Payload = Readable & { receivedEncodedLength?: number };

export function bodyDeadline(ms: number) {
  return (
    req: FastifyRequest,
    reply: FastifyReply,
    payload: Payload,
    done: (err?: Error | null, body?: Payload) => void,
  ): void => {
    // Only requests that announce a body have one to wait for.
    if (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined) {
      done(null, payload);
      return;
    }
    const timed = new PassThrough() as PassThrough & { receivedEncodedLength?: number };
    const timer = setTimeout(() => {
      reply.header("connection", "close");
      const err = Object.assign(new Error(`the request body did not arrive within ${ms} ms`), { statusCode: 408 });
      timed.destroy(err);
      // The socket stays: the 408 goes out on it, then it closes (connection: close).
      payload.unpipe(timed);
      payload.resume();
    }, ms);
    timer.unref();
    payload.on("data", (c: Buffer) => {
      timed.receivedEncodedLength = (timed.receivedEncodedLength ?? 0) + c.length;
    });
    payload.on("end", () => clearTimeout(timer));
    payload.on("error", (e) => {
      clearTimeout(timer);
      timed.destroy(e);
    });
    payload.pipe(timed);
    done(null, timed);
  };
}
