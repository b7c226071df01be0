// `reel run job.yaml`: parse and validate the manifest, run it locally, draw progress, print the
// final table (or JSON), and answer the exit code.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseVideoJob, ReelError, type VideoJob } from "@reel/crds";
import { parse as parseYaml } from "yaml";
import { runLocal, targetFor } from "../local.ts";
import { summary } from "./format.ts";
import { progress } from "./progress.ts";

export interface RunFlags {
  concurrency: number;
  out?: string;
  json: boolean;
  allow: string[];
}

export async function loadJob(file: string): Promise<VideoJob> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new ReelError("REEL_JOB_INVALID", `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new ReelError("REEL_JOB_INVALID", `${file} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  return parseVideoJob(doc);
}

export async function runFile(file: string, flags: RunFlags): Promise<number> {
  const job = await loadJob(file);
  return runAndReport(job, flags);
}

export async function runAndReport(job: VideoJob, flags: RunFlags): Promise<number> {
  // Fail on a bad output before any work starts.
  targetFor(job, flags.out && resolve(flags.out));
  const titles = job.spec.episodes.map((e, i) => e.title ?? `Episode ${i + 1}`);
  const bars = flags.json ? undefined : progress(titles);
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let result: Awaited<ReturnType<typeof runLocal>>;
  try {
    result = await runLocal(job, {
      ...(flags.out ? { outDir: resolve(flags.out) } : {}),
      concurrency: flags.concurrency,
      allow: flags.allow,
      signal: ac.signal,
      emit: (e) => bars?.on(e),
    });
  } finally {
    bars?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(`\n${summary(result)}\n\n`);
    if (result.phase === "Completed") {
      const where = result.output?.location ?? result.episodeOutputs?.map((o) => o.location).join("\n");
      process.stdout.write(`${result.output ? `merged (${result.output.chapters} chapters)` : "outputs"}: ${where}\n`);
    } else {
      process.stdout.write(`job ${result.phase.toLowerCase()}: ${result.error?.code} ${result.error?.message}\n`);
    }
  }
  return result.phase === "Completed" ? 0 : 1;
}
