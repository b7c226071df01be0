#!/usr/bin/env node
// `reel`: runs VideoJobs on this machine (`reel run`, `reel demo`); inside a cluster the same
// binary is the worker pod (`reel worker`) and the node-probe DaemonSet (`reel node-probe`), and
// the client of a shared installation's REST shim (`reel login|submit|list|status|watch|cancel`).
// Exit codes: 0 the job completed, 1 it failed or was cancelled, 2 the command or the manifest was
// wrong or the machine lacks a tool (the message says which and what to do).
import { Command, CommanderError, Option } from "commander";
import { ReelError, redactText } from "@reel/crds";
import { config } from "../config.ts";
import { addClientCommands } from "./client/commands.ts";
import { demo } from "./demo.ts";
import { printable } from "./format.ts";
import { type RunFlags, runFile } from "./run.ts";

const program = new Command()
  .name("reel")
  .description("Reel: turn a list of episode URLs into one compressed, merged video with chapters.")
  .version("0.1.0")
  .exitOverride();

program
  .command("run")
  .description("run a VideoJob manifest on this machine (no cluster, no Redis, no PostgreSQL, no S3 needed)")
  .argument("<job.yaml>", "a VideoJob manifest (kind: VideoJob, apiVersion: reel.dev/v1alpha1)")
  .option("-c, --concurrency <n>", "episodes processed at once", (v) => positiveInt(v, "--concurrency"), 2)
  .option("-o, --out <dir>", "output directory (overrides spec.output)")
  .option("--json", "print the result as JSON on stdout, no progress bars", false)
  .addOption(
    new Option("--allow <cidr...>", "open these address ranges past the egress guard (private sources)").default([]),
  )
  .option("--allow-metadata", "confirm an --allow range that opens the cloud metadata address (169.254.169.254)", false)
  .option("--dry-run", "print the episodes, playlists expanded, and exit without running them", false)
  .option(
    "--cookies <file>",
    "a Netscape cookies file (cookies.txt) for sites that need a signed-in session; yt-dlp gets a private copy, no cookie is ever shown",
  )
  .option(
    "--storage-class <class>",
    "S3 storage class of the outputs, e.g. STANDARD_IA (over REEL_S3_STORAGE_CLASS; staging stays STANDARD)",
  )
  .action(async (file: string, opts: RunFlags) => {
    process.exitCode = await runFile(file, opts);
  });

program
  .command("demo")
  .description("make sample episodes, serve them on loopback and run a whole job on them")
  .option("-o, --out <dir>", "where the merged video goes", "reel-demo")
  .option("-n, --episodes <n>", "how many sample episodes", (v) => positiveInt(v, "--episodes"), 3)
  .option("--json", "print the result as JSON on stdout", false)
  .action(async (opts: { out: string; episodes: number; json: boolean }) => {
    process.exitCode = await demo(opts);
  });

program
  .command("worker")
  .description("run one episode or the merge inside a Kubernetes Job pod (reads the REEL_* env the operator sets)")
  .action(async () => {
    const { workerMain } = await import("../worker/main.ts");
    process.exitCode = await workerMain(process.env);
  });

program
  .command("node-probe")
  .description("test-encode on this node and label its Node object with the encoders that work (DaemonSet)")
  .action(async () => {
    const { nodeProbeMain } = await import("../nodeprobe/main.ts");
    process.exitCode = await nodeProbeMain(process.env);
  });

addClientCommands(program);

function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ReelError("REEL_JOB_INVALID", `${name} must be a whole number ≥ 1`);
  return n;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof ReelError) {
    process.stderr.write(`error ${err.code}: ${shown(err.message)}\n  ${err.hint}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`error: ${shown((err as Error).stack ?? String(err))}\n`);
    process.exitCode = 2;
  }
}

/** A message as the terminal may show it: no URL secrets or credentials, no control characters. */
function shown(message: string): string {
  return printable(redactText(message, [config.AWS_ACCESS_KEY_ID ?? "", config.AWS_SECRET_ACCESS_KEY ?? ""]), {
    lines: true,
  });
}
