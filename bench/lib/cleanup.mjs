// One place that owns everything a benchmark run leaves behind: temp dirs,
// child process groups and servers. Cleanup runs on normal exit and on
// SIGINT/SIGTERM so an interrupted run leaves no nginx or downloader behind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const hooks = new Set();
let installed = false;

/** Register fn to run at cleanup; returns a function that runs it early and unregisters it. */
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
  const remove = onCleanup(() => rmSync(dir, { recursive: true, force: true }));
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
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.once(sig, async () => {
      process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
      await runCleanup();
      process.exit(130);
    });
  }
  // Last resort for synchronous hooks if the process exits without runCleanup().
  process.once("exit", () => {
    for (const { fn } of hooks) {
      try {
        fn();
      } catch {}
    }
  });
}
