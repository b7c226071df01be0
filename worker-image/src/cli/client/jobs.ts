// `reel submit`, `reel list`, `reel status`, `reel cancel`, `reel retry`: one call each to the shim.
import { readFile } from "node:fs/promises";
import {
  findPlaylists,
  JobPhase,
  parseVideoJob,
  ReelError,
  type VideoJob,
  type VideoJobSpecInput,
  withStandIns,
} from "@reel/crds";
import { parse as parseYaml } from "yaml";
import { config } from "../../config.ts";
import { type ExpandOptions, expandPlaylists } from "../../fetch/playlist.ts";
import { checkAllow } from "../allow.ts";
import { episodeList } from "../run.ts";
import { type Ctx, connect, printJson, type ServerFlag } from "./context.ts";
import { jobsTable, jobView } from "./render.ts";
import type { Job, JobList } from "./types.ts";
import { uploadFiles } from "./upload.ts";
import { watchJob } from "./watch.ts";

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface Submission {
  name?: string;
  /** The spec to send: as written, its playlist entries replaced by the episodes they were listed as. */
  spec: VideoJobSpecInput;
  /** Things about the manifest worth telling (not errors). */
  notes: string[];
  /** The manifest's job with its playlists expanded (without the uploads), when it had playlist entries. */
  expanded?: VideoJob;
}

/**
 * Reads a VideoJob manifest (a file, or stdin for "-") and checks it with the same schema and rules
 * as the API server, so a mistake is reported with its field path before any network call. The spec
 * is sent as written: the server applies the defaults.
 */
