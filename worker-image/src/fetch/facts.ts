// The source facts an episode's status records: what the fetched file is (container, codecs,
// resolution, frame rate, duration, from ffprobe) and what its site said of it (title, upload date,
// from yt-dlp). One place, so reel run and the worker pod record the same.
import type { EpisodeStatus } from "@reel/crds";
import type { SiteInfo } from "./ytdlp.ts";

export type SourceFacts = NonNullable<EpisodeStatus["source"]>;

/** What the probe stage reports of a source, as far as status is concerned. */
export interface ProbedFacts {
  durationSecs: number;
  width: number;
  height: number;
  fps: number;
  container?: string;
  videoCodec?: string;
  audioCodec?: string;
}

/** Titles are cut to the schema's 200 characters, like the manifest's own. */
const MAX_TITLE = 200;

export function sourceFacts(probe: ProbedFacts, site?: SiteInfo): SourceFacts {
  const facts: SourceFacts = {
    width: probe.width,
    height: probe.height,
    fps: Math.round(probe.fps * 1000) / 1000,
    durationSecs: probe.durationSecs,
  };
  if (probe.container) facts.container = probe.container;
  if (probe.videoCodec) facts.videoCodec = probe.videoCodec;
  if (probe.audioCodec) facts.audioCodec = probe.audioCodec;
  const title = site?.title?.trim().slice(0, MAX_TITLE);
  if (title) facts.title = title;
  if (site?.uploadDate) facts.uploadDate = site.uploadDate;
  if (site?.durationSecs) facts.siteDurationSecs = site.durationSecs;
  return facts;
}

/**
 * The chapter title of an episode: the manifest's, else the source's own title (a page's, as
 * yt-dlp read it), else "Episode N".
 */
export function episodeTitle(given: string | undefined, index: number, site?: SiteInfo): string {
  return given ?? (site?.title?.trim().slice(0, MAX_TITLE) || `Episode ${index + 1}`);
}
