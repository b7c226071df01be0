// `reel worker` pods for integration tests, run in-process through workerMain.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { workerMain } from "../worker/main.ts";

export interface PodRun<R> {
  /** The exit code. */
  code: number;
  /** The termination message as written, and parsed. */
  raw: string;
  result: R;
  logs: string;
}

/**
 * Returns a runner for pods as the operator's Jobs start them: each run gets the env the Job would
 * set over `base`, and a fresh scratch dir and termination log under `dir`, as each pod gets a fresh
 * emptyDir. Sources are served on 127.0.0.2, the one address the egress guard lets through.
 */
export function podRunner<R>(dir: string, base: NodeJS.ProcessEnv): (env: NodeJS.ProcessEnv) => Promise<PodRun<R>> {
  let pods = 0;
  return async (env) => {
    const n = pods++;
    const termination = join(dir, `termination-${n}`);
    const stream = new PassThrough();
    let logs = "";
    stream.on("data", (c: Buffer) => {
      logs += c.toString();
    });
    const code = await workerMain(
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REEL_EGRESS_ALLOW: "127.0.0.2/32",
        REEL_CACHE_DIR: join(dir, `scratch-${n}`),
        REEL_TERMINATION_LOG: termination,
        ...base,
        ...env,
      },
      { logStream: stream },
    );
    const raw = await readFile(termination, "utf8");
    return { code, raw, result: JSON.parse(raw) as R, logs };
  };
}
