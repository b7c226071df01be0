// `reel run` as its integration tests drive it: a VideoJob manifest written to the test's folder,
// the real CLI in its own process (`node cli/main.ts run job.yaml --json --allow …`) with the
// test's own cache, and its JSON result read back. One place for what a dozen files spelled out.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import type { JobResult } from "../pipeline/job.ts";

const exec = promisify(execFile);
const main = join(import.meta.dirname, "..", "cli", "main.ts");

export interface ReelRunOptions {
  /** The test's folder: the manifest goes there, and the cache (`cache/`) unless `cacheDir` says. */
  dir: string;
  /** metadata.name, and the manifest's file name. */
  name: string;
  spec: Record<string, unknown>;
  /** --allow ranges (the loopback address the test serves its media on). */
  allow?: string[];
  /** REEL_CACHE_DIR; default `<dir>/cache`. */
  cacheDir?: string;
  /** More environment for the run. */
  env?: Record<string, string>;
}

export interface ReelRun<R = JobResult> {
  result: R;
  /** The exit code (0, or 1 for a job that failed, …). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the manifest through `reel run --json`; never throws for a non-zero exit, only when no JSON came back. */
export async function reelRun<R = JobResult>(o: ReelRunOptions): Promise<ReelRun<R>> {
  const job = join(o.dir, `${o.name}.yaml`);
  await writeFile(
    job,
    stringify({ apiVersion: "reel.dev/v1alpha1", kind: "VideoJob", metadata: { name: o.name }, spec: o.spec }),
  );
  const allow = (o.allow ?? ["127.0.0.2/32"]).flatMap((a) => ["--allow", a]);
  const r = await exec(process.execPath, [main, "run", job, "--json", ...allow], {
    env: { ...process.env, REEL_CACHE_DIR: o.cacheDir ?? join(o.dir, "cache"), ...o.env },
    maxBuffer: 64 * 1024 * 1024, // a 500-episode result
  }).then(
    (ok) => ({ ...ok, code: 0 }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
      code: typeof e.code === "number" ? e.code : 1,
    }),
  );
  let result: R;
  try {
    result = JSON.parse(r.stdout) as R;
  } catch {
    throw new Error(`reel run printed no JSON result (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  }
  return { result, code: r.code, stdout: r.stdout, stderr: r.stderr };
}
