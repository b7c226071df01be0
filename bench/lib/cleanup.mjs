// One place that owns everything a benchmark run leaves behind: temp dirs,
// child process groups and servers. Cleanup runs on normal exit and on
// SIGINT/SIGTERM so an interrupted run leaves no nginx or downloader behind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const hooks = new Set();
let installed = false;

/**
 * Register fn to run at cleanup; returns a function that runs it early and unregisters it.
 * fn gets { urgent: true } on a signal or exit, where only its synchronous part will run.
 */
export function onCleanup(fn) {
  install();
  const entry = { fn };
  hooks.add(entry);
  return async () => {
    if (!hooks.delete(entry)) return;
    await fn();
  };
}

/** A fresh temp dir under os.tmpdir(), removed at cleanup (or earlier via the returned remove()). */
export function makeTempDir(prefix = "reel-bench-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = onCleanup(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }));
  return { dir, remove };
}

export async function runCleanup() {
  const entries = [...hooks].reverse();
  hooks.clear();
  for (const { fn } of entries) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`cleanup: ${err?.message ?? err}\n`);
    }
  }
}

function install() {
  if (installed) return;
  installed = true;
  // On a signal, nothing else may run: start every hook synchronously (each begins with its
  // kill or rm), do not wait for the async tails, and exit. Awaiting here would let the
  // interrupted scenario carry on and write a result from a half-torn-down run.
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
      runHooksNow();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
  process.once("exit", runHooksNow);
}

function runHooksNow() {
  const entries = [...hooks].reverse();
  hooks.clear();
  for (const { fn } of entries) {
    try {
      const p = fn({ urgent: true });
      p?.catch?.(() => {});
    } catch {}
  }
}
