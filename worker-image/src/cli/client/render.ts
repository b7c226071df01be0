// Text views of jobs for people: the list, one job's status, the line after a submit or cancel.
import { episodeTitle, outputDownloadPath, storedFiles } from "@reel/crds";
import { bytes, secs, table } from "../format.ts";
import { FINAL_PHASES, type Job, type JobList, type Me } from "./types.ts";

export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(s)) return "-";
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function percent(p: number | undefined): string {
  return p === undefined ? "-" : `${Math.round(p)}%`;
}

export function jobsTable(list: JobList, now = Date.now()): string {
  if (list.items.length === 0) return "no jobs";
  const rows = [["ID", "PHASE", "PROGRESS", "EPISODES", "TAGS", "AGE"]];
  for (const j of list.items) {
    rows.push([
      j.id,
      j.phase ?? "Pending",
      percent(j.progress),
      j.episodesSummary ?? `0/${j.episodes}`,
      (j.tags ?? []).join(",") || "-",
      ago(j.createdAt, now),
    ]);
  }
  return table(rows);
}

export function episodesTable(job: Pick<Job, "spec">, status: Job["status"]): string {
  const rows = [["#", "title", "phase", "progress", "output", "ssim", "encoder", "node", "error"]];
  const byIndex = new Map((status?.episodes ?? []).map((e) => [e.index, e]));
  (job.spec.episodes ?? []).forEach((spec, i) => {
    const e = byIndex.get(i);
    rows.push([
      String(i + 1),
      e?.title ?? episodeTitle(spec, i),
      // A split episode's segments (an Indexed Job): how many of them are encoded.
      `${e?.phase ?? "Pending"}${e?.segments ? ` (${e.segments.completed}/${e.segments.total} segments)` : ""}`,
      percent(e?.progress ?? 0),
      bytes(e?.bytesOutput),
      e?.quality?.ssim?.toFixed(4) ?? "-",
      e?.encoder ?? "-",
      e?.node ?? "-",
      e?.error ? `${e.error.code} ${e.error.message}` : "",
    ]);
  });
  return table(rows);
}

/**
 * Every stored file of the job with its download link: the shim's route (`url` makes it absolute),
 * which signs a fresh link on each use, never the status's presigned URL, which expires.
 */
export function outputLines(job: Job, url: (path: string) => string): string[] {
  const s = job.status;
  const files = storedFiles(s);
  const lines: string[] = [];
  files.forEach((f, n) => {
    const chapters = files.length === 1 ? s?.output?.chapters : undefined;
    const facts = [
      f.sizeBytes !== undefined ? bytes(f.sizeBytes) : undefined,
      f.durationSecs !== undefined ? secs(f.durationSecs) : undefined,
      chapters !== undefined ? `${chapters} chapters` : undefined,
    ].filter(Boolean);
    const episode =
      f.episode !== undefined ? ` (${f.title ?? episodeTitle(job.spec.episodes?.[f.episode], f.episode)})` : "";
    lines.push(
      `output${files.length > 1 ? ` ${n + 1}` : ""}${episode}: ${f.location}${facts.length ? ` (${facts.join(", ")})` : ""}`,
    );
    if (f.expiredAt) lines.push(`  deleted ${f.expiredAt} by the output retention`);
    else if (f.location.startsWith("s3://")) lines.push(`  download: ${url(outputDownloadPath(job.uid ?? job.id, n))}`);
  });
  return lines;
}

/** `url` turns an API path into an absolute URL of the server (download links). */
export function jobView(job: Job, url: (path: string) => string, now = Date.now()): string {
  const s = job.status;
  const lines = [
    `job ${job.id} in ${job.namespace}, created ${ago(job.createdAt, now)} ago${job.tags.length ? `, tags ${job.tags.join(",")}` : ""}`,
    `phase ${s?.phase ?? "Pending"}, ${percent(s?.progress ?? 0)} done, episodes ${s?.episodesSummary ?? `0/${job.spec.episodes?.length ?? 0}`}`,
    ...(s?.activity && !FINAL_PHASES.has(s.phase ?? "") ? [`now: ${s.activity}`] : []),
    "",
    episodesTable(job, s),
  ];
  const tail: string[] = [];
  const failed = s?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  if (failed) tail.push(`failed: ${failed.reason}${failed.message ? ` ${failed.message}` : ""}`);
  tail.push(...outputLines(job, url));
  if (job.traceId) tail.push(`trace: ${job.traceId}`);
  if (tail.length) lines.push("", ...tail);
  return lines.join("\n");
}

export function meLine(server: string, me: Me): string {
  const tenant = me.tenant ? `tenant ${me.tenant}, namespace ${me.namespace}` : "no tenant yet";
  return `logged in to ${server} as ${me.name} (${me.role}, ${tenant})`;
}
