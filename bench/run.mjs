#!/usr/bin/env node
// Reel's benchmarks: `npm run bench -- [download|merge|hls|resume|transcode|job|quality|operator|api|<scenario>...] [--quick]`.
// No name runs them all. Every scenario prints a table and writes bench/results/<scenario>.json.
// Exit status is non-zero only when the harness itself failed; unmet goals are reported
// as FAIL in the table and the JSON, not through the exit code.
import { report } from "./lib/report.mjs";
import { runCleanup } from "./lib/cleanup.mjs";
import { rssMethod } from "./lib/proc.mjs";
import { annotateReelRss } from "./lib/tools.mjs";

const scenarios = {
  "download-throttled": async (ctx) => (await import("./scenarios/download.mjs")).downloadThrottled(ctx),
  "download-unthrottled": async (ctx) => (await import("./scenarios/download.mjs")).downloadUnthrottled(ctx),
  "download-resume": async (ctx) => (await import("./scenarios/resume.mjs")).downloadResume(ctx),
  hls: async (ctx) => (await import("./scenarios/hls.mjs")).hls(ctx),
  merge: async (ctx) => (await import("./scenarios/merge.mjs")).merge(ctx),
  "merge-tracks": async (ctx) => (await import("./scenarios/merge.mjs")).mergeTracks(ctx),
  "transcode-segments": async (ctx) => (await import("./scenarios/transcode.mjs")).transcodeSegments(ctx),
  "job-e2e": async (ctx) => (await import("./scenarios/job.mjs")).jobE2e(ctx),
  "quality-vmaf": async (ctx) => (await import("./scenarios/quality.mjs")).qualityVmaf(ctx),
  "operator-scale": async (ctx) => (await import("./scenarios/operator.mjs")).operatorScale(ctx),
  "api-status": async (ctx) => (await import("./scenarios/api.mjs")).apiStatus(ctx),
  "api-sse": async (ctx) => (await import("./scenarios/api.mjs")).apiSse(ctx),
};
const groups = {
  download: ["download-throttled", "download-unthrottled"],
  resume: ["download-resume"],
  hls: ["hls"],
  merge: ["merge", "merge-tracks"],
  transcode: ["transcode-segments"],
  job: ["job-e2e"],
  quality: ["quality-vmaf"],
  operator: ["operator-scale"],
  api: ["api-status", "api-sse"],
};

const USAGE = `usage: npm run bench -- [${Object.keys(groups).join("|")}|${Object.keys(scenarios).join("|")}]... [--quick]
  --quick   small inputs and 2-3 rounds: the whole set in about five minutes
  no name   runs every scenario`;

function parseArgs(argv) {
  const names = [];
  let quick = false;
  for (const a of argv) {
    if (a === "--quick") quick = true;
    else if (a === "-h" || a === "--help") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (groups[a]) names.push(...groups[a]);
    else if (scenarios[a]) names.push(a);
    else {
      process.stderr.write(`bench: unknown argument ${a}\n${USAGE}\n`);
      process.exit(2);
    }
  }
  return { quick, names: names.length ? [...new Set(names)] : Object.keys(scenarios) };
}

const { quick, names } = parseArgs(process.argv.slice(2));
const started = performance.now();
const log = (msg) => process.stderr.write(`  ${msg}\n`);
let failed = 0;
process.stdout.write(`reel bench: ${names.join(", ")}${quick ? " (quick)" : ""}; peak RSS via ${rssMethod}\n`);
for (const name of names) {
  const t0 = performance.now();
  process.stderr.write(`\n# ${name}\n`);
  try {
    const result = await scenarios[name]({ quick, log: (m) => log(`[${name}] ${m}`) });
    result.params = {
      ...result.params,
      quick,
      rss_method: rssMethod,
      scenario_seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
    // Where reel's peak is a child's (an ffmpeg under Node), Node's idle RSS is no baseline.
    if (result.rssOverIdle !== false) await annotateReelRss(result.rows);
    report(result);
  } catch (err) {
    failed++;
    process.stderr.write(`\nbench: ${name} failed in the harness: ${err?.stack ?? err}\n`);
  }
}
await runCleanup();
process.stdout.write(
  `\nbench: done in ${Math.round((performance.now() - started) / 1000)} s${failed ? `, ${failed} scenario(s) failed` : ""}\n`,
);
process.exitCode = failed ? 1 : 0;
