// JSON logs through pino. Credentials never reach a log line: the Authorization header is redacted
// and `access_token` is cut from logged URLs (browsers' WebSocket sign-in puts it there).
import { pino } from "pino";

export function redactUrl(url: string): string {
  return url.replace(/([?&]access_token=)[^&]*/gi, "$1[REDACTED]");
}

export function createLogger(level: string, destination?: pino.DestinationStream) {
  return pino(
    {
      level,
      base: { component: "reel-shim" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ["req.headers.authorization", "headers.authorization", "authorization", "key"],
        censor: "[REDACTED]",
      },
      serializers: {
        req: (req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip ?? req.socket?.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}

export type Logger = ReturnType<typeof createLogger>;
