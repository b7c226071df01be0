// File and object names built from user text (job names, episode titles) must never escape the
// output directory or prefix: no path separators, no "..", no control characters.

export function safeName(text: string, fallback = "output"): string {
  const cleaned = text
    .normalize("NFC")
    .replace(/[\p{Cc}\p{Cf}]/gu, "")
    .replace(/[/\\:*?"<>|]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/^[.\-\s]+|[.\-\s]+$/g, "")
    .replace(/\s+/g, " ")
    .slice(0, 120)
    .trim();
  return cleaned || fallback;
}

/** The merged output's file name, as `reel run` and the merge pod store it. */
export function mergedFileName(jobName: string): string {
  return `${safeName(jobName)}.mp4`;
}

/** One episode's file name when merge is off: `<job>-<001>-<title>.mp4`. */
export function episodeFileName(jobName: string, index: number, title: string): string {
  return `${safeName(jobName)}-${String(index + 1).padStart(3, "0")}-${safeName(title)}.mp4`;
}
