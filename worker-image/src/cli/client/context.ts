// What a client command reads and writes besides the network: the streams, the environment, and
// transport settings (tests shorten the timeouts). Commands get it as an argument, so tests run
// them in-process against a loopback server.
import type { HttpOptions } from "./http.ts";
import type { SseOptions } from "./sse.ts";
import type { UploadFlags } from "./upload.ts";
import { parseClientEnv } from "./config.ts";
import { resolveTarget } from "./credentials.ts";
import { Api } from "./http.ts";

export interface Ctx {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  http?: HttpOptions;
  sse?: Omit<SseOptions, "lastEventId" | "signal">;
  /** `reel submit --file` transfer settings (PATCH size, waits between tries); the defaults when absent. */
  upload?: Omit<UploadFlags, "quiet">;
  /** Ctrl-C while watching; defaults to the process's SIGINT/SIGTERM. */
  interrupt?: AbortSignal;
}

export function processCtx(): Ctx {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

export interface ServerFlag {
  server?: string;
}

/** The API client for --server/REEL_SERVER/the stored login, with the matching key. */
export async function connect(ctx: Ctx, flags: ServerFlag): Promise<Api> {
  const target = await resolveTarget(parseClientEnv(ctx.env), flags);
  return new Api(target, ctx.http);
}

export function printJson(ctx: Ctx, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
