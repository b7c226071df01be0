// The real stages: the Rust core for downloads, HLS, merge and hashing; yt-dlp behind the egress
// proxy for pages; ffmpeg/ffprobe for probe, encode and quality; the hardware manager for the
// encoder and its CPU fallback.
import { mkdir, rm, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { isS3Url, ReelError, s3SourceOf, subtitlesVttName, type VideoJobSpec } from "@reel/crds";
import { sourceValidator } from "@reel/crds/reuse";
import { checkCompatible, download, downloadHls, hashFile, merge, startEgressProxy } from "@reel/native";
import { fidelityStatus } from "../ffmpeg/analyse.ts";
import { analyseWithTracks } from "../encode/audio-loudness.ts";
import { chooseAudioTracks, mergeTrackChoices, silenceWarnings, trackLoudness } from "../encode/audio-tracks.ts";
import { prepareBurnIn } from "../subtitles/burn.ts";
import { prepareSidecar } from "../subtitles/sidecar.ts";
import { siteSubtitles } from "../subtitles/site.ts";
import { chooseSubtitleTracks, mergeSubtitleChoices } from "../subtitles/tracks.ts";
import { writeWebVtt } from "../subtitles/webvtt.ts";
import { sourceInfo, transcodeArgs } from "../ffmpeg/args.ts";
import { defaultHdr10, type PicturePlan, pictureFilter, planPicture } from "../ffmpeg/picture.ts";
import { parseEbur128 } from "../ffmpeg/sound.ts";
import { execCommand } from "../ffmpeg/exec.ts";
import { ladder } from "../ffmpeg/ladder.ts";
import type { FfmpegBinaries } from "../ffmpeg/run.ts";
import { runFfmpeg } from "../ffmpeg/run.ts";
import { type FallbackResult, withFallback } from "../hw/fallback.ts";
import { probeHardware } from "../hw/capabilities.ts";
import { realHost } from "../hw/inventory.ts";
import { type EncodePlan, planEncode } from "../hw/plan.ts";
import { makePoster, makeSprite } from "../preview/preview.ts";
import { probe as ffprobe } from "../probe/probe.ts";
import { probeChapters } from "../probe/chapters.ts";
import type { ProbeResult } from "../probe/parse.ts";
import { type EncoderStats, parseEncoderStats } from "../quality/encoder-stats.ts";
import { scoreEpisode, wantsVmaf } from "../quality/episode.ts";
import { measureQuality } from "../quality/measure.ts";
import { reachingTarget } from "../quality/reach.ts";
import { findLevelForTarget, type LevelChoice, sampleWindows } from "../quality/target.ts";
import { findVmafBinaries } from "../quality/vmaf.ts";
import { classify } from "../fetch/classify.ts";
import type { Cookies } from "../fetch/cookies.ts";
import type { HostLimiter, Lease } from "../fetch/politeness.ts";
import { runYtDlp } from "../fetch/ytdlp.ts";
import { readRenditions, subtitleRenditions, withAudioRenditions } from "../fetch/renditions.ts";
import { explainS3Error, presignSource, type S3KeyConfig, sourceKeys, sourceName } from "../fetch/s3.ts";
import { CircuitBreaker } from "../resilience/breaker.ts";
import type { MetadataCache } from "../resilience/cache.ts";
import { encodeSegmented } from "../segments/encode.ts";
import { config } from "../config.ts";
import { claimPartial, moveInto, type SweepLimits, sweepPartials } from "./partials.ts";
import type { Fetched, StageContext, Stages } from "./stages.ts";
import type { QualityScores } from "./types.ts";

export interface RealStagesOptions {
  binaries: FfmpegBinaries;
  ytDlp: string;
  childEnv: NodeJS.ProcessEnv;
  /** CIDRs opened past the egress guard (set by whoever runs Reel, never by the job). */
  allow: string[];
  cacheDir: string;
  metadata: MetadataCache;
  /** Episodes at least this long are encoded in keyframe-aligned segments in parallel. */
  segmentMinSecs: number;
  cores?: number;
  /** Episodes processed at once: each encode gets its share of the cores, not all of them. */
  concurrency?: number;
  /**
   * What a failed GPU encoder leads to. "fallback" (reel run): the next encoder, the CPU last.
   * "exit" (a pod the operator placed on a GPU node): REEL_ENCODER_FAILED at once, so the operator
   * can retry the episode on another capable node before the CPU.
   */
  onGpuEncoderFailure?: "fallback" | "exit";
  /** The per-source byte cap (REEL_MAX_SOURCE_BYTES when unset). */
  maxSourceBytes?: number;
  /** Bounds of REEL_CACHE_DIR/partial (REEL_PARTIAL_MAX_AGE_HOURS and _BYTES when unset). */
  partials?: SweepLimits;
  /** Where s3:// episodes' keys are read (a pod's own config); this process's config when unset. */
  s3Keys?: S3KeyConfig;
  /** The ffmpeg that scores VMAF (quality/vmaf.ts findVmafBinaries when unset; null: none). */
  vmafBinaries?: FfmpegBinaries | null;
  /** Cookies for yt-dlp's pages (fetch/cookies.ts): each run gets a private copy in its folder. */
  cookies?: Cookies;
  /** Per-host connection and request limits shared by the job (fetch/politeness.ts); none when unset. */
  politeness?: HostLimiter;
}

/**
 * Failures after which a partial download is worth keeping for the next run to resume. Others
 * (a full disk, a source over the cap, a changed or refused source) would only fail the same way.
 */
const RESUMABLE = new Set(["REEL_CANCELLED", "REEL_SOURCE_TIMEOUT", "REEL_SOURCE_UNREACHABLE", "REEL_SOURCE_HTTP"]);
const keepForResume = (err: unknown) => RESUMABLE.has((err as { code?: string } | null)?.code ?? "");

const PROBE_TTL_SECS = 7 * 24 * 3600;

export function realStages(o: RealStagesOptions): Stages {
  const breaker = new CircuitBreaker({ threshold: 5, cooldownMs: 30_000 });
  const cores = o.cores ?? availableParallelism();
  // Two encodes each told to use every core oversubscribe the machine (measured on job-e2e).
  const threads = Math.max(1, Math.floor(cores / Math.max(1, o.concurrency ?? 1)));
  const probes = new Map<string, ProbeResult>();
  const vmafBinaries = o.vmafBinaries === null ? undefined : (o.vmafBinaries ?? findVmafBinaries());
  // What each source's encode did to its picture: the measure stage runs the same chain on it.
  const pictures = new Map<string, PicturePlan>();
  // Which URL each fetched file came from, so probe results can be cached by URL.
  const origins = new Map<string, string>();
  let caps: ReturnType<typeof probeHardware> | undefined;
  const hardware = () => {
    caps ??= probeHardware({
      host: realHost(execCommand, o.binaries),
      cachePath: join(o.cacheDir, "hw-capabilities.json"),
    });
    return caps;
  };
  const maxBytes = o.maxSourceBytes ?? config.REEL_MAX_SOURCE_BYTES;
  const partialLimits = o.partials ?? {
    maxAgeMs: config.REEL_PARTIAL_MAX_AGE_HOURS * 3600_000,
    maxBytes: config.REEL_PARTIAL_MAX_BYTES,
  };
  const net = {
    allow: o.allow,
    progressIntervalMs: 200,
    // A stalled source fails after about (retries + 1) x idle timeout, not 6 x 30 s.
    idleTimeoutMs: config.REEL_SOURCE_IDLE_TIMEOUT_SECS * 1000,
    maxRetries: config.REEL_SOURCE_RETRIES,
  };

  // Content hashes, once per file: the probe cache and the encode cache both key on them.
  const hashes = new Map<string, Promise<string>>();
  const contentHash = (path: string) => {
    let h = hashes.get(path);
    if (!h) {
      h = hashFile(path, "blake3").then((x) => x.slice("blake3:".length));
      hashes.set(path, h);
    }
    return h;
  };

  async function probeFull(path: string, signal: AbortSignal): Promise<ProbeResult> {
    const known = probes.get(path);
    if (known) return known;
    const url = origins.get(path);
    type Cached = { blake3: string; probe: ProbeResult };
    // Cached by URL, trusted only for the same bytes: a source that changed is probed again.
    const blake3 = url ? await contentHash(path) : undefined;
    const cached = url ? await o.metadata.get<Cached>("probe", url) : undefined;
    // Entries from before the tracks (tracks by language need them) or the display matrix (sizes
    // as shown) were read are probed again, and replaced.
    const current = cached?.probe.subtitleTracks !== undefined && cached?.probe.video.rotation !== undefined;
    const fresh = cached?.blake3 === blake3 && current;
    const p = cached && fresh ? cached.probe : await ffprobe(path, { binaries: o.binaries, signal });
    if (url && blake3 && !fresh) await o.metadata.set("probe", url, { blake3, probe: p }, PROBE_TTL_SECS);
    probes.set(path, p);
    return p;
  }

  // Each source's sound and picture analysis, started by prepare while the episode waits for a slot.
  const analyses = new Map<string, ReturnType<typeof analyseWithTracks>>();

  const stages: Stages = {
    prepare(source, _sp, spec, ctx) {
      if (analyses.has(source)) return;
      const signal = ctx.signal;
      const run = probeFull(source, signal).then((p) =>
        analyseWithTracks(source, p, spec, { binaries: o.binaries, signal }),
      );
      run.catch(() => {}); // the encode awaits the same promise and fails with its error
      analyses.set(source, run);
    },

    async fetch(url, dir, spec, ctx) {
      // The encoder probe (test encodes on a fresh cache: 3 s on job-e2e) runs while sources download
      // instead of before the first encode; the encode awaits the same promise and sees its failure.
      hardware().catch(() => {});
      const fetched = await fetchSource(url, dir, spec, ctx);
      origins.set(fetched.path, url);
      // An S3 object's ETag and size name its bytes: no need to read them all again to key the caches.
      if (fetched.identity) hashes.set(fetched.path, Promise.resolve(sha256Hex(fetched.identity)));
      return fetched;
    },

    async probe(path, ctx) {
      const p = await probeFull(path, ctx.signal);
      ctx.progress(1);
      return {
        durationSecs: p.durationSecs,
        width: p.video.width,
        height: p.video.height,
        fps: p.video.fps,
        hasAudio: p.hasAudio,
        container: p.formatName,
        videoCodec: p.video.codec,
        ...(p.audio ? { audioCodec: p.audio.codec } : {}),
      };
    },

    async encode(source, sp, output, spec, ctx) {
      const p = await probeFull(source, ctx.signal);
      // HDR10 output (hdr: keep) is written by x265 or SVT-AV1 with its metadata: the CPU encodes it.
      const gpu = spec.hdr === "keep" ? { policy: "off" as const } : spec.gpu;
      const planned: EncodePlan = planEncode(await hardware(), { codec: spec.codec, gpu });
      const exitOnGpuFailure = o.onGpuEncoderFailure === "exit" && spec.gpu.policy !== "off";
      const gpuSteps = planned.fallbackChain.filter((s) => s.family !== "cpu");
      if (exitOnGpuFailure && gpuSteps.length === 0) {
        throw new ReelError("REEL_ENCODER_FAILED", `no working GPU encoder for ${spec.codec} on this node`);
      }
      const plan: EncodePlan = exitOnGpuFailure ? { ...planned, fallbackChain: gpuSteps } : planned;
      const choice = await chooseLevel(source, p, spec, plan, output, ctx);
      const level = choice?.level ?? spec.compression.level;
      // The length ffmpeg says it wrote (its last progress block): our own file needs no ffprobe for it.
      let writtenSecs: number | undefined;
      const onProgress = (e: { percent?: number; done?: boolean; outTimeSecs?: number }) => {
        if (e.done) writtenSecs = e.outTimeSecs;
        ctx.progress((e.percent ?? 0) / 100);
      };
      const ahead = analyses.get(source);
      analyses.delete(source);
      const fidelity = await (ahead ??
        analyseWithTracks(source, p, spec, { binaries: o.binaries, signal: ctx.signal }));
      const sidecars = ctx.subtitles ?? [];
      const subtitles = chooseSubtitleTracks(p.subtitleTracks ?? [], sidecars, spec.subtitles);
      const burn = await prepareBurnIn(
        { path: source, demuxer: p.demuxer, subtitleTracks: p.subtitleTracks },
        sidecars,
        spec.subtitles,
        join(output, ".."),
        { binaries: o.binaries, signal: ctx.signal },
      );
      // An image track being burned in is not reported as dropped.
      const dropped = (subtitles?.dropped ?? []).filter((d) => d.stream !== burn.burnInImage);
      const warnings = [
        ...silenceWarnings(fidelity.audioTracks?.tracks ?? []),
        ...dropped.map(({ code, message }) => ({ code, message })),
        ...(burn.warning ? [burn.warning] : []),
      ];
      pictures.set(source, fidelity.picture);
      let audioStderr = "";
      const result: FallbackResult<EncoderStats | undefined> = await withFallback(plan, async (step) => {
        writtenSecs = undefined; // a failed encoder's progress is not this file's
        const settings = {
          input: source,
          source: sourceInfo(p),
          quality: spec.quality,
          codec: spec.codec,
          preset: spec.compression.preset,
          level,
          encoder: step.family,
          hwDecode: step.hwDecode,
          device: step.device,
          // x264/x265 measure their own output as they write it: no second decode of the source.
          // VMAF, when asked, is one more pass by another ffmpeg (quality/episode.ts).
          encoderStats: true,
          picture: fidelity.picture,
          sound: fidelity.sound,
          ...(fidelity.audioTracks ? { audioTracks: fidelity.audioTracks } : {}),
          ...(subtitles?.tracks.length ? { subtitles: { tracks: subtitles.tracks, sidecars } } : {}),
          ...(burn.burnIn ? { burnIn: burn.burnIn } : {}),
          ...(burn.burnInImage !== undefined ? { burnInImage: burn.burnInImage } : {}),
        };
        // Telecined film loses a frame in five when rebuilt: segments could not keep exact frame counts.
        // Burned-in subtitles are timed from the episode's start, which a segment's frames are not.
        const pulldown = fidelity.picture.deinterlace?.pulldown === true;
        if (
          step.family === "cpu" &&
          sp.durationSecs >= o.segmentMinSecs &&
          cores > 1 &&
          !pulldown &&
          !burn.burnIn &&
          burn.burnInImage === undefined
        ) {
          const workDir = join(output, "..", "segments");
          await mkdir(workDir, { recursive: true });
          const r = await encodeSegmented(settings, output, {
            workDir,
            startTimeSecs: p.startTimeSecs,
            durationSecs: p.durationSecs,
            cores: threads,
            binaries: o.binaries,
            signal: ctx.signal,
            onProgress: (e) => ctx.progress(e.percent / 100),
          });
          audioStderr = r.audioStderr ?? "";
          return r.stats;
        }
        const r = await runFfmpeg(transcodeArgs({ ...settings, output, threads }), {
          binaries: o.binaries,
          signal: ctx.signal,
          durationSecs: p.durationSecs,
          onProgress,
          label: "encode",
        });
        audioStderr = r.stderr;
        return parseEncoderStats(r.stderr);
      }).catch((err: unknown) => {
        const e = ReelError.from(err, "REEL_FFMPEG_FAILED");
        if (exitOnGpuFailure && (e.code === "REEL_FFMPEG_FAILED" || e.code === "REEL_ENCODER_UNAVAILABLE")) {
          throw new ReelError("REEL_ENCODER_FAILED", `GPU encoder failed on this node: ${e.message}`, { cause: e });
        }
        throw e;
      });
      const stats = result.result;
      const treated = fidelityStatus(fidelity, fidelity.sound.loudness ? parseEbur128(audioStderr) : undefined);
      const { quality, decodedSecs } = await scoreEncode(
        { source, p, output, writtenSecs, picture: fidelity.picture, stats, spec, choice },
        ctx,
      );
      // Tracks by language: each one's own measure and gain beside the first one's figures.
      if (treated.loudness && fidelity.audioTracks)
        treated.loudness.tracks = trackLoudness(fidelity.audioTracks.tracks);
      return {
        ...treated,
        ...(warnings.length ? { warnings } : {}),
        decodedSecs,
        encoder:
          result.step.hwDecode !== "none"
            ? `${result.step.encoder} (${result.step.hwDecode} decode)`
            : result.step.encoder,
        ...(quality ? { quality } : {}),
      };
    },

    async measure(source, encoded, _sp, ctx) {
      const src = await probeFull(source, ctx.signal);
      const enc = await ffprobe(encoded, { binaries: o.binaries, signal: ctx.signal });
      const scores = await measureQuality(
        { path: encoded, demuxer: enc.demuxer },
        { path: source, demuxer: src.demuxer },
        {
          width: enc.video.width,
          height: enc.video.height,
          windows: measureWindows(enc.durationSecs),
          referenceFilter: pictureFilter(pictures.get(source) ?? {}, {
            width: enc.video.width,
            height: enc.video.height,
          }),
          binaries: o.binaries,
          signal: ctx.signal,
        },
      );
      ctx.progress(1);
      return scores;
    },

    async compatible(paths, spec) {
      return checkCompatible(paths, { ...mergeTrackChoices(spec?.audio), ...mergeSubtitleChoices(spec?.subtitles) });
    },

    async normalise(input, reference, output, spec, ctx) {
      const [inp, ref] = await Promise.all([
        probeFull(input, ctx.signal),
        ffprobe(reference, { binaries: o.binaries, signal: ctx.signal }),
      ]);
      await runFfmpeg(
        transcodeArgs({
          input,
          output,
          source: sourceInfo(inp),
          quality: spec.quality,
          codec: spec.codec,
          preset: spec.compression.preset,
          level: spec.compression.level,
          encoder: "cpu",
          canvas: { width: ref.video.width, height: ref.video.height, fps: ref.video.fps },
          // An encoded episode is already in the job's format: only its canvas changes.
          picture: { ...planPicture(inp.video.picture, inp.video, undefined, spec.hdr), hdr10: defaultHdr10 },
          // Its sound too (already at the target loudness): the same layout, no second gain.
          sound: { layout: spec.audio?.layout ?? "stereo" },
          silentAudio: ref.hasAudio,
          ...normalisedTracks(inp, spec),
          ...(ref.hasAudio ? {} : { audio: { mode: "none" as const } }),
          threads,
        }),
        { binaries: o.binaries, signal: ctx.signal, durationSecs: inp.durationSecs, label: "normalise" },
      );
    },

    async chapters(path, ctx) {
      return probeChapters(path, { binaries: o.binaries, signal: ctx.signal });
    },

    async merge(inputs, output, chapters, ctx, spec) {
      // "episodes" (or absent) calls the addon exactly as before the option existed.
      const marks = spec?.merge.chapterMarks;
      const own = marks === "source" || marks === "both";
      const r = await merge(
        {
          inputs: own ? inputs : inputs.map(({ path, title }) => ({ path, title })),
          output,
          chapters,
          ...(own ? { chapterMarks: marks } : {}),
          faststart: true,
          ...mergeTrackChoices(spec?.audio),
          ...mergeSubtitleChoices(spec?.subtitles),
        },
        { onProgress: (p) => ctx.progress(p.total ? p.done / p.total : 0), signal: ctx.signal },
      );
      return { durationSecs: r.durationSecs, chapters: r.chapters.length };
    },

    async poster(encoded, output, ctx, durationSecs) {
      // Our own MP4: with its length known from the encode, no second ffprobe is needed.
      const p =
        durationSecs === undefined
          ? await ffprobe(encoded, { binaries: o.binaries, signal: ctx.signal })
          : { demuxer: "mov", durationSecs };
      await makePoster({ path: encoded, demuxer: p.demuxer }, p.durationSecs, output, {
        binaries: o.binaries,
        signal: ctx.signal,
      });
    },

    async thumbnails(merged, dir, stem, ctx) {
      const p = await ffprobe(merged, { binaries: o.binaries, signal: ctx.signal });
      const picture = { width: p.video.width, height: p.video.height, durationSecs: p.durationSecs };
      return makeSprite({ path: merged, demuxer: p.demuxer }, picture, dir, stem, {
        binaries: o.binaries,
        signal: ctx.signal,
      });
    },

    async fetchSubtitle(url, language, dest, ctx) {
      const raw = `${dest}.download`;
      try {
        await download({ url, dest: raw, connections: 1, maxBytes, net }, { signal: ctx.signal });
        return await prepareSidecar(raw, dest, language);
      } finally {
        await rm(raw, { force: true });
      }
    },

    async subtitles(merged, dir, stem, ctx) {
      const p = await ffprobe(merged, { binaries: o.binaries, signal: ctx.signal });
      const files: { language: string; file: string }[] = [];
      for (const [n, t] of (p.subtitleTracks ?? []).entries()) {
        const file = subtitlesVttName(stem, t.language ?? "und");
        await writeWebVtt(merged, n, join(dir, file), { binaries: o.binaries, signal: ctx.signal });
        files.push({ language: t.language ?? "und", file });
      }
      return files;
    },

    hash: contentHash,
    sha256: async (path) => (await hashFile(path, "sha256")).slice("sha256:".length),
  };
  return reachingTarget(stages);

  async function fetchSource(url: string, dir: string, spec: VideoJobSpec, ctx: StageContext): Promise<Fetched> {
    if (isS3Url(url)) return fetchS3(url, dir, spec, ctx);
    const route = classify(url);
    const host = new URL(url).host;
    const maxHeight = ladder[spec.quality].shortSide;
    return breaker.run(`source:${host}`, async () => {
      if (route === "direct") {
        const r = await downloadDirect(url, url, dir, ctx);
        return { path: r.path, bytes: r.bytes, route, ...validatorOf(r) };
      }
      if (route === "hls") {
        const dest = join(dir, "source.ts");
        const r = await politely(host, 8, ctx.signal, (concurrency) =>
          downloadHls(
            { url, dest, targetHeight: maxHeight, maxBytes, net, concurrency },
            { onProgress: progressOf(ctx), signal: ctx.signal },
          ),
        );
        return { ...(await withRenditions(url, dest, dir, r.bytes, spec, ctx.signal)), route };
      }
      // Pages: yt-dlp extracts and downloads, every connection through the egress proxy. One
      // connection: yt-dlp's native downloader fetches one fragment at a time.
      return politely(host, 1, ctx.signal, async () => {
        const proxy = await startEgressProxy({ allow: o.allow });
        let jar: Awaited<ReturnType<Cookies["privateCopy"]>> | undefined;
        try {
          jar = await o.cookies?.privateCopy(dir);
          const r = await runYtDlp(
            o.ytDlp,
            {
              url,
              outBase: join(dir, "source"),
              proxy: proxy.url,
              maxHeight,
              maxFilesize: maxBytes,
              ...(spec.subtitles ? { subtitles: pageSubtitles(spec.subtitles) } : {}),
              ...(jar && o.cookies ? { cookies: { path: jar.path, values: o.cookies.values } } : {}),
            },
            o.childEnv,
            ctx.signal,
          );
          const { size } = await stat(r.path);
          const subtitles = await siteSubtitles(r.subtitles ?? [], spec.subtitles?.languages, maxBytes);
          return { path: r.path, bytes: size, route, site: r.info, ...(subtitles.length ? { subtitles } : {}) };
        } finally {
          proxy.stop();
          await jar?.remove();
        }
      });
    });
  }

  /**
   * Runs `f` with as many connections as the job's politeness grants toward `host` right now (at
   * least one, at most `want`), after its request start; `want` when the job has no limiter.
   */
  async function politely<T>(host: string, want: number, signal: AbortSignal, f: (n: number) => Promise<T>) {
    const lease: Lease | undefined = await o.politeness?.acquire(host, want, signal);
    try {
      return await f(lease?.connections ?? want);
    } finally {
      await lease?.release();
    }
  }

  /** An s3:// episode: presigned here, downloaded as a direct URL; its identity is the object's ETag and size. */
  async function fetchS3(url: string, dir: string, spec: VideoJobSpec, ctx: StageContext): Promise<Fetched> {
    const ref = s3SourceOf(
      spec,
      Math.max(
        0,
        spec.episodes.findIndex((e) => e.url === url),
      ),
    );
    const signed = await presignSource(ref, sourceKeys(ref, o.s3Keys ?? config));
    const name = sourceName(ref);
    return breaker.run(`source:${ref.endpoint ?? "aws"}/${ref.bucket}`, async () => {
      // Partials are claimed by the object's name; the URL is signed the same within an hour
      // (fetch/s3.ts signingHour), so a killed run resumes; If-Range on the ETag refuses a changed object.
      const r = await downloadDirect(signed, name, dir, ctx).catch((err) => {
        throw explainS3Error(err, ref);
      });
      const identity = r.etag ? `${name} etag ${r.etag} size ${r.bytes}` : undefined;
      return { path: r.path, bytes: r.bytes, route: "direct", ...(identity ? { identity } : {}), ...validatorOf(r) };
    });
  }

  /**
   * An HLS episode's alternate renditions: audio by language (or the default rendition when none
   * are asked) muxed beside the video, WebVTT subtitles as files for the encode (fetch/renditions.ts).
   */
  async function withRenditions(
    url: string,
    video: string,
    dir: string,
    bytes: number,
    spec: VideoJobSpec,
    signal: AbortSignal,
  ): Promise<Pick<Fetched, "path" | "bytes" | "subtitles">> {
    const languages = spec.audio.languages;
    const renditions = await readRenditions({ url, dir, net, signal });
    if (!renditions) return { path: video, bytes };
    const common = { url, video, dir, net, binaries: o.binaries, signal };
    const audio = await withAudioRenditions(
      { ...common, ...(languages ? { languages } : {}), maxBytes: maxBytes - bytes },
      renditions,
    );
    const used = bytes + (audio?.bytes ?? 0);
    const subs = spec.subtitles
      ? await subtitleRenditions(
          { ...common, languages: spec.subtitles.languages, maxBytes: maxBytes - used },
          renditions,
        )
      : undefined;
    return {
      path: audio?.path ?? video,
      bytes: used + (subs?.bytes ?? 0),
      ...(subs?.files.length ? { subtitles: subs.files } : {}),
    };
  }

  /**
   * A direct download: it lands beside a stable name (`partialKey`) first, so a run killed
   * mid-download resumes from its control file next time instead of starting over; then it moves
   * into the run's folder.
   */
  async function downloadDirect(url: string, partialKey: string, dir: string, ctx: StageContext) {
    const partials = join(o.cacheDir, "partial");
    await sweepPartials(partials, partialLimits).catch(() => []);
    const part = await claimPartial(partials, partialKey);
    let r: Awaited<ReturnType<typeof download>>;
    try {
      r = await politely(new URL(url).host, 8, ctx.signal, (connections) =>
        download(
          { url, dest: part.path, connections, maxBytes, net },
          { onProgress: progressOf(ctx), signal: ctx.signal },
        ),
      );
    } catch (err) {
      await part.release(!keepForResume(err));
      throw err;
    }
    const dest = join(dir, "source");
    try {
      await moveInto(part.path, dest);
    } finally {
      await part.release(true);
    }
    return { path: dest, bytes: r.bytes, ...(r.etag ? { etag: r.etag } : {}) };
  }

  /**
   * The encode's scores as the job asks (quality/episode.ts), with the target search's choice, and
   * the length decoded. The encoded file is probed only when a comparison pass needs its picture
   * (VMAF, a quality target, an encoder that measured nothing) or ffmpeg reported no length
   * (segments): x264's own SSIM and PSNR need nothing more (job-e2e: one ffprobe less per episode).
   */
  async function scoreEncode(
    e: {
      source: string;
      p: ProbeResult;
      output: string;
      writtenSecs: number | undefined;
      picture: PicturePlan;
      stats: EncoderStats | undefined;
      spec: VideoJobSpec;
      choice: LevelChoice | undefined;
    },
    ctx: StageContext,
  ): Promise<{ quality: QualityScores | undefined; decodedSecs: number }> {
    if (e.writtenSecs !== undefined && e.stats && !wantsVmaf(e.spec) && e.choice === undefined) {
      // What scoreEpisode returns for these: the encoder's figures alone.
      const quality: QualityScores = { ssim: e.stats.ssim, psnr: e.stats.psnr, method: "encoder" };
      return { quality, decodedSecs: e.writtenSecs };
    }
    const decoded = await ffprobe(e.output, { binaries: o.binaries, signal: ctx.signal });
    const size = { width: decoded.video.width, height: decoded.video.height };
    const q = await scoreEpisode({
      source: { path: e.source, demuxer: e.p.demuxer },
      encoded: { path: e.output, demuxer: decoded.demuxer },
      size,
      referenceFilter: pictureFilter(e.picture, size),
      ...(e.stats ? { stats: e.stats } : {}),
      vmaf: wantsVmaf(e.spec),
      measureAll: e.choice !== undefined,
      binaries: o.binaries,
      ...(vmafBinaries ? { vmafBinaries } : {}),
      threads,
      signal: ctx.signal,
    });
    return { quality: q && withChoice(q, e.choice, e.spec), decodedSecs: decoded.durationSecs };
  }

  async function chooseLevel(
    source: string,
    p: ProbeResult,
    spec: VideoJobSpec,
    plan: EncodePlan,
    output: string,
    ctx: StageContext,
  ): Promise<LevelChoice | undefined> {
    const target = spec.compression.targetQuality;
    if (!target) return undefined;
    const workDir = join(output, "..", "samples");
    await mkdir(workDir, { recursive: true });
    const choice = await findLevelForTarget({
      source,
      sourceInfo: sourceInfo(p),
      durationSecs: p.durationSecs,
      quality: spec.quality,
      codec: spec.codec,
      preset: spec.compression.preset,
      encoder: plan.family,
      hwDecode: plan.hwDecode,
      target,
      workDir,
      binaries: o.binaries,
      ...(vmafBinaries ? { vmafBinaries } : {}),
      signal: ctx.signal,
      threads,
    });
    return choice;
  }
}

/** An encoded episode's tracks by language, kept through a normalising re-encode (no second gain). */
function normalisedTracks(inp: ProbeResult, spec: VideoJobSpec) {
  const plans = chooseAudioTracks(inp.audioTracks ?? [], spec.audio);
  if (!plans) return {};
  const tracks = plans.map((t) => ({ ...t, sound: { layout: spec.audio.layout } }));
  return { audioTracks: { tracks, durationSecs: inp.durationSecs } };
}

/** The sample search's choice in the scores; quality/reach.ts checks it on the whole episode. */
function withChoice(q: QualityScores, choice: LevelChoice | undefined, spec: VideoJobSpec): QualityScores {
  const target = spec.compression.targetQuality;
  if (!choice || !target) return q;
  const whole = target.metric === "vmaf" ? q.vmaf : q.ssim;
  const t = { metric: target.metric, score: target.score, sampleLevel: choice.level, sampleScore: choice.score };
  return { ...q, target: { ...t, level: choice.level, encodes: 1, reached: (whole ?? -1) >= target.score } };
}

/** What yt-dlp is asked of a page's subtitles: the job's languages, automatic captions only when asked. */
function pageSubtitles(s: NonNullable<VideoJobSpec["subtitles"]>) {
  return { ...(s.languages ? { languages: s.languages } : {}), automatic: s.automatic === true };
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** What the origin said of a direct download's bytes, for reuse by another VideoJob (crds/src/reuse.ts). */
function validatorOf(r: { etag?: string | undefined; bytes: number }): { validator?: string } {
  const validator = sourceValidator({ etag: r.etag, length: r.bytes });
  return validator ? { validator } : {};
}

function progressOf(ctx: StageContext) {
  return (p: { downloaded: number; total?: number | null }) =>
    ctx.progress(p.total ? p.downloaded / p.total : 0, mb(p.downloaded));
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/**
 * Episodes up to a minute are compared whole: a window must decode from the keyframe before it
 * (x264 puts one every ~8 s), so on short episodes windows cost more than the whole file (on the
 * job benchmark, three 1 s windows of an 8 s episode took longer than one whole comparison).
 * Longer episodes are compared on 2 s windows spread over the file, one per minute (4 to 30), and
 * status says how many seconds were compared.
 */
export function measureWindows(durationSecs: number) {
  if (durationSecs <= 60) return undefined;
  return sampleWindows(durationSecs, Math.min(30, Math.max(4, Math.round(durationSecs / 60))), 2);
}
