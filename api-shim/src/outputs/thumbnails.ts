// GET /api/v1/jobs/:id/outputs/:n/thumbnails.vtt: an output's stored seek-thumbnail index with each
// cue's sheet swapped for a link a browser can load. The index comes from the bucket, so it is
// read, not trusted: bounded in size, rebuilt cue by cue from what parses, and only the sheets the
// status names (thumbnailSheetName 1..sheets, beside the index) are ever signed.
import type { S3Client } from "@aws-sdk/client-s3";
import { type Job, publicUrl, ReelError, storedFiles, thumbnailSheetLocations } from "@reel/crds";
import { type PresignPlan, parseS3Location, planOutputLink } from "./link.ts";
import { readObjectText } from "./read.ts";
import { signGet } from "./sign.ts";

/** The largest index read: 300 cues are about 25 KiB, so anything near this is not ours. */
export const MAX_THUMBNAIL_INDEX_BYTES = 1024 * 1024;

export interface ThumbnailsPlan {
  /** Where the index is, with the job's keys and the links' lifetime. */
  index: PresignPlan;
  /** A cue's sheet reference (its file name, as the worker writes it) → the sheet's key. */
  sheets: Map<string, string>;
}

/**
 * What to read and which sheets may be linked, for output `n`. The output's own checks first
 * (planOutputLink: no such output, expired, on a volume, no credentials); 404 REEL_NOT_FOUND when it
 * has no thumbnails.
 */
export function planThumbnails(job: Job, n: number): ThumbnailsPlan {
  // Always the presign form: the index is read with the job's keys even where links are public.
  const output = planOutputLink(job, n, {}) as PresignPlan;
  const thumbs = storedFiles(job.status)[n]?.thumbnails;
  const at = thumbs ? parseS3Location(thumbs.vtt) : undefined;
  const locations = thumbs ? thumbnailSheetLocations(thumbs.vtt, Math.min(thumbs.sheets, 999)) : [];
  if (!thumbs || !at || at.bucket !== output.bucket || !locations.length) {
    throw new ReelError("REEL_NOT_FOUND", `output ${n} of job ${job.id} has no seek thumbnails`);
  }
  const sheets = new Map<string, string>();
  for (const location of locations) {
    const key = parseS3Location(location)?.key ?? "";
    sheets.set(key.slice(key.lastIndexOf("/") + 1), key);
  }
  return { index: { ...output, key: at.key }, sheets };
}

export interface ThumbnailCue {
  start: string;
  end: string;
  /** The sheet as the cue names it, before `#`. */
  sheet: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

const TIME = String.raw`(?:\d{1,9}:)?[0-5]\d:[0-5]\d\.\d{3}`;
const TIMING = new RegExp(`^(${TIME})[ \\t]+-->[ \\t]+(${TIME})(?:[ \\t].*)?$`);
const PAYLOAD = /^(.{1,1024})#xywh=(\d{1,6}),(\d{1,6}),(\d{1,6}),(\d{1,6})$/;

/** The cues of a thumbnail index that have a timing line and a `sheet#xywh=x,y,w,h` payload; others are skipped. */
export function parseThumbnailCues(text: string): ThumbnailCue[] {
  const cues: ThumbnailCue[] = [];
  for (const block of text.replace(/\r\n?/g, "\n").split(/\n{2,}/)) {
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    const t = lines.findIndex((l) => TIMING.test(l));
    const timing = t >= 0 ? TIMING.exec(lines[t] as string) : null;
    const payload = PAYLOAD.exec((lines[t + 1] ?? "").trim());
    if (!timing || !payload || lines.length > t + 2) continue;
    const [, sheet, x, y, w, h] = payload as unknown as [string, string, string, string, string, string];
    cues.push({ start: timing[1] as string, end: timing[2] as string, sheet, x: +x, y: +y, w: +w, h: +h });
  }
  return cues;
}

/** A cue's sheet as a key of `sheets`: as written, or percent-decoded (a writer may encode the name). */
export function sheetKey(sheets: Map<string, string>, sheet: string): string | undefined {
  if (sheets.has(sheet)) return sheets.get(sheet);
  try {
    return sheets.get(decodeURIComponent(sheet));
  } catch {
    return undefined;
  }
}

/** WebVTT again, from the cues whose sheet `urlOf` knows; the rest are dropped. */
export function writeThumbnailVtt(cues: readonly ThumbnailCue[], urlOf: (sheet: string) => string | undefined): string {
  const out: string[] = [];
  for (const c of cues) {
    const url = urlOf(c.sheet);
    if (url) out.push(`${c.start} --> ${c.end}\n${url}#xywh=${c.x},${c.y},${c.w},${c.h}`);
  }
  return out.length ? `WEBVTT\n\n${out.join("\n\n")}\n` : "WEBVTT\n";
}

/** The index's text, refused (REEL_MEDIA_LIMITS, 502) past MAX_THUMBNAIL_INDEX_BYTES. */
export function readThumbnailIndex(client: S3Client, plan: ThumbnailsPlan): Promise<string> {
  return readObjectText(client, plan.index, "the seek-thumbnail index", MAX_THUMBNAIL_INDEX_BYTES);
}

/** The index for the browser: each kept cue's sheet as a public URL or a fresh presigned GET. */
export async function linkedThumbnailVtt(
  client: S3Client,
  plan: ThumbnailsPlan,
  o: { publicBaseUrl?: string | undefined; now?: Date },
): Promise<{ vtt: string; cues: number; dropped: number }> {
  const cues = parseThumbnailCues(await readThumbnailIndex(client, plan));
  const urls = new Map<string, string>();
  for (const c of cues) {
    const key = sheetKey(plan.sheets, c.sheet);
    if (!key || urls.has(c.sheet)) continue;
    urls.set(
      c.sheet,
      o.publicBaseUrl
        ? publicUrl(o.publicBaseUrl, key)
        : (await signGet(client, plan.index, key, o.now ?? new Date(), false)).url,
    );
  }
  const kept = cues.filter((c) => urls.has(c.sheet));
  return { vtt: writeThumbnailVtt(kept, (s) => urls.get(s)), cues: kept.length, dropped: cues.length - kept.length };
}
