// The benchmark's knobs from the environment, read once here.
import { homedir } from "node:os";
import { join } from "node:path";

const env = process.env;
const cacheRoot = env.REEL_BENCH_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "reel");

export const config = {
  /** Generated inputs (blobs, HLS, episodes), keyed by their parameters; safe to delete. */
  cacheDir: join(cacheRoot, "bench"),
  /** Python venv holding the pinned yt-dlp from PyPI. */
  venvDir: env.REEL_BENCH_VENV || join(cacheRoot, "bench-venv"),
  /** yt-dlp is pinned like in the worker image: same version every run, recorded in params. */
  ytDlpVersion: env.REEL_BENCH_YTDLP_VERSION || "2026.10.26",
  python: env.REEL_BENCH_PYTHON || "python3",
  /** A module to load instead of @reel/native in tools/reel-cli.mjs (same exports). */
  nativeModule: env.REEL_BENCH_NATIVE || null,
  /** operator-scale: run the operator with `--cpu-prof` into this directory. */
  operatorCpuProfDir: env.REEL_BENCH_OPERATOR_CPU_PROF || null,
  /** api-status/api-sse: run the shim with `--cpu-prof` into this directory. */
  shimCpuProfDir: env.REEL_BENCH_SHIM_CPU_PROF || null,
  /** api-status/api-sse: the shim's LOG_LEVEL; the chart's default (info) logs every request. */
  shimLogLevel: env.REEL_BENCH_SHIM_LOG_LEVEL || "info",
};
