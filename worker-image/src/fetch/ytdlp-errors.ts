// What a yt-dlp failure means, read from the lines it printed: one table of patterns, first match
// wins, so the order below is part of the meaning (YouTube's "Private video. Sign in if you've been
// granted access" is private, not a sign-in wall; "Sign in to confirm your age" is age, not bot).
import type { ErrorCode } from "@reel/crds";

export interface YtDlpFailure {
  code: ErrorCode;
  /** For REEL_SOURCE_RATE_LIMITED: seconds to wait before asking the site again. */
  retryAfterSecs?: number;
}

interface Rule {
  code: ErrorCode;
  test: RegExp;
}

/** Checked in this order against every line yt-dlp printed (its ERROR lines and notices). */
const RULES: Rule[] = [
  { code: "REEL_EGRESS_DENIED", test: /egress policy/i },
  { code: "REEL_SOURCE_AGE_RESTRICTED", test: /confirm your age|age[- ]restricted|inappropriate for some users|nsfw/i },
  { code: "REEL_SOURCE_PRIVATE", test: /private video|video is private|this (?:video|content|post) is private/i },
  {
    code: "REEL_SOURCE_RATE_LIMITED",
    test: /HTTP Error 429|too many requests|rate[- ]limit|try again later/i,
  },
  {
    code: "REEL_SOURCE_GEO_BLOCKED",
    test: /geo[- ]?restrict|not (?:made this video )?available (?:in|from) your (?:country|location|region)|blocked in your country/i,
  },
  {
    code: "REEL_SOURCE_LIVE",
    test: /does not pass filter \(!is_live\)|live event will begin|premieres in|not currently live|is a live stream/i,
  },
  {
    code: "REEL_SOURCE_SIGN_IN",
    test: /not a bot|sign in|log ?in|registered users|members[- ]only|--cookies|requires authentication|captcha/i,
  },
  {
    code: "REEL_SOURCE_UNAVAILABLE",
    test: /video unavailable|has been removed|no longer available|been terminated|content is not available|has been deleted/i,
  },
  { code: "REEL_SOURCE_UNSUPPORTED", test: /unsupported url/i },
  { code: "REEL_SOURCE_NOT_FOUND", test: /HTTP Error (?:404|410)\b/i },
  { code: "REEL_SOURCE_FORBIDDEN", test: /HTTP Error (?:401|403)\b/i },
];

/** When a rate-limited site names no delay: a minute, long enough for most per-minute windows. */
export const DEFAULT_RETRY_AFTER_SECS = 60;

/** The code for yt-dlp's output `lines` (ERROR lines weigh first); REEL_YTDLP_FAILED when none fits. */
export function classifyYtDlpFailure(lines: readonly string[]): YtDlpFailure {
  // yt-dlp's own ERROR line says why it stopped; WARNINGs before it may mention other things, and
  // a skipped live stream is a notice with no ERROR at all.
  const errors = lines.filter((l) => l.startsWith("ERROR:"));
  return match(errors) ?? match(lines.filter((l) => !l.startsWith("ERROR:"))) ?? { code: "REEL_YTDLP_FAILED" };
}

function match(lines: readonly string[]): YtDlpFailure | undefined {
  for (const rule of RULES) {
    const hit = lines.find((l) => rule.test.test(l));
    if (!hit) continue;
    if (rule.code !== "REEL_SOURCE_RATE_LIMITED") return { code: rule.code };
    return { code: rule.code, retryAfterSecs: retryAfter(hit) };
  }
  return undefined;
}

const UNIT_SECS: Record<string, number> = { second: 1, minute: 60, hour: 3600 };

/** The delay a rate-limit message names ("Retry-After: 120", "for up to an hour", "in 5 minutes"). */
export function retryAfter(line: string): number {
  const header = /retry[- ]after:?\s*(\d+)/i.exec(line);
  if (header) return Number(header[1]);
  const span = /(?:for up to|in|wait)\s+(an?|\d+)\s+(second|minute|hour)s?/i.exec(line);
  if (span?.[1] && span[2]) {
    const n = /^an?$/i.test(span[1]) ? 1 : Number(span[1]);
    return n * (UNIT_SECS[span[2].toLowerCase()] ?? 1);
  }
  return DEFAULT_RETRY_AFTER_SECS;
}
