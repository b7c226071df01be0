// The public API of Reel's Rust core. The generated binding (binding.js / binding.d.ts) takes a
// CancelToken and rejects with "REEL_CODE: message"; this layer offers the house shape instead:
// `download(options, { onProgress, signal })` with errors that carry `code`.
import {
  CancelToken,
  type EgressProxyHandle,
  type EgressProxyOptions,
  startEgressProxyNative,
  checkCompatible as nativeCheckCompatible,
  type DownloadOptions,
  type DownloadReport,
  download as nativeDownload,
  downloadHls as nativeDownloadHls,
  merge as nativeMerge,
  hashFile as nativeHashFile,
  errorCodes as nativeErrorCodes,
  type ErrorCodeInfo,
  type HlsOptions,
  type HlsReport,
  type MergeOptions,
  type MergeProgress,
  type MergeReport,
  type Mismatch,
  type ProgressEvent,
  type TrackChoice,
  type TrackChoices,
  type TrackReport,
} from "../binding.js";

export type {
  DownloadOptions,
  EgressProxyHandle,
  EgressProxyOptions,
  DownloadReport,
  ErrorCodeInfo,
  HlsOptions,
  HlsReport,
  MergeOptions,
  MergeProgress,
  MergeReport,
  Mismatch,
  ProgressEvent,
  TrackChoice,
  TrackChoices,
  TrackReport,
};

/** An error from the Rust core; `code` is one of `errorCodes()`. */
export class ReelNativeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReelNativeError";
    this.code = code;
  }
}

const CODED = /^(REEL_[A-Z0-9_]+): ([\s\S]*)$/;

function coded(err: unknown): unknown {
  if (err instanceof Error) {
    const m = CODED.exec(err.message);
    if (m?.[1] && m[2] !== undefined) return new ReelNativeError(m[1], m[2], { cause: err });
  }
  return err;
}

export interface CallOptions<P> {
  onProgress?: (progress: P) => void;
  signal?: AbortSignal;
}

/** Runs a native call with an AbortSignal wired to a CancelToken and coded errors. */
async function call<P, R>(
  run: (onProgress: ((p: P) => void) | undefined, token: CancelToken) => Promise<R>,
  opts: CallOptions<P> = {},
): Promise<R> {
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw new ReelNativeError("REEL_CANCELLED", "aborted before start", { cause: signal.reason });
  const token = new CancelToken();
  const abort = () => token.cancel();
  signal?.addEventListener("abort", abort, { once: true });
  try {
    return await run(onProgress, token);
  } catch (err) {
    throw coded(err);
  } finally {
    signal?.removeEventListener("abort", abort);
  }
}

/** Downloads one HTTP(S) file over parallel ranged connections, resuming a previous attempt. */
export function download(options: DownloadOptions, opts?: CallOptions<ProgressEvent>): Promise<DownloadReport> {
  return call((p, t) => nativeDownload(options, p, t), opts);
}

/** Downloads an HLS VOD playlist (variant chosen by height) into one file. */
export function downloadHls(options: HlsOptions, opts?: CallOptions<ProgressEvent>): Promise<HlsReport> {
  return call((p, t) => nativeDownloadHls(options, p, t), opts);
}

/** Joins MP4s that share codec parameters, without re-encoding, with a chapter per input. */
export function merge(options: MergeOptions, opts?: CallOptions<MergeProgress>): Promise<MergeReport> {
  return call((p, t) => nativeMerge(options, p, t), opts);
}

/**
 * What stops these MP4s from being merged without re-encoding; empty when they can be. `tracks`
 * asks about the audio and subtitle tracks a merge with the same choices would write.
 */
export async function checkCompatible(paths: string[], tracks?: TrackChoices): Promise<Mismatch[]> {
  try {
    return await nativeCheckCompatible(paths, tracks);
  } catch (err) {
    throw coded(err);
  }
}

/**
 * Starts a loopback HTTP proxy that applies the egress guard to every connection, for programs
 * Reel runs but does not write (yt-dlp gets `--proxy handle.url`). Stop it when done.
 */
export async function startEgressProxy(options: EgressProxyOptions = {}): Promise<EgressProxyHandle> {
  try {
    return await startEgressProxyNative(options);
  } catch (err) {
    throw coded(err);
  }
}

/** Hashes a file without reading it into memory: `blake3:<hex>` or `sha256:<hex>`. */
export async function hashFile(path: string, algorithm: "blake3" | "sha256" = "blake3"): Promise<string> {
  try {
    return await nativeHashFile(path, algorithm);
  } catch (err) {
    throw coded(err);
  }
}

/** Every code the Rust core can raise, with its meaning and the next step. */
export function errorCodes(): ErrorCodeInfo[] {
  return nativeErrorCodes();
}
