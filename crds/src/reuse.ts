// Reuse of finished work, keyed by content: the one definition of the settings that shape an
// episode's encoded bytes, of what names a source's bytes without reading them (its validator), and
// of the key that joins the two. The worker keys its encode cache and records the validator with
// each staged episode; the operator asks the source again and reuses a staged episode of another
// VideoJob only when both keys are equal. No I/O here.
import { createHash } from "node:crypto";
import type { VideoJobSpec } from "./schema.ts";

/**
 * The settings that change an encode's bytes. v5: hdr (tonemap or keep) is part of it — v4 keyed a
 * tone-mapped and an HDR10 encode of one source the same.
 */
export function encodeSettings(
  spec: Pick<VideoJobSpec, "quality" | "codec" | "compression" | "audio" | "gpu" | "hdr"> &
    Partial<Pick<VideoJobSpec, "subtitles" | "qualityMetrics">>,
) {
  return {
    v: 7, // 2: SSIM is of the luma plane; 3: loudness, colour, scan; 4: x265 without its settings SEI; 5: hdr; 6: turned (display matrix) pictures; 7: chroma siting stated
    quality: spec.quality,
    codec: spec.codec,
    compression: spec.compression,
    audio: spec.audio,
    hdr: spec.hdr,
    gpu: spec.gpu.policy,
    // Absent (undefined) for jobs without subtitles: their key is unchanged.
    subtitles: spec.subtitles,
    // A kept encode carries the scores it was measured with: one without VMAF cannot answer a job
    // that asks for it. Absent unless asked, so other keys are unchanged.
    vmaf: spec.qualityMetrics?.includes("vmaf") ? true : undefined,
  };
}

const sha = (what: unknown) => createHash("sha256").update(JSON.stringify(what)).digest("hex").slice(0, 32);

/** A short hash of encodeSettings: two specs with the same one encode a source to the same bytes. */
export function settingsHash(spec: Parameters<typeof encodeSettings>[0]): string {
  return sha(encodeSettings(spec));
}

/** What an origin said of a source's bytes: HTTP response headers, or an S3 object's HEAD. */
export interface SourceAnswer {
  etag?: string | undefined;
  lastModified?: string | undefined;
  length?: number | undefined;
}

/**
 * The validator naming a source's bytes: a strong ETag, else Last-Modified, always with the length.
 * Undefined when the origin gives neither, or only a weak ETag (W/: "equivalent", not the same
 * bytes) and no Last-Modified, or no length: such a source is never reused, it runs again.
 */
export function sourceValidator(a: SourceAnswer): string | undefined {
  if (a.length === undefined || !Number.isSafeInteger(a.length) || a.length < 0) return undefined;
  const etag = a.etag?.trim();
  if (etag && !etag.startsWith("W/")) return `etag ${etag} length ${a.length}`;
  const modified = a.lastModified?.trim();
  if (modified) return `last-modified ${modified} length ${a.length}`;
  return undefined;
}

/**
 * Which request a staged episode answers, before the source is asked: its URL and the settings.
 * Finds candidates cheaply; reuse needs reuseKey to match as well.
 */
export function requestKey(url: string, spec: Parameters<typeof encodeSettings>[0]): string {
  return sha({ v: 1, url, settings: settingsHash(spec) });
}

/** The reuse key: the request and the source's validator. Equal keys mean the same output bytes. */
export function reuseKey(url: string, validator: string, spec: Parameters<typeof encodeSettings>[0]): string {
  return sha({ v: 1, url, validator, settings: settingsHash(spec) });
}

/** How an episode reused elsewhere is named in status: `<videojob>/<episode number from 1>`. */
export const reusedFromText = (videojob: string, index: number) => `${videojob}/${index + 1}`;