export async function readManifest(
  file: string,
  name: string | undefined,
  ctx: Pick<Ctx, "stdin">,
  uploads = 0,
  /** How playlists are listed (yt-dlp, egress guard); without it a playlist entry is refused. */
  listing?: ExpandOptions,
): Promise<Submission> {
  let text = "";
  try {
    if (file === "-") for await (const chunk of ctx.stdin) text += chunk;
    else text = await readFile(file, "utf8");
  } catch (cause) {
    throw new ReelError("REEL_JOB_INVALID", `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new ReelError("REEL_JOB_INVALID", `${file} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ReelError("REEL_JOB_INVALID", `${file} is not a VideoJob manifest (kind: VideoJob, spec: …)`);
  }
  const manifest = doc as { metadata?: { name?: unknown; namespace?: unknown }; spec?: VideoJobSpecInput };
  const finalName = name ?? (typeof manifest.metadata?.name === "string" ? manifest.metadata.name : undefined);
  // Without a name the server picks one; the schema wants one, so check with a stand-in.
  // Files to upload (--file) become episodes the manifest need not list: checked as stand-ins.
  const standIns = Array.from({ length: uploads }, (_, i) => ({ url: `https://upload.invalid/${i}` }));
  const withUploads = (m: typeof manifest) => ({
    ...m,
    spec: m.spec && uploads ? { ...m.spec, episodes: [...(m.spec.episodes ?? []), ...standIns] } : m.spec,
    metadata: { ...m.metadata, name: finalName ?? "unnamed" },
  });
  // Playlists are listed here, once, as `reel run` lists them: everything else is checked first.
  const playlists = findPlaylists(manifest).length > 0;
  if (playlists) parseVideoJob(withStandIns(withUploads(manifest)));
  const expanded = playlists && listing ? ((await expandPlaylists(manifest, listing)) as typeof manifest) : manifest;
  parseVideoJob(withUploads(expanded));
  const notes: string[] = [];
  if (typeof manifest.metadata?.namespace === "string") {
    notes.push(`metadata.namespace (${manifest.metadata.namespace}) is ignored: jobs go to your tenant's namespace`);
  }
  return {
    ...(finalName ? { name: finalName } : {}),
    spec: expanded.spec as VideoJobSpecInput,
    notes,
    // The list shown: the manifest's episodes, expanded (the uploads, not sent yet, follow them).
    ...(playlists
      ? { expanded: parseVideoJob({ ...expanded, metadata: { ...expanded.metadata, name: finalName ?? "unnamed" } }) }
      : {}),
  };
}

export interface SubmitFlags extends ServerFlag {
  name?: string;
  watch: boolean;
  json: boolean;
  /** Local files uploaded first and appended as `upload:` episodes, in order. */
  file?: string[];
  /** `--dry-run`: print the episodes (playlists expanded) and exit; nothing is sent. */
  dryRun?: boolean;
  /** `--allow`: address ranges opened past the egress guard for listing playlists here. */
  allow?: string[];
}

/**
 * `reel submit`: the manifest checked as the server checks it, its playlists listed here once (the
 * same code as `reel run`) and shown, then the expanded spec sent — what was shown is what runs,
 * and the server never lists again (a channel that moved on in between cannot change the job).
 */
export async function submit(ctx: Ctx, file: string, flags: SubmitFlags): Promise<number> {
  if (flags.name !== undefined) checkId(flags.name, "--name");
  const files = flags.file ?? [];
  const allow = flags.allow ?? [];
  checkAllow(allow, false);
  const listing = { ytDlp: config.ytDlp, env: config.childEnv, allow: [...config.REEL_EGRESS_ALLOW, ...allow] };
  const sub = await readManifest(file, flags.name, ctx, files.length, listing);
  for (const n of sub.notes) ctx.stderr.write(`note: ${n}\n`);
  if (flags.dryRun) {
    ctx.stdout.write(episodeList(sub.expanded ?? parseVideoJob(shown(sub)), flags.json));
    return 0;
  }
  // The list before any work (on stderr with --json, whose stdout is the created job).
  if (sub.expanded) (flags.json ? ctx.stderr : ctx.stdout).write(episodeList(sub.expanded, false));
  const api = await connect(ctx, flags);
  const uploaded = await uploadFiles(ctx, api, files, { ...ctx.upload, quiet: flags.json });
  const episodes = [...(sub.spec.episodes ?? []), ...uploaded.map((u) => ({ upload: u.id }))];
  const spec = uploaded.length ? { ...sub.spec, episodes } : sub.spec;
  const job = await api.post<Job>("/api/v1/jobs", { ...(sub.name ? { name: sub.name } : {}), spec });
  // With --watch the events follow as JSON lines, so the job is one line too.
  if (flags.json) ctx.stdout.write(`${flags.watch ? JSON.stringify(job) : JSON.stringify(job, null, 2)}\n`);
  else {
    ctx.stdout.write(`submitted ${job.id} to ${job.namespace} (${job.spec.episodes?.length ?? 0} episodes)\n`);
    if (!flags.watch) ctx.stdout.write(`follow it: reel watch ${job.id}\n`);
  }
  return flags.watch ? watchJob(ctx, api, job.id, { json: flags.json }) : 0;
}

/** The job a dry run shows when the manifest had no playlists: as submitted, named. */
const shown = (sub: Submission) => ({
  apiVersion: "reel.dev/v1alpha1",
  kind: "VideoJob",
  metadata: { name: sub.name ?? "unnamed" },
  spec: sub.spec,
});

export interface ListFlags extends ServerFlag {
  phase?: string;
  tag?: string;
  limit?: number;
  cursor?: string;
  json: boolean;
}

export async function list(ctx: Ctx, flags: ListFlags): Promise<number> {
  if (flags.phase !== undefined && !JobPhase.safeParse(flags.phase).success) {
    throw new ReelError("REEL_INVALID_ARGUMENT", `--phase must be one of ${JobPhase.options.join(", ")}`);
  }
  const api = await connect(ctx, flags);
  const page = await api.get<JobList>("/api/v1/jobs", {
    phase: flags.phase,
    tag: flags.tag,
    limit: flags.limit,
    cursor: flags.cursor,
  });
  if (flags.json) printJson(ctx, page);
  else {
    ctx.stdout.write(`${jobsTable(page)}\n`);
    if (page.next) ctx.stdout.write(`more: reel list --cursor ${page.next}\n`);
  }
  return 0;
}

export async function status(ctx: Ctx, id: string, flags: ServerFlag & { json: boolean }): Promise<number> {
  checkId(id, "the job id");
  const api = await connect(ctx, flags);
  const job = await api.get<Job>(`/api/v1/jobs/${encodeURIComponent(id)}`);
  if (flags.json) printJson(ctx, job);
  else ctx.stdout.write(`${jobView(job, (p) => api.url(p))}\n`);
  return 0;
}

export async function cancel(ctx: Ctx, id: string, flags: ServerFlag & { json: boolean }): Promise<number> {
  checkId(id, "the job id");
  const api = await connect(ctx, flags);
  const job = await api.post<Job>(`/api/v1/jobs/${encodeURIComponent(id)}/cancel`);
  if (flags.json) printJson(ctx, job);
  else {
    ctx.stdout.write(
      `cancel requested for ${job.id} (phase ${job.status?.phase ?? "Pending"}); running episodes are stopped, finished ones kept\n`,
    );
  }
  return 0;
}

/**
 * A new job from a finished one with failed episodes (<name>-r1, …): the shim creates it with the
 * same spec, and the operator reuses the finished episodes whose source is unchanged.
 */
export async function retry(ctx: Ctx, id: string, flags: ServerFlag & { json: boolean }): Promise<number> {
  checkId(id, "the job id");
  const api = await connect(ctx, flags);
  const job = await api.post<Job>(`/api/v1/jobs/${encodeURIComponent(id)}/retry`);
  if (flags.json) printJson(ctx, job);
  else {
    ctx.stdout.write(
      `retry ${job.id} created from ${id}: finished episodes with an unchanged source are reused, the rest run again (reel watch ${job.id})\n`,
    );
  }
  return 0;
}

/** Job ids are VideoJob names; a typo is a usage error, found before the network. */
export function checkId(id: string, what: string): void {
  if (id.length > 63 || !NAME.test(id)) {
    throw new ReelError(
      "REEL_INVALID_ARGUMENT",
      `${what} "${id}" is not a job id (lowercase letters, digits, '-' and '.', at most 63)`,
    );
  }
}
