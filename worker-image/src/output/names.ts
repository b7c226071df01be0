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
