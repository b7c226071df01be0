//! `merge`: joins MP4s without re-encoding. The merge is blocking file I/O, so it runs on the
//! blocking pool, never on the JS thread.

use std::path::PathBuf;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use reel_merge::{
    ChapterMarks, MergeInput as CoreInput, MergeOptions as CoreOptions, SourceChapter as CoreSourceChapter,
    TrackChoice as CoreChoice, TrackKind,
};

use crate::cancel::CancelToken;
use crate::convert::{invalid, to_napi};

#[napi(object)]
pub struct MergeInput {
    pub path: String,
    pub title: Option<String>,
    /// The input's own chapters (its source's), for chapterMarks "source" or "both".
    pub chapters: Option<Vec<SourceChapter>>,
}

/// One of an input's own chapters, its start relative to the input's first frame.
#[napi(object)]
pub struct SourceChapter {
    pub title: String,
    pub start_secs: f64,
}

fn chapter_marks(mode: Option<&str>) -> Result<ChapterMarks> {
    match mode {
        None | Some("episodes") => Ok(ChapterMarks::Episodes),
        Some("source") => Ok(ChapterMarks::Source),
        Some("both") => Ok(ChapterMarks::Both),
        Some(other) => Err(invalid(format!(
            "chapterMarks '{other}' is not one of episodes, source, both"
        ))),
    }
}

/// One asked-for audio or subtitle track: an ISO 639-2 language ("jpn") and whether it is the
/// default (for audio the first track is when none says so; subtitles only when asked).
#[napi(object)]
pub struct TrackChoice {
    pub language: String,
    pub default: Option<bool>,
}

fn choices(list: Option<Vec<TrackChoice>>) -> Option<Vec<CoreChoice>> {
    list.map(|l| {
        l.into_iter()
            .map(|c| CoreChoice {
                language: c.language,
                default: c.default.unwrap_or(false),
            })
            .collect()
    })
}

#[napi(object)]
pub struct MergeOptions {
    pub inputs: Vec<MergeInput>,
    pub output: String,
    /// A chapter per input, titled with the input's title (default true): a chapter track (no
    /// limit) and Nero chpl (the first 255).
    pub chapters: Option<bool>,
    /// Which chapters: one per input ("episodes", the default), the inputs' own ("source"; an
    /// input without any gets one), or both (own ones titled "<input title> — <chapter>").
    #[napi(ts_type = "'episodes' | 'source' | 'both'")]
    pub chapter_marks: Option<String>,
    /// The output's audio tracks in order, matched by language in every input (silence where an
    /// input lacks one). Absent: every track the inputs have.
    pub audio_tracks: Option<Vec<TrackChoice>>,
    /// The same for mov_text subtitle tracks (an empty track where an input lacks one).
    pub subtitle_tracks: Option<Vec<TrackChoice>>,
    /// moov before mdat so players can start before the whole file arrives (default true).
    pub faststart: Option<bool>,
    /// fsync before renaming into place (default false: most merges write an intermediate file).
    pub durable: Option<bool>,
}

#[napi(object)]
pub struct Chapter {
    pub title: String,
    pub start_secs: f64,
    pub end_secs: f64,
}

#[napi(object)]
pub struct TrackReport {
    /// "audio" or "subtitle".
    pub kind: String,
    pub language: String,
    pub default: bool,
    pub codec: String,
    /// Inputs that lacked the track (filled with silence or an empty subtitle track).
    pub filled: Vec<u32>,
    pub max_offset_ms: f64,
}

#[napi(object)]
pub struct MergeReport {
    pub output_bytes: f64,
    pub duration_secs: f64,
    /// Read back from the written file's chapter track.
    pub chapters: Vec<Chapter>,
    /// Audio then subtitle tracks, in output order.
    pub tracks: Vec<TrackReport>,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub max_av_offset_ms: f64,
    pub elapsed_ms: f64,
}

#[napi(object)]
pub struct MergeProgress {
    pub done: f64,
    pub total: f64,
}

pub type MergeProgressFn = ThreadsafeFunction<MergeProgress, (), MergeProgress, Status, false>;

