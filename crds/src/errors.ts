// The one registry of Reel's error codes. Status, the API, the CLI and webhooks show these codes;
// each has a meaning and the next step for the person reading it. Codes raised by the Rust core are
// listed here too (a test checks that every code the core can raise is present).
import { redactUrls } from "./redact.ts";

export const errorCodes = {
  // Raised by the Rust core (crates/core/src/error.rs).
  REEL_INVALID_ARGUMENT: "An option passed to the call is invalid; fix the option named in the message.",
  REEL_CANCELLED: "The operation was cancelled by its caller.",
  REEL_IO: "A local file operation failed (disk full, permissions, missing directory); check the path and free space.",
  REEL_EGRESS_DENIED:
    "The URL resolves to an internal address (loopback, private, link-local, metadata); use a public URL or ask the operator to allowlist the range.",
  REEL_SOURCE_UNREACHABLE:
    "The source could not be reached (DNS failure, connection refused or reset) after retries; check the URL and try again later.",
  REEL_SOURCE_TIMEOUT:
    "The source stopped sending data or was too slow (connect, idle-read or total timeout); try again later or raise the timeout.",
  REEL_SOURCE_NOT_FOUND: "The source answered 404/410: the URL is wrong or the file was removed.",
  REEL_SOURCE_FORBIDDEN: "The source answered 401/403: the URL needs credentials or has expired.",
  REEL_SOURCE_HTTP: "The source answered an HTTP error that retries did not clear; the message has the status.",
  REEL_SOURCE_TLS: "The TLS handshake with the source failed (bad or expired certificate).",
  REEL_SOURCE_PROTOCOL:
    "The source broke HTTP rules (wrong Content-Range, short body, bad redirect); it may be misconfigured.",
  REEL_SOURCE_CHANGED:
    "The source file changed during the download (ETag/Last-Modified differ) more often than allowed.",
  REEL_SOURCE_TOO_LARGE:
    "The source is larger than the installation's byte cap (REEL_MAX_SOURCE_BYTES, 50 GiB by default): use a smaller source or rendition, or ask the operator to raise the cap.",
  REEL_SIZE_MISMATCH: "The downloaded size differs from the announced size.",
  REEL_CHECKSUM_MISMATCH: "The downloaded file does not match the expected checksum.",
  REEL_TOO_MANY_REDIRECTS: "The source redirected too many times.",
  REEL_UNSUPPORTED_SCHEME: "Only http and https URLs are accepted.",
  REEL_HLS_INVALID: "The HLS playlist could not be parsed.",
  REEL_HLS_LIVE: "The HLS playlist is live (no #EXT-X-ENDLIST); only VOD playlists are supported.",
  REEL_HLS_LOOP: "The HLS playlist refers to itself or to a playlist already visited.",
  REEL_HLS_BAD_URI: "An HLS segment or key URI is not http(s) (file:, data: and others are refused).",
  REEL_HLS_TOO_MANY_SEGMENTS: "The HLS playlist has more segments than the configured limit.",
  REEL_HLS_UNSUPPORTED:
    "The HLS playlist uses a feature Reel does not support (SAMPLE-AES or another key method than AES-128); use a rendition without it or a direct file.",
  REEL_MERGE_INVALID_INPUT: "A merge input is not a readable MP4 (no moov, truncated, not MP4).",
  REEL_MERGE_MISMATCH: "Merge inputs do not share codec parameters; normalise them (re-encode) before merging.",
  REEL_MERGE_UNSUPPORTED:
    "A merge input uses an MP4 feature the merge does not handle (fragmented MP4, more than one video or audio track).",

  // Raised by the TypeScript side.
  REEL_JOB_INVALID: "The VideoJob manifest does not match the schema; fix the fields listed in the message.",
  REEL_MEDIA_INVALID:
    "The source is not playable media (empty, truncated, not a video, or a playlist disguised as media); check the URL points at the video itself.",
  REEL_SOURCE_TRUNCATED:
    "The source ends before the length its header claims (cut at the origin or an incomplete upload): less was decoded than announced. Fix the source, or set merge.allowPartial to keep what was decoded (status then carries a warning).",
  REEL_AUDIO_LANGUAGE_MISSING:
    "The source has no audio track in a language that spec.audio.languages asks for, and spec.audio.missing is fail; use a source with that language, or set audio.missing: silence to give the episode a silent track.",
  REEL_SUBTITLES_DROPPED:
    "A subtitle track could not be kept (an image format such as PGS, DVB or VobSub has no text for mov_text); a warning on the episode, the rest of it is kept. Use a text subtitle file (episodes[].subtitles) for that language.",
  REEL_MEDIA_LIMITS:
    "The media exceeds a limit (dimensions, duration or stream count); use a smaller source or ask the operator to raise the limit.",
  REEL_FFMPEG_MISSING:
    "ffmpeg or ffprobe is not installed or not on PATH; install ffmpeg (Debian: apt-get install ffmpeg).",
  REEL_FFMPEG_FAILED:
    "ffmpeg failed while processing; the message has its last lines. Retrying on other hardware may help.",
  REEL_ENCODER_UNAVAILABLE:
    "No working encoder for the requested codec and GPU policy; allow CPU fallback (gpu.policy: auto) or pick another codec.",
  REEL_YTDLP_MISSING: "yt-dlp is not installed; run the bootstrap or install the pinned version.",
  REEL_YTDLP_FAILED: "yt-dlp could not extract the video from the page; check the URL is a supported site.",
  // yt-dlp's failures, named (worker-image/src/fetch/ytdlp-errors.ts reads them from its output).
  REEL_SOURCE_SIGN_IN:
    "The site wants a signed-in session or a bot check before it serves this video; try again later, or give the site's cookies (reel run --cookies FILE; in a cluster spec.ytdlp.cookiesSecret).",
  REEL_COOKIES_INVALID:
    "The cookies file (reel run --cookies, or the Secret key in spec.ytdlp.cookiesSecret) is missing, unreadable, over 1 MiB or not in the Netscape format; the message names the file or the Secret and key, never a cookie. Export the site's cookies as cookies.txt and give that file.",
  REEL_SOURCE_GEO_BLOCKED:
    "The site does not serve this video in the country the download ran from; use a source available there, or run Reel from a region the site serves.",
  REEL_SOURCE_PRIVATE: "The video is private; ask its owner to make it public or unlisted, or use another source.",
  REEL_SOURCE_UNAVAILABLE:
    "The site says the video was removed or is unavailable (deleted, terminated account, copyright claim); remove the episode or find another copy.",
  REEL_SOURCE_AGE_RESTRICTED:
    "The site serves this video only to signed-in adults; use another source, or give the site's cookies (reel run --cookies FILE; in a cluster spec.ytdlp.cookiesSecret).",
  REEL_SOURCE_RATE_LIMITED:
    "The site is limiting how often it answers this address; wait the delay in the message (a minute when the site names none), then retry with fewer episodes from that site at once.",
  REEL_SOURCE_UNSUPPORTED:
    "yt-dlp knows no way to get a video from this page; give the video's page on a supported site, a direct media URL or an HLS playlist.",
  REEL_SOURCE_LIVE:
    "The source is a live stream or a scheduled premiere, not a finished video; wait until it has ended and its recording is published, then use that URL.",
  REEL_SOURCE_IS_PLAYLIST:
    'The episode\'s url is a playlist or channel, not one video; list it as `- playlist: URL` with `items: "1-12"` to take its videos as episodes.',
  REEL_PLAYLIST_NOT_A_PLAYLIST:
    "The `playlist:` entry's URL is a single video, not a playlist; list it as `- url: URL` instead.",
  REEL_PLAYLIST_EMPTY:
    "The playlist has no items in the chosen range (`items`); check the numbers against the playlist (1 is its first item).",
  REEL_TOO_MANY_EPISODES:
    "The job has more than 500 episodes once its playlists are expanded; choose fewer with `items:` or split the job.",
  REEL_CIRCUIT_OPEN: "Too many recent failures from this host or backend; Reel is pausing requests to it. Retry later.",
  REEL_STORAGE_FAILED:
    "Writing the output to storage failed after retries; check the bucket, credentials and endpoint.",
  REEL_QUALITY_TARGET_UNREACHABLE: "No compression level reached the target quality; lower the target or use level 1.",
  REEL_EPISODES_FAILED: "One or more episodes failed and partial merge is not allowed; see each episode's error.",
  REEL_WORKER_ENV_INVALID:
    "The worker pod's environment (set by the operator) is missing a variable or has a malformed one; the message names it. Check that the operator and worker image versions match.",
  REEL_STAGING_MISSING:
    "A file the merge needs is not in staging (an episode pod did not finish or its staging was removed); the operator re-runs the episode.",
  REEL_INTERNAL:
    "An unexpected error inside Reel (a bug, not the input); the message has the details. It is retried; report it if it persists.",
  REEL_ENCODER_FAILED:
    "The GPU encoder failed on this node (the worker exits 3); the operator retries the episode on another capable node, then on the CPU when gpu.policy allows.",
  // Raised by the operator from what it observes of a Job.
  REEL_WORKER_FAILED:
    "The worker pod failed without a result (crash, out of memory, eviction, image pull) more often than the retry limit; check the pod's events and logs with kubectl describe.",
  REEL_EPISODE_DEADLINE:
    "The episode's Job ran longer than its deadline (activeDeadlineSeconds); raise the operator's REEL_ACTIVE_DEADLINE_SECONDS or split the episode.",
  // Raised by the CLI client (reel login/submit/list/status/watch/cancel) about its own side.
  REEL_SHIM_UNREACHABLE:
    "The CLI could not reach the Reel API server (connection refused, DNS failure, timeout); check the server URL (--server, REEL_SERVER or the one saved by reel login) and that the shim is running.",
  REEL_SHIM_RESPONSE_INVALID:
    "The server answered something that is not the Reel API (an HTML page, a proxy error, a malformed body); check that the server URL points at the shim itself, e.g. https://reel.example.com without /api.",
  REEL_NOT_LOGGED_IN:
    "The CLI has no credentials for this server; run reel login --server URL (the key is read from stdin or a prompt) or set REEL_API_KEY.",
  REEL_CREDENTIALS_INVALID:
    "The CLI's credentials file ($XDG_CONFIG_HOME/reel/credentials.json) cannot be read or is malformed; fix its permissions or remove it with reel logout --all and log in again.",
  // Answered by the REST shim (api-shim/API.md).
  REEL_AUTH_REQUIRED:
    "The call has no credential; send Authorization: Bearer <API key or JWT> (reel login stores one for the CLI).",
  REEL_AUTH_INVALID:
    "The credential was refused (unknown, revoked or expired key; JWT with a bad signature, algorithm, audience, issuer or lifetime); sign in again or create a new key.",
  REEL_FORBIDDEN:
    "Your role or the key's scopes do not allow this action; ask an admin for the operator role or use a key with the needed scope.",
  REEL_JOB_NOT_FOUND: "No job with this id in your tenant; check the id with `reel list`.",
  REEL_JOB_EXISTS: "A job with this name already exists in your tenant; pick another name or leave it out.",
  REEL_JOB_FINISHED:
    "The job has finished and its VideoJob is gone; only its history is kept, so it cannot be cancelled.",
  REEL_JOB_NOT_RETRYABLE:
    "Only a finished job with failed episodes can be retried (Failed, or Completed with some failed): wait until it ends, or submit a cancelled or fully completed job again.",
  REEL_NOT_FOUND: "Nothing is served at this path, or the object named in it does not exist; check the URL and id.",
  REEL_BODY_TOO_LARGE:
    "The request body is larger than the shim accepts; send fewer episodes per job or ask for a higher limit.",
  REEL_RATE_LIMITED: "Too many requests from this key or address; wait for the seconds in Retry-After, then try again.",
  REEL_UNAVAILABLE:
    "A service the shim needs (PostgreSQL, Redis or the Kubernetes API) is not reachable right now; retry shortly, and check /api/health.",
  // Raised by the shim's webhook sender (api-shim/src/webhooks/).
  REEL_WEBHOOK_INVALID:
    "spec.notification.webhook cannot be used: the URL is malformed or its host does not resolve, or the secretRef names a Secret or key that does not exist or does not hold a whsec_ secret of 24+ bytes; fix the URL or create the Secret, then submit again.",
  // Raised by the operator at start and by the worker (pods and reel run) about their environment.
  REEL_CONFIG_INVALID:
    "An installation setting from the environment is malformed (REEL_S3_SSE, REEL_S3_SSE_KMS_KEY_ID, REEL_S3_STORAGE_CLASS or reel run --storage-class, REEL_OUTPUT_PUBLIC_BASE_URL, REEL_OUTPUT_RETENTION, REEL_FINISHED_RETENTION); the message names the variable and what it accepts. Fix the chart value (s3.*, outputs.*) or the variable.",
  // Logged by a worker pod (its progress is an extra: the episode goes on) and by the operator.
  REEL_REDIS_DENIED:
    "Redis refused the worker pod's user (WRONGPASS: unknown user or password; NOPERM: a key or command outside its namespace); the operator re-creates the namespace's user when Redis reconnects and every 30 s. Check the operator's log, or set redis.workerAcl=false for a Redis without ACLs.",
  REEL_TENANT_UNKNOWN:
    "No tenant of that name. Create it with POST /api/v1/admin/tenants or pick one from GET /api/v1/admin/tenants.",
  REEL_TENANT_EXISTS: "A tenant of that name, or using that namespace, already exists. Pick another name or namespace.",
  REEL_LAST_ADMIN: "The change would leave no admin. Make another user admin first.",
  // Answered by the shim's output download route (GET /api/v1/jobs/:id/outputs/:n/download).
  REEL_OUTPUT_EXPIRED:
    "The output file was deleted by the installation's output retention (status expiredAt); submit the job again to produce it.",
  REEL_OUTPUT_ON_VOLUME:
    "The output file is on a PersistentVolume (pvc://), which has no download link; read it from a pod that mounts the claim.",
  REEL_OUTPUT_CREDENTIALS_MISSING:
    "No download link can be signed: the Secret named by spec.output.s3.credentialsSecret is missing in the job's namespace or lacks accessKeyId/secretAccessKey; create it again there.",
  // Uploads through the shim (api-shim/src/uploads, episodes' `upload:` source).
  REEL_UPLOAD_QUOTA_EXCEEDED:
    "The upload would take the tenant past its upload quota (uploads under way count with their full length); delete finished or abandoned uploads (DELETE /api/v1/uploads/:id) or ask an admin for a larger quota.",
  REEL_UPLOAD_INCOMPLETE:
    "The episode names an upload that has not received all its bytes yet; resume the upload (tus HEAD then PATCH) and submit the job when it is complete.",
} as const;

