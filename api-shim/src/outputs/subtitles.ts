// GET /api/v1/jobs/:id/outputs/:n/subtitles/:lang.vtt: one subtitle language's WebVTT file stored
// beside an output, served same-origin so a page's <track> needs no CORS on the bucket. Only a
// language the status lists is read, and its object name comes from the crds helper (the output's
// stem), never from the URL or the status's own location string.
import type { S3Client } from "@aws-sdk/client-s3";
import { type Job, ReelError, storedFiles, subtitlesVttName } from "@reel/crds";
import { RequestError } from "../api/errors.ts";
import { type PresignPlan, planOutputLink } from "./link.ts";
import { readObjectText } from "./read.ts";

/** The largest subtitle file served: a feature film's subtitles are about 100 KiB. */
export const MAX_SUBTITLES_BYTES = 1024 * 1024;

/** An ISO 639-2 code as the schema's Language has it; checked before anything is looked up. */
const LANGUAGE = /^[a-z]{3}$/;

/** The language of the `:lang.vtt` path segment (`eng.vtt` → eng); 400 REEL_INVALID_ARGUMENT otherwise. */
export function subtitleLanguageParam(segment: string): string {
  const lang = segment.endsWith(".vtt") ? segment.slice(0, -4) : "";
  if (LANGUAGE.test(lang)) return lang;
  const rule = "must be an ISO 639-2 code of three lower-case letters then .vtt, e.g. eng.vtt";
  throw new RequestError("REEL_INVALID_ARGUMENT", `lang in the path ${rule}`, [{ path: "lang", message: rule }]);
}

/**
 * Where output `n`'s `language` subtitles are, read with the job's keys. The output's own checks
 * first (planOutputLink: no such output, expired, on a volume, no credentials); 404 REEL_NOT_FOUND
 * when the status lists no such language.
 */
export function planSubtitles(job: Job, n: number, language: string): PresignPlan {
  // Always the presign form: the file is read with the job's keys even where links are public.
  const output = planOutputLink(job, n, {}) as PresignPlan;
  const listed = storedFiles(job.status)[n]?.subtitles?.some((s) => s.language === language);
  const stem = output.key.replace(/\.mp4$/, "");
  if (!listed || stem === output.key) {
    throw new ReelError("REEL_NOT_FOUND", `output ${n} of job ${job.id} has no ${language} subtitles`);
  }
  return { ...output, key: subtitlesVttName(stem, language) };
}

/** The file's text, refused (REEL_MEDIA_LIMITS, 502) past MAX_SUBTITLES_BYTES. */
export function readSubtitles(client: S3Client, plan: PresignPlan): Promise<string> {
  return readObjectText(client, plan, "the subtitle file", MAX_SUBTITLES_BYTES);
}
