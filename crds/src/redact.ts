// The one redaction of every message that leaves a process (errors, logs, termination messages,
// the CLI's output): URLs lose their userinfo, query and fragment (signed URLs carry secrets
// there), and known secret values are cut wherever they show, even quoted out of their URL.

// scheme://[userinfo@]authority path [?query] [#fragment], stopping at whitespace and quotes.
const URL_IN_TEXT =
  /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]*@)?([^\s/?#"'<>]*)([^\s?#"'<>]*)(\?[^\s#"'<>]*)?(#[^\s"'<>]*)?/gi;

/** `text` with every URL's userinfo dropped and its query and fragment shown as `?…` / `#…`. */
export function redactUrls(text: string): string {
  return text.replace(
    URL_IN_TEXT,
    (_m, scheme: string, _user: string | undefined, host: string, path: string, query?: string, frag?: string) =>
      `${scheme}${host}${path}${query ? "?…" : ""}${frag ? "#…" : ""}`,
  );
}

/** The parts of a URL that may be secret: userinfo, the query (whole and each value), the fragment. */
export function urlSecrets(raw: string): string[] {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return [];
  }
  const out = [u.username, u.password, u.search.slice(1), u.hash.slice(1)];
  for (const [k, v] of u.searchParams) out.push(v, `${k}=${v}`);
  for (const s of [...out]) {
    try {
      out.push(decodeURIComponent(s));
    } catch {
      // Malformed escapes: the raw form is already listed.
    }
  }
  return out;
}

/** Shorter values are too common to cut ("1", "en") and too short to be a credential. */
const MIN_SECRET_LENGTH = 4;

/** `text` with URLs redacted and every known secret value (and its percent-encoded form) cut. */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  const values = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    values.add(s);
    values.add(encodeURIComponent(s));
  }
  // Longest first, so a value that contains another is cut whole.
  let out = text;
  for (const v of [...values].sort((a, b) => b.length - a.length)) out = out.replaceAll(v, "…");
  return redactUrls(out);
}