export type ErrorCode = keyof typeof errorCodes;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(errorCodes, code);
}

/** An error with a stable code, a message for people and its cause. */
export class ReelError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    // Messages reach status, webhooks and terminals: no URL's secret parts, whoever wrote them.
    super(redactUrls(message), options);
    this.name = "ReelError";
    this.code = code;
  }

  /** What the code means and what to do next. */
  get hint(): string {
    return errorCodes[this.code];
  }

  /** Wraps anything thrown (a native error with `code`, a plain Error) into a ReelError. */
  static from(err: unknown, fallback: ErrorCode, context?: string): ReelError {
    if (err instanceof ReelError) return err;
    const code = (err as { code?: unknown } | null)?.code;
    const message = err instanceof Error ? err.message : String(err);
    const prefixed = context ? `${context}: ${message}` : message;
    return new ReelError(isErrorCode(code) ? code : fallback, prefixed, { cause: err });
  }
}

/**
 * Codes that mean the request itself is wrong: retrying the same input cannot succeed, so a worker
 * pod exits 2 and the Job fails at once (podFailurePolicy FailJob). Everything else exits 1 and is
 * retried. When unsure a code stays out: a wrongly final code loses a job that a retry would have
 * finished, a wrongly retried one only costs a few attempts. So REEL_YTDLP_FAILED (also a network
 * failure inside yt-dlp), REEL_SOURCE_TLS, REEL_SOURCE_HTTP (5xx) and REEL_ENCODER_UNAVAILABLE
 * (another node may have one) are retried.
 */
