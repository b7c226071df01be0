#!/usr/bin/env node
// The `reel` bin: plain JavaScript that any Node can parse, so an older Node hears which version
// reel needs instead of failing on TypeScript it cannot load (main.ts, run by Node 24 as it is).
const REQUIRED_MAJOR = 24;
const major = Number(process.versions.node.split(".")[0]);
if (major < REQUIRED_MAJOR) {
  process.stderr.write(
    `reel needs Node.js ${REQUIRED_MAJOR} or newer (this is ${process.version}, ${process.execPath}).\n` +
      `  Install Node ${REQUIRED_MAJOR} (https://nodejs.org, or nvm install ${REQUIRED_MAJOR}) and run reel with it.\n`,
  );
  process.exit(2);
}
// V8's compiled code for reel's modules, kept between runs (in the OS temp dir, or NODE_COMPILE_CACHE):
// halves the CPU a run spends before its first step (measured 0.58 -> 0.28 CPU-s for `reel run
// --dry-run`). Best effort: a read-only or full temp dir only means no cache.
const { enableCompileCache } = await import("node:module");
enableCompileCache?.();
await import("./main.ts");
