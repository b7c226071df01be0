// yt-dlp as a subprocess with a fixed, safe flag set. Never --exec, --netrc-cmd, an external
// downloader, config files or plugins: a page or a config we don't control must not run commands
// here. All its traffic goes through the egress proxy (see egress-proxy in @reel/native), which
// refuses internal addresses exactly as the Rust downloader does.
import { spawn } from "node:child_process";
import { ReelError, redactText, urlSecrets } from "@reel/crds";
import { config } from "../config.ts";
import { guarded, guardMissed } from "../ffmpeg/guard.ts";
import { redact } from "./classify.ts";

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
    "--ignore-config",
    "--no-plugin-dirs",
    "--no-cache-dir",
    "--no-exec",
    "--no-batch-file",
    "--no-playlist",
    "--no-mtime",
    "--no-write-info-json",
    "--no-progress",
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
    "before_dl:REEL_INFO %(duration|0)s %(width|0)s %(height|0)s",
    "--no-simulate",
    // --print implies --quiet, which hides the notice that --max-filesize stopped the download
    // (yt-dlp then exits 0 without a file); stdout is only parsed, never shown.
    "--no-quiet",
    "--no-progress",
  ];
  if (r.maxFilesize) args.push("--max-filesize", String(Math.trunc(r.maxFilesize)));
  if (r.ffmpegLocation) args.push("--ffmpeg-location", r.ffmpegLocation);
  // "--" so a URL starting with "-" can never be read as a flag.
  args.push("--", r.url);
  return args;
}

export interface YtDlpResult {
  path: string;
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
    let path: string | undefined;
    // yt-dlp stops at --max-filesize with a notice and exit 0, leaving no file.
    let tooLarge = false;
    const tail: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) {
        if (line.startsWith("REEL_FILE ")) path = line.slice("REEL_FILE ".length).trim();
        if (MAX_FILESIZE.test(line)) tooLarge = true;
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = chunk.split("\n").filter(Boolean);
      if (lines.some((l) => MAX_FILESIZE.test(l))) tooLarge = true;
      tail.push(...lines);
      tail.splice(0, Math.max(0, tail.length - 10));
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT")
        reject(new ReelError("REEL_YTDLP_MISSING", `yt-dlp not found at ${bin}`, { cause: err }));
      else if (err.name === "AbortError") reject(new ReelError("REEL_CANCELLED", "yt-dlp cancelled", { cause: err }));
      else reject(new ReelError("REEL_YTDLP_FAILED", err.message, { cause: err }));
    });
    child.on("close", (code) => {
      if (code === 0 && path && !tooLarge) return resolve({ path });
      if (tooLarge) {
        const cap = req.maxFilesize ? ` of ${req.maxFilesize} bytes` : "";
        return reject(
          new ReelError(
            "REEL_SOURCE_TOO_LARGE",
            `${redact(req.url)}: yt-dlp found the source larger than the cap${cap}`,
          ),
        );
      }
      if (guardMissed(code, tail.join("\n"))) {
        return reject(new ReelError("REEL_YTDLP_MISSING", `yt-dlp not found at ${bin}`));
      }
      // yt-dlp quotes parts of the URL outside it (`nothere?sig=…`): cut every secret part it has.
      const detail = redactText(tail.join("\n"), urlSecrets(req.url));
      // The egress proxy answers refusals with a reason naming the policy; yt-dlp prints it.
      const denied = /egress policy/i.test(detail);
      reject(
        new ReelError(
          denied ? "REEL_EGRESS_DENIED" : "REEL_YTDLP_FAILED",
          `yt-dlp failed on ${redact(req.url)} (exit ${code}): ${detail}`,
        ),
      );
    });
  });
}

const MAX_FILESIZE = /larger than max-filesize/i;

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
