// JSON logs through pino. Credentials never reach a log line: the Authorization header is redacted
// and `access_token` is cut from logged URLs (browsers' WebSocket sign-in puts it there).
import { writeSync } from "node:fs";
import { pino } from "pino";

export function redactUrl(url: string): string {
  return url.replace(/([?&]access_token=)[^&]*/gi, "$1[REDACTED]");
}

/** A request's path for its log line: the query cut (and a token in it never logged). */
export function logPath(url: string): string {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  // Only a path with an `=` in it can hold `&access_token=`: skip the regex for the rest.
  return path.includes("=") ? redactUrl(path) : path;
}

// pino's isoTime builds a Date and its ISO string per line; under load many lines share a
// millisecond, so the last one is kept.
let lastMs = -1;
let lastTime = "";
export function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

const pending = new Set<{ flushSync(): void }>();
let exitHook = false;

/**
 * A file descriptor (stdout) written in batches: the lines logged within `flushMs` (or until
 * `maxBytes` are pending) leave in one write(), not a write() per line on the request's path (a
 * sixth of the shim's CPU per status GET under load went to pino's write per line, measured; one
 * write per event-loop turn still cost 2 us a request, turns being short under load). Each line is
 * encoded into one reused buffer as it comes, so pino's strings die young instead of waiting for
 * the write (kept as strings for 10 ms they outlived scavenges). A line waits at most `flushMs`;
 * lines pending at exit are written then. What a SIGKILL leaves unwritten is lost.
 */
export function batchedDestination(
  fd = 1,
  o: { flushMs?: number; maxBytes?: number } = {},
): pino.DestinationStream & { flushSync(): void } {
  const flushMs = o.flushMs ?? 10;
  const maxBytes = o.maxBytes ?? 64 * 1024;
  const buf = Buffer.allocUnsafe(2 * maxBytes);
  let used = 0;
  let timer: NodeJS.Timeout | undefined;
  let broken = false;
  const wait = new Int32Array(new SharedArrayBuffer(4));
  const writeAll = (bytes: Buffer) => {
    let rest = bytes;
    while (rest.length && !broken) {
      try {
        rest = rest.subarray(writeSync(fd, rest));
      } catch (err) {
        // A full pipe (a non-blocking stdout): wait a little, as pino's own writer does.
        if ((err as NodeJS.ErrnoException).code === "EAGAIN") Atomics.wait(wait, 0, 0, 10);
        else broken = true; // EPIPE and the like: nobody reads the log any more
      }
    }
  };
  const dest = {
    write(line: string) {
      if (broken) return;
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      if (used + 3 * line.length > buf.length) {
        dest.flushSync();
        if (3 * line.length > buf.length) {
          writeAll(Buffer.from(line));
          return;
        }
      }
      used += buf.write(line, used);
      if (used >= maxBytes) dest.flushSync();
      else timer ??= setTimeout(dest.flushSync, flushMs).unref();
    },
    flushSync() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!used) return;
      const n = used;
      used = 0;
      writeAll(buf.subarray(0, n));
    },
  };
  pending.add(dest);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const d of pending) d.flushSync();
    });
  }
  return dest;
}

/** The shim's logger: JSON lines to `destination`, by default stdout through batchedDestination(). */
export function createLogger(level: string, destination?: pino.DestinationStream) {
  return pino(
    {
      level,
      base: { component: "reel-shim" },
      timestamp: isoTime,
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
    destination ?? batchedDestination(1),
  );
}

export type Logger = ReturnType<typeof createLogger>;

type LogArgs = Parameters<Logger["info"]>;

/**
 * Fastify's req.log: the pino child bound to the request's id, made on first use. Fastify makes one
 * per request, pino's child() serialises its bindings, and most requests never log through it (the
 * request line goes through the root logger with the id as a field).
 */
export class LazyChildLogger {
  readonly #parent: Logger;
  readonly #bindings: pino.Bindings;
  readonly #opts: pino.ChildLoggerOptions;
  #made: Logger | undefined;

  constructor(parent: Logger, bindings: pino.Bindings, opts: pino.ChildLoggerOptions = {}) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#opts = opts;
  }

  #log(): Logger {
    this.#made ??= this.#parent.child(this.#bindings, this.#opts);
    return this.#made;
  }

  get level(): string {
    return this.#made?.level ?? this.#opts.level ?? this.#parent.level;
  }
  set level(level: string) {
    this.#log().level = level;
  }
  trace(...args: LogArgs): void {
    this.#log().trace(...args);
  }
  debug(...args: LogArgs): void {
    this.#log().debug(...args);
  }
  info(...args: LogArgs): void {
    this.#log().info(...args);
  }
  warn(...args: LogArgs): void {
    this.#log().warn(...args);
  }
  error(...args: LogArgs): void {
    this.#log().error(...args);
  }
  fatal(...args: LogArgs): void {
    this.#log().fatal(...args);
  }
  silent(): void {}
  child(bindings: pino.Bindings, opts?: pino.ChildLoggerOptions): Logger {
    return this.#log().child(bindings, opts);
  }
  isLevelEnabled(level: string): boolean {
    return this.#log().isLevelEnabled(level);
  }
  bindings(): pino.Bindings {
    return this.#log().bindings();
  }
}
