// A job's stored files and their download route, and live pod progress, as the job page shows
// them. Pure functions (no DOM), tested in Node against the REST contract they mirror
// (crds/src/contract/rest.ts storedFiles, outputDownloadPath; the JobEvent's episode and merge).

/**
 * Every stored file of a job, in order: status.outputs, or for a status written before that field
 * the merged status.output alone (file 0 of the download route).
 * @param {any} status
 * @returns {any[]}
 */
export function storedFiles(status) {
  if (Array.isArray(status?.outputs)) return status.outputs;
  if (!status?.output) return [];
  const { chapters: _, ...file } = status.output;
  return [file];
}

/**
 * The download route of file n below /api/v1, by the job's uid when it has one: a name can be used
 * again by a later job, a uid cannot, so the link keeps reaching this run's file.
 * @param {{ id: string, uid?: string }} job
 * @param {number} n
 */
export function outputPath(job, n) {
  return `/jobs/${encodeURIComponent(job.uid ?? job.id)}/outputs/${n}/download`;
}

/**
 * What a file offers: a download (an S3 file still kept), why not (deleted by retention, on a
 * volume), and its name on the page.
 * @param {any} file
 * @param {number} n
 * @param {number} count how many files the job has
 * @param {{ title?: string }[]} episodes the spec's episodes, for default titles
 */
export function describeFile(file, n, count, episodes = []) {
  const location = String(file?.location ?? "");
  const episode = Number.isInteger(file?.episode) ? file.episode : undefined;
  const title =
    file?.title ?? (episode !== undefined ? (episodes[episode]?.title ?? `Episode ${episode + 1}`) : undefined);
  const name = count === 1 && !title ? "the video" : (title ?? `file ${n + 1}`);
  if (file?.expiredAt) return { name, title, state: "expired" };
  if (!location.startsWith("s3://")) return { name, title, state: "volume" };
  return { name, title, state: "download" };
}

/**
 * A progress event's pod as the page keeps it: `{stage, phase, progress}` of an episode pod (with
 * its index) or of the merge pod; undefined when the event carries neither.
 * @param {any} e a JobEvent
 */
export function livePod(e) {
  const pod = e?.episode ?? e?.merge;
  if (!pod || typeof pod.progress !== "number") return undefined;
  const read = { stage: String(pod.stage ?? ""), phase: pod.phase, progress: Math.max(0, Math.min(100, pod.progress)) };
  if (e.episode)
    return Number.isInteger(e.episode.index) ? { kind: "episode", index: e.episode.index, ...read } : undefined;
  return { kind: "merge", ...read };
}
