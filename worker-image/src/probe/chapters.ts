// A source's own chapters (merge.chapterMarks source/both): read with ffprobe -show_chapters only
// when a job asks, and cleaned to what the staged episode record may carry (contract/staging.ts).
import { ReelError, type SourceChapter } from "@reel/crds";
import { type CommandRunner, execCommand, tailLines } from "../ffmpeg/exec.ts";
import { defaultBinaries, type FfmpegBinaries } from "../ffmpeg/run.ts";
import { safeProbeInput } from "./probe.ts";

export const MAX_SOURCE_CHAPTERS = 1000;
export const MAX_CHAPTER_TITLE = 200;

export interface ChapterProbeOptions {
  binaries?: FfmpegBinaries;
  runner?: CommandRunner;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * At most MAX_SOURCE_CHAPTERS chapters with finite starts ≥ 0, in order, titles without control
 * characters and cut to MAX_CHAPTER_TITLE. Lenient: used on ffprobe's answer and on a read record.
 */
export function cleanChapters(list: readonly unknown[] | undefined): SourceChapter[] {
  const out: SourceChapter[] = [];
  for (const c of list ?? []) {
    if (out.length >= MAX_SOURCE_CHAPTERS) break;
    const { title, startSecs } = (c ?? {}) as { title?: unknown; startSecs?: unknown };
    const start = Number(startSecs);
    if (!Number.isFinite(start) || start < 0) continue;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    const clean = String(title ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
    out.push({ title: Array.from(clean.trim()).slice(0, MAX_CHAPTER_TITLE).join(""), startSecs: start });
  }
  return out.sort((a, b) => a.startSecs - b.startSecs);
}

/** ffprobe's JSON: chapters at the source's first frame's time (format start_time) made relative to it. */
export function parseChapters(json: unknown): SourceChapter[] {
  const j = (json ?? {}) as { chapters?: unknown[]; format?: { start_time?: string } };
  const origin = Number(j.format?.start_time ?? 0);
  const zero = Number.isFinite(origin) ? origin : 0;
  const raw = (j.chapters ?? []).map((c) => {
    const ch = (c ?? {}) as { start_time?: string; tags?: Record<string, string> };
    const title = ch.tags?.title ?? ch.tags?.TITLE ?? "";
    return { title, startSecs: Math.max(0, Number(ch.start_time) - zero) };
  });
  return cleanChapters(raw);
}

/** The source's own chapters (none: an empty list), opened as safely as probe() opens it. */
export async function probeChapters(path: string, o: ChapterProbeOptions = {}): Promise<SourceChapter[]> {
  const { binaries = defaultBinaries, runner = execCommand } = o;
  const args = ["-v", "error", ...safeProbeInput(path)];
  args.push("-show_chapters", "-show_entries", "format=start_time", "-of", "json");
  const r = await runner(binaries.ffprobe, args, { signal: o.signal, timeoutMs: o.timeoutMs ?? 60_000 });
  if (r.timedOut || r.code !== 0) {
    const reason = r.timedOut ? "timed out" : tailLines(r.stderr, 5).join("; ") || `exit code ${r.code}`;
    throw new ReelError("REEL_MEDIA_INVALID", `cannot read the source's chapters: ${reason}`);
  }
  try {
    return parseChapters(JSON.parse(r.stdout));
  } catch (err) {
    throw new ReelError("REEL_MEDIA_INVALID", "ffprobe returned unreadable chapters", { cause: err });
  }
}