#[napi(ts_return_type = "Promise<MergeReport>")]
pub fn merge<'e>(
    env: &'e Env,
    options: MergeOptions,
    #[napi(ts_arg_type = "((progress: MergeProgress) => void) | undefined | null")] on_progress: Option<
        MergeProgressFn,
    >,
    cancel: Option<&CancelToken>,
) -> Result<PromiseRaw<'e, MergeReport>> {
    if options.inputs.is_empty() {
        return Err(invalid("merge needs at least one input"));
    }
    let source_chapters = options
        .inputs
        .iter()
        .map(|i| {
            i.chapters
                .iter()
                .flatten()
                .map(|c| CoreSourceChapter {
                    title: c.title.clone(),
                    start_secs: c.start_secs,
                })
                .collect()
        })
        .collect();
    let opts = CoreOptions {
        chapter_marks: chapter_marks(options.chapter_marks.as_deref())?,
        source_chapters,
        inputs: options
            .inputs
            .into_iter()
            .map(|i| CoreInput {
                path: PathBuf::from(i.path),
                title: i.title,
            })
            .collect(),
        output: PathBuf::from(options.output),
        chapters: options.chapters.unwrap_or(true),
        audio_tracks: choices(options.audio_tracks),
        subtitle_tracks: choices(options.subtitle_tracks),
        faststart: options.faststart.unwrap_or(true),
        durable: options.durable.unwrap_or(false),
    };
    let flag = cancel.map(|c| c.flag.clone()).unwrap_or_default();
    env.spawn_future(async move {
        let r = tokio::task::spawn_blocking(move || {
            let sink = on_progress.map(|f| {
                // Bounded rate: one event per 1% of the bytes, whatever the copy piece size.
                let last = std::sync::atomic::AtomicU64::new(0);
                move |done: u64, total: u64| {
                    let step = (total / 100).max(1);
                    let prev = last.load(std::sync::atomic::Ordering::Relaxed);
                    if done == total || done >= prev + step {
                        last.store(done, std::sync::atomic::Ordering::Relaxed);
                        f.call(
                            MergeProgress {
                                done: done as f64,
                                total: total as f64,
                            },
                            ThreadsafeFunctionCallMode::NonBlocking,
                        );
                    }
                }
            });
            let progress: Option<&(dyn Fn(u64, u64) + Sync)> = sink.as_ref().map(|s| s as _);
            reel_merge::merge(&opts, progress, Some(&flag))
        })
        .await
        .map_err(|e| napi::Error::from_reason(e.to_string()))?
        .map_err(to_napi)?;
        Ok(MergeReport {
            output_bytes: r.output_bytes as f64,
            duration_secs: r.duration_secs,
            chapters: r
                .chapters
                .into_iter()
                .map(|c| Chapter {
                    title: c.title,
                    start_secs: c.start_secs,
                    end_secs: c.end_secs,
                })
                .collect(),
            tracks: r
                .tracks
                .into_iter()
                .map(|t| TrackReport {
                    kind: match t.kind {
                        TrackKind::Audio => "audio",
                        TrackKind::Subtitle => "subtitle",
                    }
                    .into(),
                    language: t.language,
                    default: t.default,
                    codec: t.codec,
                    filled: t.filled.into_iter().map(|i| i as u32).collect(),
                    max_offset_ms: t.max_offset_ms,
                })
                .collect(),
            video_codec: r.video_codec,
            audio_codec: r.audio_codec,
            max_av_offset_ms: r.max_av_offset_ms,
            elapsed_ms: r.elapsed_ms as f64,
        })
    })
}

#[napi(object)]
pub struct Mismatch {
    pub input: u32,
    pub field: String,
    pub expected: String,
    pub found: String,
}

/// Which tracks a compatibility check is about (the same choices as `MergeOptions`).
#[napi(object)]
pub struct TrackChoices {
    pub audio_tracks: Option<Vec<TrackChoice>>,
    pub subtitle_tracks: Option<Vec<TrackChoice>>,
}

/// What stops these files from being joined without re-encoding (compared with the first input);
/// empty when they can be merged as they are. Unreadable inputs reject with their code.
#[napi(ts_return_type = "Promise<Mismatch[]>")]
pub fn check_compatible<'e>(
    env: &'e Env,
    paths: Vec<String>,
    tracks: Option<TrackChoices>,
) -> Result<PromiseRaw<'e, Vec<Mismatch>>> {
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let (audio, subtitles) = tracks
        .map(|t| (choices(t.audio_tracks), choices(t.subtitle_tracks)))
        .unwrap_or_default();
    env.spawn_future(async move {
        let list = tokio::task::spawn_blocking(move || {
            reel_merge::check_compatible_tracks(&paths, audio.as_deref(), subtitles.as_deref())
        })
        .await
        .map_err(|e| napi::Error::from_reason(e.to_string()))?
        .map_err(to_napi)?;
        Ok(list
            .into_iter()
            .map(|m| Mismatch {
                input: m.input as u32,
                field: m.field,
                expected: m.expected,
                found: m.found,
            })
            .collect())
    })
}
