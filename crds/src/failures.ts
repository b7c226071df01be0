// The one summary of a job's failed episodes, for the job's error (reel run) and its Failed
// condition and Event (the operator): the first few by name, then a count by code. The details stay
// on each episode; a job of 300 failed episodes must not write a 15 KB message to status and hooks.

export interface FailedEpisode {
  index: number;
  title?: string | undefined;
  error?: { code: string } | undefined;
}

/** Episodes named one by one before the rest is counted. */
export const NAMED_FAILURES = 5;

/** "episode 2 (Notes): REEL_MEDIA_INVALID; …" and, past NAMED_FAILURES, "… and 295 more (REEL_X ×200, …)". */
export function failedEpisodesSummary(failed: readonly FailedEpisode[]): string {
  const named = failed
    .slice(0, NAMED_FAILURES)
    .map((e) => `episode ${e.index + 1}${e.title ? ` (${e.title})` : ""}: ${e.error?.code ?? "REEL_UNKNOWN"}`);
  const rest = failed.slice(NAMED_FAILURES);
  if (!rest.length) return named.join("; ");
  const counts = new Map<string, number>();
  for (const e of rest)
    counts.set(e.error?.code ?? "REEL_UNKNOWN", (counts.get(e.error?.code ?? "REEL_UNKNOWN") ?? 0) + 1);
  const byCode = [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([code, n]) => `${code} ×${n}`);
  const more = counts.size > 5 ? ", …" : "";
  return `${named.join("; ")}; and ${rest.length} more (${byCode.join(", ")}${more}); each episode's status has its error`;
}
