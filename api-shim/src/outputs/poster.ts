// GET /api/v1/jobs/:id/episodes/:n/poster: where episode n's poster is, decided from the job alone.
// The poster sits beside a stored file (status.episodes[].poster, named by the operator with the
// crds rules): the merged file, or with merge off the episode's own. That file's checks come first
// (expired, on a volume, no credentials), and only a poster in its bucket is ever linked.
import { type Job, publicUrl, ReelError, storedFiles } from "@reel/crds";
import { type LinkPlan, parseS3Location, planOutputLink } from "./link.ts";

/** The poster's link plan: a public URL, or the key to presign with the job's keys. */
export function planPoster(job: Job, n: number, o: { publicBaseUrl?: string | undefined }): LinkPlan {
  const none = (why: string) => new ReelError("REEL_NOT_FOUND", `episode ${n} of job ${job.id} has no poster${why}`);
  const episode = job.status?.episodes?.find((e) => e.index === n);
  if (!episode?.poster) throw none(episode ? "" : ": no such episode");
  // The episode's own file where merge was off, else the merged file (file 0).
  const own = storedFiles(job.status).findIndex((f) => f.episode === n);
  // Always the presign form first: it carries that file's checks and its bucket.
  const output = planOutputLink(job, Math.max(0, own), {});
  const at = parseS3Location(episode.poster);
  if (output.kind !== "presign" || !at || at.bucket !== output.bucket) throw none(" in the output's bucket");
  if (o.publicBaseUrl) return { kind: "public", url: publicUrl(o.publicBaseUrl, at.key) };
  return { ...output, key: at.key };
}
