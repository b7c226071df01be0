// The client subcommands of `reel` (a REST client of the shim, api-shim/API.md): login, logout,
// submit, list, status, watch, cancel, retry. Exit codes as for `reel run`: 0 done (a watched job
// completed), 1 a watched job failed or was cancelled, 2 the command, credentials, server or
// manifest was wrong (the message gives the REEL_* code and what to do), 130 watch interrupted.
import { type Command, Option } from "commander";
import { ReelError } from "@reel/crds";
import { connect, type Ctx, processCtx } from "./context.ts";
import { printError } from "./errors.ts";
import { cancel, checkId, list, retry, type SubmitFlags, status, submit } from "./jobs.ts";
import { login, logout } from "./login.ts";
import { watchJob } from "./watch.ts";

const SERVER_HELP = "the shim's URL (default: REEL_SERVER, then the last `reel login`)";
const JSON_HELP = "machine output on stdout (nothing else there)";

export function addClientCommands(program: Command, ctx: Ctx = processCtx(), exit = setExitCode): void {
  const run = async (fn: () => Promise<number>) => {
    try {
      exit(await fn());
    } catch (err) {
      exit(printError(err, ctx.stderr));
    }
  };

  program
    .command("login")
    .description("sign in to a Reel server with an API key (checked with GET /api/v1/me, then saved mode 0600)")
    .option("--server <url>", "the shim's URL, e.g. https://reel.example.com (default: REEL_SERVER, then the last)")
    .option("--key <key>", "the API key (visible to other users in the process list: prefer stdin or the prompt)")
    .option("--json", JSON_HELP, false)
    .addHelpText(
      "after",
      "\nWithout --key the key is read from stdin when piped (`reel login --server URL < key.txt`), else prompted for\nwithout echo. Saved in $XDG_CONFIG_HOME/reel/credentials.json (default ~/.config/reel); REEL_SERVER and\nREEL_API_KEY override it for every command.",
    )
    .action((opts: { server?: string; key?: string; json: boolean }) => run(() => login(ctx, opts)));

  program
    .command("logout")
    .description("forget the saved key of the current server (or --server URL, or --all)")
    .option("--server <url>", "forget this server's key instead of the current one's")
    .option("--all", "forget every saved key", false)
    .option("--json", JSON_HELP, false)
    .action((opts: { server?: string; all: boolean; json: boolean }) => run(() => logout(ctx, opts)));

  program
    .command("submit")
    .description("check a VideoJob manifest locally, then create the job on the server")
    .argument("<job.yaml>", "a VideoJob manifest (as for `reel run`); - reads it from stdin")
    .option("--name <name>", "the job's id (default: metadata.name; without either the server picks one)")
    .option(
      "--file <path>",
      "upload a local file (resumable) and add it as an episode after the manifest's; repeat for more",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("-w, --watch", "then follow it as `reel watch` does (exit 0 completed, 1 failed or cancelled)", false)
    .option("--dry-run", "print the episodes, playlists listed and expanded, and exit without submitting", false)
    .option(
      "--allow <cidr>",
      "open this address range past the egress guard when listing playlists here; repeat for more",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option("--server <url>", SERVER_HELP)
    .option("--json", "the created Job as JSON on stdout (with --watch: then the events, one JSON per line)", false)
    .action((file: string, opts: SubmitFlags & { file: string[] }) => run(() => submit(ctx, file, opts)));

  program
    .command("list")
    .description("list your tenant's jobs, newest first (live ones and finished ones from history)")
    .addOption(
      new Option("--phase <phase>", "only jobs in this phase").choices([
        "Pending",
        "Downloading",
        "Processing",
        "Merging",
        "Completed",
        "Failed",
        "Cancelled",
      ]),
    )
    .option("--tag <tag>", "only jobs with this tag")
    .option("--limit <n>", "at most this many (server default 50)", (v) => positiveInt(v, "--limit"))
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .option("--server <url>", SERVER_HELP)
    .option("--json", `{items, next} as the API answers it; ${JSON_HELP}`, false)
    .action((opts: { phase?: string; tag?: string; limit?: number; cursor?: string; server?: string; json: boolean }) =>
      run(() => list(ctx, opts)),
    );

  program
    .command("status")
    .description("show one job: phase, progress, each episode, output and download link")
    .argument("<id>", "the job id (its VideoJob name)")
    .option("--server <url>", SERVER_HELP)
    .option("--json", `the Job as the API answers it; ${JSON_HELP}`, false)
    .action((id: string, opts: { server?: string; json: boolean }) => run(() => status(ctx, id, opts)));

  program
    .command("watch")
    .description("follow a job live until it is Completed (exit 0), Failed or Cancelled (exit 1)")
    .argument("<id>", "the job id")
    .option("--server <url>", SERVER_HELP)
    .option("--json", "each event as one JSON line on stdout (the last one has the final phase)", false)
    .addHelpText(
      "after",
      "\nBars per episode on a terminal, one line per phase change otherwise. A dropped stream is resumed with\nLast-Event-ID; Ctrl-C stops watching (exit 130), not the job.",
    )
    .action((id: string, opts: { server?: string; json: boolean }) =>
      run(async () => {
        checkId(id, "the job id");
        return watchJob(ctx, await connect(ctx, opts), id, opts);
      }),
    );

  program
    .command("cancel")
    .description("cancel a job: running episodes stop, finished ones are kept (cannot be undone)")
    .argument("<id>", "the job id")
    .option("--server <url>", SERVER_HELP)
    .option("--json", `the Job as the API answers it; ${JSON_HELP}`, false)
    .action((id: string, opts: { server?: string; json: boolean }) => run(() => cancel(ctx, id, opts)));

  program
    .command("retry")
    .description("a new job <id>-r1, -r2, … from a finished one: finished episodes are reused, failed ones run again")
    .argument("<id>", "the job id (Failed, or Completed with failed episodes)")
    .option("--server <url>", SERVER_HELP)
    .option("--json", `the new Job as the API answers it; ${JSON_HELP}`, false)
    .action((id: string, opts: { server?: string; json: boolean }) => run(() => retry(ctx, id, opts)));
}

function setExitCode(code: number): void {
  process.exitCode = code;
}

function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ReelError("REEL_INVALID_ARGUMENT", `${name} must be a whole number ≥ 1`);
  return n;
}
