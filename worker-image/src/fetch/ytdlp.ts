// yt-dlp as a subprocess with a fixed, safe flag set. Never --exec, --netrc-cmd, an external
// downloader, config files or plugins: a page or a config we don't control must not run commands
// here. All its traffic goes through the egress proxy (see egress-proxy in @reel/native), which
// refuses internal addresses exactly as the Rust downloader does. A playlist given as one episode
// is refused before any of its entries is fetched and a live stream is skipped; every failure is
// named from yt-dlp's own lines (ytdlp-errors.ts); the site's title, duration and date come back.
// Cookies (cookies.ts) reach it only as --cookies with a private copy, and their values are cut
// from every message.
import { spawn } from "node:child_process";
import { ReelError, redactText, urlSecrets } from "@reel/crds";
import { config } from "../config.ts";
import { guarded, guardMissed } from "../ffmpeg/guard.ts";
import { redact } from "./classify.ts";
import { toIso6391 } from "../encode/audio-tracks.ts";
import { classifyYtDlpFailure } from "./ytdlp-errors.ts";

export interface YtDlpRequest {
  url: string;
  /** Output path without extension; yt-dlp adds the container's. */
  outBase: string;
  /** http://127.0.0.1:PORT of the egress proxy. */
  proxy: string;
  maxHeight: number;
  maxFilesize?: number;
  socketTimeoutSecs?: number;
  ffmpegLocation?: string;
  /** The page's subtitles to write beside the video (spec.subtitles): these languages, or all. */
  subtitles?: { languages?: string[]; automatic?: boolean };
  /** A private copy of the cookies (cookies.ts privateCopy) and their values, cut from messages. */
  cookies?: { path: string; values: readonly string[] };
}

/** Flags that must never reach yt-dlp, whatever changes around this file. */
export const FORBIDDEN_FLAGS = [
  "--exec",
  "--exec-before-download",
  "--netrc-cmd",
  "--netrc",
  "--external-downloader",
  "--config-location",
  "--config-locations",
  "--plugin-dirs",
  "--batch-file",
  "--load-info-json",
  "--cookies-from-browser",
  "--no-check-certificates",
];

export function ytDlpArgs(r: YtDlpRequest): string[] {
  const h = Math.trunc(r.maxHeight);
  const args = [
    ...SAFE_FLAGS,
    "--no-playlist",
    // A playlist URL lists its entries without fetching each one; the run is then refused below.
    "--flat-playlist",
    // A live stream would record until it ends: skipped with a notice, refused as REEL_SOURCE_LIVE.
    "--match-filters",
    "!is_live",
    "--no-mtime",
    "--no-write-info-json",
    "--newline",
    "--downloader",
    "native",
    "--proxy",
    r.proxy,
    "--socket-timeout",
    String(r.socketTimeoutSecs ?? 30),
    "--retries",
    "5",
    "--fragment-retries",
    "5",
    "-f",
    `bv*[height<=${h}]+ba/b[height<=${h}]/bv*+ba/b`,
    "--merge-output-format",
    "mkv",
    "-o",
    `${r.outBase}.%(ext)s`,
    "--print",
    "after_move:REEL_FILE %(filepath)s",
    "--print",
    `before_dl:REEL_INFO %(.{${INFO_FIELDS}})j`,
    "--print",
    "playlist:REEL_PLAYLIST %(playlist_count)s",
    "--no-simulate",
    // --print implies --quiet, which hides the notice that --max-filesize stopped the download
    // (yt-dlp then exits 0 without a file); stdout is only parsed, never shown.
    "--no-quiet",
    "--no-progress",
  ];
  if (r.maxFilesize) args.push("--max-filesize", String(Math.trunc(r.maxFilesize)));
  if (r.ffmpegLocation) args.push("--ffmpeg-location", r.ffmpegLocation);
  if (r.subtitles) args.push(...subtitleArgs(r.subtitles));
  // yt-dlp writes the jar back here at exit: a copy of ours, never the user's file or a mount.
  if (r.cookies) args.push("--cookies", r.cookies.path);
  // "--" so a URL starting with "-" can never be read as a flag.
  args.push("--", r.url);
  return args;
}

/**
 * The page's subtitles as files beside the video (no conversion: Reel reads them itself), each
 * language as the site tags it ("en", "en-US" for eng), and where each went (REEL_SUBS).
 */
