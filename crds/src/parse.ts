// Validates a VideoJob manifest the way the API server would (schema + the cross-field rules),
// for `reel run` and the REST shim, with messages that name the field. Unknown fields are refused
// like kubectl's strict field validation (a misspelled `qualty` would otherwise be dropped
// silently); a manifest file is capped in size before it is parsed, and YAML aliases are bounded.
import { open } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ReelError } from "./errors.ts";
import { rules } from "./rules.ts";
import { VideoJob, VideoJobSpec } from "./schema.ts";

/** The largest manifest accepted: 500 episodes with long signed URLs fit; 50 MB took 2 GB to parse. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** YAML alias nodes at most: a billion-laughs document fails here instead of expanding. */
const MAX_ALIASES = 100;

export class VideoJobInvalidError extends ReelError {
  readonly issues: string[];
  constructor(issues: string[]) {
    super("REEL_JOB_INVALID", `invalid VideoJob:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "VideoJobInvalidError";
    this.issues = issues;
  }
}

function describe(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.join(".") : "(root)";
  return `${path}: ${issue.message}`;
}

export interface ParseOptions {
  /**
   * "refuse" (the default) for anything a person wrote; "ignore" where the spec comes from the API
   * server, which prunes unknown fields itself and may know fields newer than this code.
   */
  unknownFields?: "refuse" | "ignore";
}

export function parseVideoJob(input: unknown, opts: ParseOptions = {}): VideoJob {
  const playlists = playlistEntries(input);
  if (playlists.length) throw new VideoJobInvalidError(playlists);
  if (opts.unknownFields !== "ignore") {
    const unknown = unknownFields(VideoJob, input, [], LENIENT_AT_TOP);
    if (unknown.length) throw new VideoJobInvalidError(unknown);
  }
  const parsed = VideoJob.safeParse(input);
  if (!parsed.success) throw new VideoJobInvalidError(parsed.error.issues.map(describe));
  const broken = rules.filter((r) => r.check && !r.check(parsed.data.spec));
  if (broken.length) {
    throw new VideoJobInvalidError(broken.map((r) => `spec${r.at.map((p) => `.${p}`).join("")}: ${r.message}`));
  }
  return parsed.data;
}

/**
 * Playlist entries (`- playlist: URL`) are expanded before this parse (`reel run`, `reel submit`, the
 * operator from status.expansion); anywhere else they are named as such, not read as episodes without a url.
 */
function playlistEntries(input: unknown): string[] {
  const episodes = (input as { spec?: { episodes?: unknown } } | null)?.spec?.episodes;
  if (!Array.isArray(episodes)) return [];
  return episodes.flatMap((e, i) =>
    e && typeof e === "object" && Object.hasOwn(e, "playlist")
      ? [
          `spec.episodes.${i}: a playlist entry is expanded by reel run and reel submit (--dry-run prints its episodes), or by the operator for a VideoJob applied with kubectl`,
        ]
      : [],
  );
}

/**
 * The unknown fields of a spec alone, each "spec.<path>: unknown field; did you mean …?" — for the
 * REST shim, whose request body carries a spec without the rest of the object.
 */
export function unknownSpecFields(spec: unknown): string[] {
  return unknownFields(VideoJobSpec, spec, ["spec"]);
}

/** A manifest's text (YAML or JSON) as a VideoJob: size cap, bounded aliases, strict fields. */
export function parseVideoJobManifest(text: string, source: string): VideoJob {
  return parseVideoJob(parseManifestDocument(text, source));
}

/** A manifest's text as a document, not yet validated (reel run expands its playlists first). */
export function parseManifestDocument(text: string, source: string): object {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_MANIFEST_BYTES) throw tooLarge(source, bytes);
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: MAX_ALIASES, uniqueKeys: true });
  } catch (cause) {
    throw new VideoJobInvalidError([`${source}: not valid YAML: ${(cause as Error).message.split("\n")[0]}`]);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new VideoJobInvalidError([
      `${source}: not a VideoJob manifest (a mapping with apiVersion, kind, metadata and spec)`,
    ]);
  }
  return doc;
}

/** `reel run job.yaml`: reads at most MAX_MANIFEST_BYTES + 1 bytes, then parseVideoJobManifest. */
export async function readVideoJobManifest(file: string): Promise<VideoJob> {
  return parseVideoJob(await readManifestDocument(file));
}

/** A manifest file as a document (readVideoJobManifest without the validation). */
export async function readManifestDocument(file: string): Promise<object> {
  let text: string;
  try {
    const fh = await open(file, "r");
    try {
      const buf = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_MANIFEST_BYTES) throw tooLarge(file, (await fh.stat()).size);
      text = buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await fh.close();
    }
  } catch (cause) {
    if (cause instanceof ReelError) throw cause;
    throw new ReelError("REEL_JOB_INVALID", `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  return parseManifestDocument(text, file);
}

function tooLarge(source: string, bytes: number): VideoJobInvalidError {
  return new VideoJobInvalidError([
    `${source}: the manifest is ${bytes} bytes; at most ${MAX_MANIFEST_BYTES} (4 MiB) — list fewer episodes per job`,
  ]);
}

type Schema = z.ZodType;
const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "catch", "nonoptional"]);

/** The schema under optional/default/pipe wrappers. */
function unwrap(s: Schema): Schema {
  let t = s;
  for (;;) {
    const def = t._zod.def as { type: string; innerType?: Schema; in?: Schema };
    if (WRAPPERS.has(def.type) && def.innerType) t = def.innerType;
    else if (def.type === "pipe" && def.in) t = def.in;
    else return t;
  }
}

/**
 * Checked by name only: ObjectMeta here is the subset Reel reads (`kubectl get -o yaml` output has
 * managedFields, ownerReferences…), and `status` is the operator's to write, never an input.
 */
const LENIENT_AT_TOP = new Set(["metadata", "status"]);

/** Every field of `value` the schema does not declare (records take any key), with a suggestion. */
function unknownFields(schema: Schema, value: unknown, path: string[], lenient?: ReadonlySet<string>): string[] {
  const s = unwrap(schema);
  const def = s._zod.def as { type: string; shape?: Record<string, Schema>; element?: Schema };
  if (def.type === "array" && def.element && Array.isArray(value)) {
    return value.flatMap((v, i) => unknownFields(def.element as Schema, v, [...path, String(i)]));
  }
  if (def.type !== "object" || !def.shape || typeof value !== "object" || value === null || Array.isArray(value)) {
    return [];
  }
  const shape = def.shape;
  const known = Object.keys(shape);
  return Object.entries(value).flatMap(([k, v]) => {
    const at = [...path, k].join(".");
    const field = shape[k];
    if (field) return lenient?.has(k) ? [] : unknownFields(field, v, [...path, k]);
    const near = closest(k, known);
    return [`${at}: unknown field${near ? `; did you mean ${near}?` : ` (known: ${known.join(", ")})`}`];
  });
}

/** The known name nearest to `name` (edit distance at most a third of its length, at least 2). */
function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDist) [best, bestDist] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
