// Cookies for sites that need a signed-in session: a Netscape cookies file (`reel run --cookies`,
// or the job's ytdlp.cookiesSecret mounted read-only into a page episode's pod) checked once, then
// handed to each yt-dlp run as its own private copy. yt-dlp writes its cookie jar back to the file
// at exit, so it never gets the user's file or the read-only mount. The content is never logged,
// never put in an environment or an argv, and its values are cut from every message (ytdlp.ts).
import { constants } from "node:fs";
import { open, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ReelError } from "@reel/crds";

/** A cookies file larger than this is refused unread: a browser's export for a few sites is far smaller. */
export const MAX_COOKIES_BYTES = 1024 * 1024;

/** The header yt-dlp's cookie jar (Python's MozillaCookieJar) requires on the first line. */
const HEADER = /^#( Netscape)? HTTP Cookie File/;
const HTTP_ONLY = "#HttpOnly_";
const EXPIRES = /^[0-9]+(\.[0-9]+)?$/;

/**
 * A checked cookies file. The text lives in a private field: a logger or JSON.stringify given this
 * object sees only `source` (a path or "Secret name key"), never a cookie.
 */
export class Cookies {
  /** What the cookies came from, safe to show: a path or "Secret <name> key <key>". */
  readonly source: string;
  readonly #text: string;
  readonly #values: string[];

  constructor(source: string, text: string) {
    this.source = source;
    const values = netscapeValues(text);
    if (typeof values === "string") throw invalid(source, values);
    this.#values = values;
    // yt-dlp refuses a file without the header: a file of bare lines gets it in the copy.
    this.#text = HEADER.test(text) ? text : `# Netscape HTTP Cookie File\n${text}`;
  }

  /** The cookie values, for cutting from any text that leaves the process (redactText). */
  get values(): readonly string[] {
    return this.#values;
  }

  /**
   * The cookies written to a new file in `dir` (mode 0600, never through a planted link) for one
   * yt-dlp run; remove() deletes it, with whatever yt-dlp wrote back.
   */
  async privateCopy(dir: string): Promise<{ path: string; remove(): Promise<void> }> {
    const path = join(dir, ".reel-cookies.txt");
    // A name left by an earlier attempt (or planted as a link) is removed, never written through.
    await rm(path, { force: true });
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const f = await open(path, flags, 0o600);
    try {
      await f.writeFile(this.#text);
    } finally {
      await f.close();
    }
    return { path, remove: () => rm(path, { force: true }) };
  }

  toJSON(): { source: string } {
    return { source: this.source };
  }
}

/**
 * Reads and checks the cookies file at `path`: it exists, is a regular file of at most 1 MiB, and is
 * in the Netscape format. `source` names it in errors (never its content): REEL_COOKIES_INVALID.
 */
export async function readCookies(path: string, source = path): Promise<Cookies> {
  const info = await stat(path).catch((cause: NodeJS.ErrnoException) => {
    const why = cause.code === "ENOENT" ? "does not exist" : `cannot be read (${cause.code ?? "error"})`;
    throw new ReelError("REEL_COOKIES_INVALID", `cookies file ${source} ${why}`, { cause });
  });
  if (!info.isFile()) throw invalid(source, "is not a regular file");
  if (info.size > MAX_COOKIES_BYTES) throw invalid(source, `is larger than ${MAX_COOKIES_BYTES} bytes`);
  const text = await readFile(path, "utf8").catch((cause: NodeJS.ErrnoException) => {
    throw new ReelError("REEL_COOKIES_INVALID", `cookies file ${source} cannot be read (${cause.code ?? "error"})`, {
      cause,
    });
  });
  return new Cookies(source, text);
}

/**
 * The values of a Netscape cookies file's lines, or why it is not one (naming a line by its number:
 * yt-dlp would echo a bad line whole, cookie and all, in a warning).
 */
export function netscapeValues(text: string): string[] | string {
  const values: string[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.startsWith(HTTP_ONLY) ? raw.slice(HTTP_ONLY.length) : raw;
    if (line.startsWith("#") || !line.trim()) continue;
    const fields = line.split("\t");
    if (fields.length !== 7) return `is not a Netscape cookies file: line ${i + 1} has ${fields.length} fields, not 7`;
    const [, , , , expires, , value] = fields as [string, string, string, string, string, string, string];
    if (expires && !EXPIRES.test(expires))
      return `is not a Netscape cookies file: line ${i + 1}'s expiry is not a number`;
    if (value) values.push(value);
  }
  if (!values.length) return "holds no cookie (a Netscape cookies file: one tab-separated line of 7 fields per cookie)";
  return values;
}

function invalid(source: string, why: string): ReelError {
  return new ReelError("REEL_COOKIES_INVALID", `cookies file ${source} ${why}`);
}
