// An episode's own subtitle files (episodes[].subtitles): fetched through the fetchSubtitle stage
// (egress guard, byte cap) into its work folder, and folded into its encode cache key — other
// subtitle bytes make another encode.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { VideoJobSpec } from "@reel/crds";
import type { StageContext, Stages } from "../pipeline/stages.ts";
import type { SidecarFile } from "./sidecar.ts";

/** The episode's subtitle files, fetched and cleaned; none when the job keeps no subtitles. */
export async function fetchSubtitles(
  ep: VideoJobSpec["episodes"][number],
  spec: Pick<VideoJobSpec, "subtitles">,
  dir: string,
  stages: Pick<Stages, "fetchSubtitle">,
  ctx: StageContext,
): Promise<SidecarFile[]> {
  if (!spec.subtitles || !ep.subtitles?.length || !stages.fetchSubtitle) return [];
  const files: SidecarFile[] = [];
  for (const [k, s] of ep.subtitles.entries()) {
    files.push(await stages.fetchSubtitle(s.url, s.language, join(dir, `subtitles-${k}`), ctx));
  }
  return files;
}

/** The source's content hash, with the subtitle files' languages and contents when there are any. */
export async function withSubtitlesHash(
  sourceHash: string,
  files: readonly SidecarFile[],
  hash: (path: string) => Promise<string>,
): Promise<string> {
  if (!files.length) return sourceHash;
  const h = createHash("sha256").update(sourceHash);
  for (const f of files) h.update(`\n${f.language}:${await hash(f.path)}`);
  return h.digest("hex");
}
