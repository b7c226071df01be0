// GET /api/v1/jobs/:id/episodes/:n/poster: where episode n's poster is, decided from the job alone.
// The poster sits beside the merged file (status.episodes[].poster, named by the operator with the
// crds rule), so the merged file's own checks come first (expired, on a volume, no credentials),
// and only a poster in that file's bucket is ever linked.
import { type Job, publicUrl, ReelError } from "@reel/crds";
import { type LinkPlan, parseS3Location, planOutputLink } from "./link.ts";

/** The poster's link plan: a public URL, or the key to presign with the job's keys. */
export function planPoster(job: Job, n: number, o: { publicBaseUrl?: string | undefined }): LinkPlan {
  const none = (why: string) => new ReelError("REEL_NOT_FOUND", `episode ${n} of job ${job.id} has no poster${why}`);
  const episode = job.status?.episodes?.find((e) => e.index === n);
  if (!episode?.poster) throw none(episode ? "" : ": no such episode");
  // Always the presign form first: it carries the merged file's checks and its bucket.
  const output = planOutputLink(job, 0, {});
  const at = parseS3Location(episode.poster);
  if (output.kind !== "presign" || !at || at.bucket !== output.bucket) throw none(" in the output's bucket");
  if (o.publicBaseUrl) return { kind: "public", url: publicUrl(o.publicBaseUrl, at.key) };
  return { ...output, key: at.key };
}
