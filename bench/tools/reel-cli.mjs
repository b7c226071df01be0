#!/usr/bin/env node
// Runs one Reel operation in its own process, so the harness measures its wall time and
// peak RSS the same way as curl's or ffmpeg's. Usage:
//   node bench/tools/reel-cli.mjs <download|hls|merge|probe> '<options JSON>' [--progress]
// Prints JSON lines on stdout: {"event":"start","pid"}, {"event":"progress",...} with
// --progress, then {"event":"done","report"} (exit 0) or {"event":"error","code","message"} (exit 1).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { config } from "../lib/config.mjs";

const [op, json = "{}", ...flags] = process.argv.slice(2);
const withProgress = flags.includes("--progress");
const emit = (obj) =>
  process.stdout.write(`${JSON.stringify(obj, (_k, v) => (typeof v === "bigint" ? Number(v) : v))}\n`);

async function loadReel() {
  // Another build of the API (same exports), e.g. to compare two builds side by side.
  if (config.nativeModule) return await import(pathToFileURL(resolve(config.nativeModule)).href);
  try {
    return await import("@reel/native");
  } catch (err) {
    // Before `npm install` has linked the workspace, load the package by path.
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || !String(err.message).includes("@reel/native")) throw err;
    const pkg = new URL("../../crates/node/lib/index.ts", import.meta.url);
    return await import(pkg.href);
  }
}

emit({ event: "start", pid: process.pid });
try {
  const reel = await loadReel();
  const options = JSON.parse(json);
  const onProgress = withProgress ? (p) => emit({ event: "progress", ...p }) : undefined;
  let report;
  switch (op) {
    case "download":
      report = await reel.download(options, { onProgress });
      break;
    case "hls":
      report = await reel.downloadHls(options, { onProgress });
      break;
    case "merge":
      report = await reel.merge(options, { onProgress });
      break;
    case "probe":
      // Loads the binding and does no work: the harness's check that reel runs here, and
      // the RSS floor of a Node process holding it.
      report = { errorCodes: reel.errorCodes().length, node: process.version };
      break;
    default:
      throw Object.assign(new Error(`unknown op ${op}`), { code: "BENCH_USAGE" });
  }
  emit({ event: "done", report });
} catch (err) {
  emit({ event: "error", code: err?.code ?? null, message: String(err?.message ?? err) });
  process.exitCode = 1;
}
