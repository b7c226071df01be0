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

/**
 * The seek-thumbnail route of file n below /api/v1 (text/vtt; each cue names a sheet link and a tile).
 * @param {{ id: string, uid?: string }} job
 * @param {number} n
 */
export function thumbnailsPath(job, n) {
  return `/jobs/${encodeURIComponent(job.uid ?? job.id)}/outputs/${n}/thumbnails.vtt`;
}

/**
 * The subtitle tracks the player offers for a stored file, in status order: each listed ISO 639-2
 * language once (anything else is skipped: it becomes a route path), with its name for the menu, its
 * route below /api/v1 (text/vtt, same-origin) and whether the job's subtitles.default names it.
 * @param {{ id: string, uid?: string, spec?: any }} job
 * @param {any} file
 * @param {number} n
 * @returns {{ language: string, label: string, path: string, isDefault: boolean }[]}
 */
export function subtitleTracks(job, file, n) {
  const listed = Array.isArray(file?.subtitles) ? file.subtitles : [];
  const languages = [...new Set(listed.map((s) => s?.language))].filter((l) => /^[a-z]{3}$/.test(String(l)));
  return languages.map((language) => ({
    language,
    label: languageLabel(language),
    path: `/jobs/${encodeURIComponent(job.uid ?? job.id)}/outputs/${n}/subtitles/${language}.vtt`,
    isDefault: job.spec?.subtitles?.default === language,
  }));
}

/** "English (eng)" where the browser knows the code's name, else the code alone. */
export function languageLabel(code) {
  let name;
  try {
    name = new Intl.DisplayNames(["en"], { type: "language", fallback: "none" }).of(code);
  } catch {}
  return name && name !== code ? `${name} (${code})` : code;
}

/** `hh:mm:ss.ttt` or `mm:ss.ttt` in seconds; NaN for anything else. */
export function vttSeconds(stamp) {
  const m = /^(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})$/.exec(String(stamp));
  if (!m) return Number.NaN;
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
}

/**
 * The cues of a seek-thumbnail index: `{start, end, url, x, y, w, h}` (seconds; the sheet's http(s)
 * URL without its fragment; the tile's rectangle in the sheet). Blocks that are not a timing line and
 * one `url#xywh=x,y,w,h` line, or whose URL is not http(s), are skipped.
 * @param {string} text
 */
export function parseThumbnailVtt(text) {
  const cues = [];
  for (const block of String(text)
    .replace(/\r\n?/g, "\n")
    .split(/\n{2,}/)) {
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    const t = lines.findIndex((l) => l.includes("-->"));
    if (t < 0 || lines.length !== t + 2) continue;
    const [from, to] = (lines[t] ?? "").split("-->").map((s) => s.trim().split(/[ \t]/)[0]);
    const start = vttSeconds(from);
    const end = vttSeconds(to);
    const m = /^(.+)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec((lines[t + 1] ?? "").trim());
    if (!m || !(end > start)) continue;
    let url;
    try {
      url = new URL(m[1]);
    } catch {
      continue;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    cues.push({ start, end, url: url.href, x: +m[2], y: +m[3], w: +m[4], h: +m[5] });
  }
  return cues;
}

/** The cue shown at `secs` (the last one for the very end); undefined when none covers it. */
export function cueAt(cues, secs) {
  return (
    cues.find((c) => secs >= c.start && secs < c.end) ?? (secs >= (cues.at(-1)?.end ?? 0) ? cues.at(-1) : undefined)
  );
}

/**
 * The merged file's chapters: the completed episodes in order, each starting where the previous
 * completed ones end (their status durationSecs), as the merge lays them out. After an episode
 * whose length the status lacks, starts are unknown (undefined) rather than guessed.
 * @param {any} job
 * @returns {{ index: number, title: string, start: number | undefined }[]}
 */
export function chapterList(job) {
  const asked = job?.spec?.episodes ?? [];
  const done = (job?.status?.episodes ?? [])
    .filter((e) => e?.phase === "Completed" && Number.isInteger(e.index))
    .sort((a, b) => a.index - b.index);
  const chapters = [];
  /** @type {number | undefined} */
  let start = 0;
  for (const e of done) {
    const title = String(e.title ?? asked[e.index]?.title ?? `Episode ${e.index + 1}`);
    chapters.push({ index: e.index, title, start });
    const secs = Number(e.durationSecs);
    start = start !== undefined && Number.isFinite(secs) && secs >= 0 ? start + secs : undefined;
  }
  return chapters;
}
