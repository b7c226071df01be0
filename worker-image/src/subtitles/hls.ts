// An HLS WebVTT subtitle rendition, fetched as its segments one after another, joined into one
// WebVTT file on the video's clock: each segment's X-TIMESTAMP-MAP (MPEG-TS time of its LOCAL
// time) places its cues, the video variant's first timestamp is zero, cues repeated across
// segments are kept once, and the text is made safe as for any WebVTT we write.
import { safeWebVtt } from "./webvtt.ts";

const CUE = /^((?:\d+:)?\d{2}:\d{2}\.\d{3})\s+-->\s+((?:\d+:)?\d{2}:\d{2}\.\d{3})(.*)$/;

const secsOf = (t: string) => t.split(":").reduce((a, p) => a * 60 + Number(p), 0);

function stamp(secs: number): string {
  const ms = Math.max(0, Math.round(secs * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = (ms % 60_000) / 1000;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${s.toFixed(3).padStart(6, "0")}`;
}

/**
 * The segments' cues as one WebVTT file. A segment with `X-TIMESTAMP-MAP=MPEGTS:m,LOCAL:l` has its
 * cue at c shown at c - l + m/90000 on the MPEG-TS clock, minus `videoStartSecs` (the video's
 * first timestamp); without one its cues are already on the video's clock.
 */
export function joinVttSegments(text: string, videoStartSecs: number): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const segment of text.replace(/\r\n?/g, "\n").split(/^(?=WEBVTT)/m)) {
    const map = /X-TIMESTAMP-MAP=([^\n]*)/.exec(segment)?.[1] ?? "";
    const mpegts = /MPEGTS:(\d+)/.exec(map)?.[1];
    const local = /LOCAL:((?:\d+:)?\d{2}:\d{2}\.\d{3})/.exec(map)?.[1];
    const shift = mpegts !== undefined ? Number(mpegts) / 90_000 - secsOf(local ?? "00:00.000") - videoStartSecs : 0;
    for (const block of segment.split(/\n{2,}/)) {
      const lines = block.split("\n");
      const at = lines.findIndex((l) => CUE.test(l));
      if (at < 0) continue;
      const [, start, end] = CUE.exec(lines[at] as string) as RegExpExecArray;
      const cue = `${stamp(secsOf(start as string) + shift)} --> ${stamp(secsOf(end as string) + shift)}\n${lines
        .slice(at + 1)
        .filter(Boolean)
        .join("\n")}`;
      if (!seen.has(cue)) out.push(cue);
      seen.add(cue);
    }
  }
  return safeWebVtt(`WEBVTT\n\n${out.join("\n\n")}\n`);
}