export function subtitleArgs(s: NonNullable<YtDlpRequest["subtitles"]>): string[] {
  const langs = s.languages?.flatMap((l) => [toIso6391(l), l].filter(Boolean).map((c) => `${c}(-.*)?`));
  return [
    "--write-subs",
    ...(s.automatic ? ["--write-auto-subs"] : []),
    "--sub-langs",
    langs?.length ? langs.join(",") : "all,-live_chat",
    "--sub-format",
    "vtt/srt/ass/best",
    "--print",
    "after_move:REEL_SUBS %(requested_subtitles)j",
  ];
}

/** Flags every yt-dlp run starts with: no config, plugins, cache, commands or batch files. */
export const SAFE_FLAGS = ["--ignore-config", "--no-plugin-dirs", "--no-cache-dir", "--no-exec", "--no-batch-file"];

/** What yt-dlp tells about the video before downloading it (the site's metadata). */
const INFO_FIELDS = "title,duration,upload_date,width,height,fps,vcodec,acodec,ext";

/** The site's facts about a video, as yt-dlp reported them; absent fields the site did not give. */
export interface SiteInfo {
  title?: string;
  durationSecs?: number;
  /** YYYYMMDD, as the site dates the upload. */
  uploadDate?: string;
}

export interface YtDlpResult {
  path: string;
  info: SiteInfo;
  /** Subtitle files written beside the video: the site's language tag and the path. */
  subtitles?: { tag: string; path: string }[];
}

/** The REEL_SUBS line's JSON (yt-dlp's requested_subtitles after the move) as tag and path. */
export function writtenSubtitles(json: string): { tag: string; path: string }[] {
  try {
    const raw = JSON.parse(json) as Record<string, { filepath?: unknown }> | null;
    return Object.entries(raw ?? {}).flatMap(([tag, v]) =>
      typeof v?.filepath === "string" ? [{ tag, path: v.filepath }] : [],
    );
  } catch {
    return [];
  }
}

/** The REEL_INFO line's JSON as SiteInfo; anything malformed is simply not known. */
export function siteInfo(json: string): SiteInfo {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return {};
  }
  const info: SiteInfo = {};
  if (typeof raw.title === "string" && raw.title.trim()) info.title = raw.title.trim();
  if (typeof raw.duration === "number" && Number.isFinite(raw.duration) && raw.duration > 0)
    info.durationSecs = raw.duration;
  if (typeof raw.upload_date === "string" && /^\d{8}$/.test(raw.upload_date)) info.uploadDate = raw.upload_date;
  return info;
}

/** What a run printed that decides its outcome. */
interface Seen {
  path?: string;
  subtitles?: { tag: string; path: string }[];
  info: SiteInfo;
  /** yt-dlp stops at --max-filesize with a notice and exit 0, leaving no file. */
  tooLarge: boolean;
  /** The URL listed a playlist of this many entries (0 when yt-dlp did not say how many). */
  playlist?: number;
  /** The last lines of both streams, for the error's text and its classification. */
  stderr: string[];
  notices: string[];
}

function readStdout(seen: Seen, line: string, stop: () => void): void {
  if (line.startsWith("REEL_FILE ")) seen.path = line.slice("REEL_FILE ".length).trim();
  else if (line.startsWith("REEL_INFO ")) seen.info = siteInfo(line.slice("REEL_INFO ".length));
  else if (line.startsWith("REEL_PLAYLIST ")) seen.playlist = Number(line.slice(14)) || 0;
  else if (line.startsWith("REEL_SUBS ")) seen.subtitles = writtenSubtitles(line.slice("REEL_SUBS ".length));
  else keepTail(seen.notices, [line]);
  const item = PLAYLIST_ITEM.exec(line);
  if (item) seen.playlist = Number(item[1]);
  // Nothing of a playlist is wanted: stop before it downloads its first entry.
  if (seen.playlist !== undefined) stop();
  if (MAX_FILESIZE.test(line)) seen.tooLarge = true;
}

function keepTail(tail: string[], lines: string[]): void {
  tail.push(...lines.filter(Boolean));
  tail.splice(0, Math.max(0, tail.length - 10));
}

/**
 * Runs yt-dlp. `env` should be minimal (see config.ts `childEnv`): no cloud credentials and no
 * proxy settings of the caller's may reach it.
 */
