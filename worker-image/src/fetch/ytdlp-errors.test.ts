import { isBadInput, isErrorCode } from "@reel/crds";
import { describe, expect, it } from "vitest";
import { classifyYtDlpFailure, DEFAULT_RETRY_AFTER_SECS, retryAfter } from "./ytdlp-errors.ts";

// Lines as yt-dlp prints them (its extractors' messages: youtube/_video.py, common.py, utils), with
// the hints it appends; the last two cases are lines yt-dlp printed on loopback here.
const RECORDED: [string, string, string][] = [
  [
    "bot check",
    "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you’re not a bot. Use --cookies-from-browser or --cookies for the authentication. See  https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how to manually pass cookies",
    "REEL_SOURCE_SIGN_IN",
  ],
  [
    "members only",
    "ERROR: [youtube] abcdefghijk: Join this channel to get access to members-only content like this video, and other exclusive perks.",
    "REEL_SOURCE_SIGN_IN",
  ],
  [
    "login required",
    "ERROR: [vimeo] 76979871: This video is only available for registered users. Use --cookies, --cookies-from-browser, --username and --password, --netrc-cmd, or --netrc (vimeo) to provide account credentials",
    "REEL_SOURCE_SIGN_IN",
  ],
  [
    "geo, youtube",
    "ERROR: [youtube] abcdefghijk: The uploader has not made this video available in your country. This video is available in US. You might want to use a VPN or a proxy server (with --proxy) to workaround.",
    "REEL_SOURCE_GEO_BLOCKED",
  ],
  [
    "geo, generic",
    "ERROR: [cineverse] 1234: This video is not available from your location due to geo restriction. You might want to use a VPN or a proxy server (with --proxy) to workaround.",
    "REEL_SOURCE_GEO_BLOCKED",
  ],
  [
    "private, with a sign-in hint",
    "ERROR: [youtube] abcdefghijk: Private video. Sign in if you've been granted access to this video. Use --cookies-from-browser or --cookies for the authentication.",
    "REEL_SOURCE_PRIVATE",
  ],
  ["private, vimeo", "ERROR: [vimeo] 12345: This video is private", "REEL_SOURCE_PRIVATE"],
  [
    "removed",
    "ERROR: [youtube] abcdefghijk: Video unavailable. This video has been removed by the uploader",
    "REEL_SOURCE_UNAVAILABLE",
  ],
  [
    "terminated account",
    "ERROR: [youtube] abcdefghijk: Video unavailable. This video is no longer available because the YouTube account associated with this video has been terminated.",
    "REEL_SOURCE_UNAVAILABLE",
  ],
  [
    "age",
    "ERROR: [youtube] abcdefghijk: Sign in to confirm your age. This video may be inappropriate for some users. Use --cookies-from-browser or --cookies for the authentication.",
    "REEL_SOURCE_AGE_RESTRICTED",
  ],
  [
    "rate limit, youtube session",
    "ERROR: [youtube] abcdefghijk: This content isn't available, try again later. The current session has been rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to add a delay between video requests",
    "REEL_SOURCE_RATE_LIMITED",
  ],
  [
    "rate limit, HTTP 429",
    "ERROR: unable to download video data: HTTP Error 429: Too Many Requests",
    "REEL_SOURCE_RATE_LIMITED",
  ],
  ["unsupported", "ERROR: Unsupported URL: https://example.com/about", "REEL_SOURCE_UNSUPPORTED"],
  ["upcoming live event", "ERROR: [youtube] abcdefghijk: This live event will begin in 3 hours.", "REEL_SOURCE_LIVE"],
  ["premiere", "ERROR: [youtube] abcdefghijk: Premieres in 2 days", "REEL_SOURCE_LIVE"],
  ["offline channel", "ERROR: [twitch:stream] somebody: The channel is not currently live", "REEL_SOURCE_LIVE"],
  [
    "live HLS skipped by the !is_live filter (recorded on loopback)",
    "[download] stream 2026-12-05 15:39 does not pass filter (!is_live), skipping ..",
    "REEL_SOURCE_LIVE",
  ],
  [
    "page gone (recorded on loopback)",
    "ERROR: [generic] nothere: Unable to download webpage: HTTP Error 404: Not Found (caused by <HTTPError 404: Not Found>)",
    "REEL_SOURCE_NOT_FOUND",
  ],
  [
    "forbidden",
    "ERROR: [generic] x: Unable to download webpage: HTTP Error 403: Forbidden (caused by <HTTPError 403: Forbidden>)",
    "REEL_SOURCE_FORBIDDEN",
  ],
  [
    "egress proxy refusal",
    "ERROR: [generic] Unable to download webpage: HTTP Error 403: egress policy refused 127.0.0.1 (loopback)",
    "REEL_EGRESS_DENIED",
  ],
  [
    "anything else stays the general code",
    "ERROR: [generic] x: Unable to extract video url; please report this issue on  https://github.com/yt-dlp/yt-dlp/issues",
    "REEL_YTDLP_FAILED",
  ],
];

describe("classifyYtDlpFailure", () => {
  it.each(RECORDED)("%s → its code", (_name, line, code) => {
    expect(classifyYtDlpFailure(["[generic] Extracting URL: https://example.com/x", line]).code).toBe(code);
  });

  it("lets yt-dlp's ERROR line decide over a WARNING printed before it", () => {
    const lines = [
      "WARNING: [youtube] Sign in to confirm you’re not a bot (retrying with another client)",
      "ERROR: [youtube] abcdefghijk: Video unavailable. This video has been removed by the uploader",
    ];
    expect(classifyYtDlpFailure(lines).code).toBe("REEL_SOURCE_UNAVAILABLE");
  });

  it("gives every code it answers a registered meaning, and refuses at once only what a retry cannot change", () => {
    const codes = new Set(RECORDED.map(([, line]) => classifyYtDlpFailure([line]).code));
    for (const code of codes) expect(isErrorCode(code), code).toBe(true);
    expect(isBadInput("REEL_SOURCE_PRIVATE")).toBe(true);
    expect(isBadInput("REEL_SOURCE_GEO_BLOCKED")).toBe(true);
    expect(isBadInput("REEL_SOURCE_RATE_LIMITED")).toBe(false);
    expect(isBadInput("REEL_SOURCE_SIGN_IN")).toBe(false);
  });
});

describe("the retry delay of a rate limit", () => {
  it.each([
    ["The current session has been rate-limited by YouTube for up to an hour.", 3600],
    ["HTTP Error 429: Too Many Requests (Retry-After: 120)", 120],
    ["You are rate-limited. Try again in 5 minutes", 300],
    ["HTTP Error 429: Too Many Requests", DEFAULT_RETRY_AFTER_SECS],
  ])("%s → %i s", (line, secs) => {
    expect(retryAfter(line)).toBe(secs);
  });

  it("is carried with the code", () => {
    const f = classifyYtDlpFailure([RECORDED[10]?.[1] ?? ""]);
    expect(f).toEqual({ code: "REEL_SOURCE_RATE_LIMITED", retryAfterSecs: 3600 });
  });
});
