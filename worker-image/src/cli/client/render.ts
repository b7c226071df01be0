// Text views of jobs for people: the list, one job's status, the line after a submit or cancel.
import type { VideoJobStatus } from "@reel/crds";
import { bytes, secs, table } from "../format.ts";
import type { Job, JobList, Me } from "./types.ts";

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
      j.status?.phase ?? "Pending",
      percent(j.status?.progress),
      j.status?.episodesSummary ?? `0/${j.spec.episodes?.length ?? 0}`,
      j.tags.join(",") || "-",
      ago(j.createdAt, now),
    ]);
  }
  return table(rows);
}

export function episodesTable(job: Pick<Job, "spec">, status: VideoJobStatus | undefined): string {
  const rows = [["#", "title", "phase", "progress", "output", "ssim", "encoder", "node", "error"]];
  const byIndex = new Map((status?.episodes ?? []).map((e) => [e.index, e]));
  (job.spec.episodes ?? []).forEach((spec, i) => {
    const e = byIndex.get(i);
    rows.push([
      String(i + 1),
      e?.title ?? spec.title ?? "",
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

export function jobView(job: Job, now = Date.now()): string {
  const s = job.status;
  const lines = [
    `job ${job.id} in ${job.namespace}, created ${ago(job.createdAt, now)} ago${job.tags.length ? `, tags ${job.tags.join(",")}` : ""}`,
    `phase ${s?.phase ?? "Pending"}, ${percent(s?.progress ?? 0)} done, episodes ${s?.episodesSummary ?? `0/${job.spec.episodes?.length ?? 0}`}`,
    "",
    episodesTable(job, s),
  ];
  const tail: string[] = [];
  const failed = s?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  if (failed) tail.push(`failed: ${failed.reason}${failed.message ? ` ${failed.message}` : ""}`);
  const o = s?.output;
  if (o) {
    const facts = [
      o.sizeBytes !== undefined ? bytes(o.sizeBytes) : undefined,
      o.durationSecs !== undefined ? secs(o.durationSecs) : undefined,
      o.chapters !== undefined ? `${o.chapters} chapters` : undefined,
    ].filter(Boolean);
    tail.push(`output: ${o.location}${facts.length ? ` (${facts.join(", ")})` : ""}`);
    if (o.url) tail.push(`download: ${o.url}${o.urlExpiresAt ? ` (expires ${o.urlExpiresAt})` : ""}`);
  }
  if (job.traceId) tail.push(`trace: ${job.traceId}`);
  if (tail.length) lines.push("", ...tail);
  return lines.join("\n");
}

export function meLine(server: string, me: Me): string {
  return `logged in to ${server} as ${me.name} (${me.role}, tenant ${me.tenant}, namespace ${me.namespace})`;
}