export const badInputCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "REEL_EGRESS_DENIED",
  "REEL_SOURCE_NOT_FOUND",
  "REEL_SOURCE_FORBIDDEN",
  "REEL_SOURCE_TOO_LARGE",
  "REEL_TOO_MANY_REDIRECTS",
  "REEL_UNSUPPORTED_SCHEME",
  "REEL_HLS_INVALID",
  "REEL_HLS_LIVE",
  "REEL_HLS_LOOP",
  "REEL_HLS_BAD_URI",
  "REEL_HLS_TOO_MANY_SEGMENTS",
  "REEL_HLS_UNSUPPORTED",
  "REEL_JOB_INVALID",
  "REEL_MEDIA_INVALID",
  "REEL_SOURCE_TRUNCATED",
  "REEL_AUDIO_LANGUAGE_MISSING",
  "REEL_MEDIA_LIMITS",
  "REEL_QUALITY_TARGET_UNREACHABLE",
  "REEL_WORKER_ENV_INVALID",
  "REEL_CONFIG_INVALID",
  "REEL_COOKIES_INVALID",
  // A site's answer that retrying the same URL from the same place cannot change (sign-in and rate
  // limits stay out: bot checks and limits pass).
  "REEL_SOURCE_GEO_BLOCKED",
  "REEL_SOURCE_PRIVATE",
  "REEL_SOURCE_UNAVAILABLE",
  "REEL_SOURCE_AGE_RESTRICTED",
  "REEL_SOURCE_UNSUPPORTED",
  "REEL_SOURCE_LIVE",
  "REEL_SOURCE_IS_PLAYLIST",
  "REEL_PLAYLIST_NOT_A_PLAYLIST",
  "REEL_PLAYLIST_EMPTY",
  "REEL_TOO_MANY_EPISODES",
]);

/** True when `code` is bad input that retrying cannot fix (see badInputCodes). */
export function isBadInput(code: unknown): boolean {
  return isErrorCode(code) && badInputCodes.has(code);
}