export async function runYtDlp(
  bin: string,
  req: YtDlpRequest,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<YtDlpResult> {
  const args = ytDlpArgs(req);
  return new Promise((resolve, reject) => {
    // Through reel-child where it is built: yt-dlp dies with us, even on SIGKILL.
    const g = guarded(bin, args);
    const child = spawn(g.command, g.args, { stdio: ["ignore", "pipe", "pipe"], signal, env });
    const seen: Seen = { info: {}, tooLarge: false, stderr: [], notices: [] };
    const stop = () => child.kill("SIGTERM");
    lines(child.stdout, (line) => readStdout(seen, line, stop));
    lines(child.stderr, (line) => {
      if (MAX_FILESIZE.test(line)) seen.tooLarge = true;
      keepTail(seen.stderr, [line]);
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT")
        reject(new ReelError("REEL_YTDLP_MISSING", `yt-dlp not found at ${bin}`, { cause: err }));
      else if (err.name === "AbortError") reject(new ReelError("REEL_CANCELLED", "yt-dlp cancelled", { cause: err }));
      else reject(new ReelError("REEL_YTDLP_FAILED", err.message, { cause: err }));
    });
    child.on("close", (code) => {
      if (code === 0 && seen.path && !seen.tooLarge && seen.playlist === undefined)
        return resolve({ path: seen.path, info: seen.info, ...(seen.subtitles ? { subtitles: seen.subtitles } : {}) });
      if (guardMissed(code, seen.stderr.join("\n"))) {
        return reject(new ReelError("REEL_YTDLP_MISSING", `yt-dlp not found at ${bin}`));
      }
      reject(failure(req, code, seen));
    });
  });
}

/** Calls `each` with every line of a child's stream (a line split across chunks is joined). */
export function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const p of parts) each(p.replace(/\r$/, ""));
  });
  stream.on("end", () => {
    if (rest) each(rest);
  });
}

/** The coded error for a run that left no file: a playlist, the byte cap, or what yt-dlp said. */
function failure(req: YtDlpRequest, code: number | null, seen: Seen): ReelError {
  const where = redact(req.url);
  const secrets = [...urlSecrets(req.url), ...(req.cookies?.values ?? [])];
  if (seen.playlist !== undefined) {
    const n = seen.playlist ? ` of ${seen.playlist} items` : "";
    return new ReelError(
      "REEL_SOURCE_IS_PLAYLIST",
      `${where} is a playlist${n}, not one video: list it as \`- playlist: URL\` (with \`items: "1-12"\`) to take its videos as episodes`,
    );
  }
  if (seen.tooLarge) {
    const cap = req.maxFilesize ? ` of ${req.maxFilesize} bytes` : "";
    return new ReelError("REEL_SOURCE_TOO_LARGE", `${where}: yt-dlp found the source larger than the cap${cap}`);
  }
  // yt-dlp quotes parts of the URL outside it (`nothere?sig=…`): cut every secret part it has, and
  // any cookie value it may print (it echoes a cookies file's line it cannot read).
  const detail = redactText(seen.stderr.join("\n"), secrets);
  const found = classifyYtDlpFailure([...seen.stderr, ...seen.notices]);
  const wait = found.retryAfterSecs ? `; retry after ${found.retryAfterSecs} s` : "";
  const said = detail || redactText(seen.notices.join("\n"), secrets);
  const err = new ReelError(found.code, `yt-dlp failed on ${where} (exit ${code})${wait}: ${said}`);
  return found.retryAfterSecs ? Object.assign(err, { retryAfterSecs: found.retryAfterSecs }) : err;
}

const MAX_FILESIZE = /larger than max-filesize/i;
/** yt-dlp's notice as it starts a playlist's entries: "[download] Downloading item 1 of 3". */
const PLAYLIST_ITEM = /^\[download\] Downloading item \d+ of (\d+)/;

/** `yt-dlp --version`, run with the same reduced environment as a download. */
export async function ytDlpVersion(bin: string, env: NodeJS.ProcessEnv = config.childEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["--version"], { stdio: ["ignore", "pipe", "ignore"], env });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    child.on("error", (cause) => reject(new ReelError("REEL_YTDLP_MISSING", `yt-dlp not found at ${bin}`, { cause })));
    child.on("close", () => resolve(out.trim()));
  });
}
