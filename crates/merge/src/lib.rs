//! MP4 merge without re-encoding: joins progressive MP4/MOV files that share codec parameters
//! (segments of one episode, or whole episodes with a chapter each) into one MP4, with every
//! audio and mov_text subtitle track matched by language across the inputs.
//!
//! Sample data is never demuxed: each input's data span is copied whole, file to file, and only
//! the sample tables are merged (concatenated, retimed at joins, chunk offsets moved per input).
//! The few samples the merge writes itself (chapter titles, silence and empty subtitles where an
//! input lacks a track) sit beside the copied spans.

mod boxes;
mod chapters;
mod compat;
mod copy;
mod edits;
mod fill;
mod input;
mod join;
mod layout;
mod tables;
mod tracks;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub use chapters::{ChapterMarks, SourceChapter};
pub use reel_core::{ErrorCode, ReelError, Result};
pub use tracks::{TrackChoice, TrackKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeInput {
    pub path: PathBuf,
    /// Chapter title; "Chapter N" (1-based) when absent.
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MergeOptions {
    pub inputs: Vec<MergeInput>,
    pub output: PathBuf,
    /// One chapter per input (a QuickTime chapter track, and Nero `chpl` for the first 255).
    /// Default true.
    pub chapters: bool,
    /// Which chapters: one per input (the default), the inputs' own, or both.
    pub chapter_marks: ChapterMarks,
    /// Per input, its own chapters (for `ChapterMarks::Source`/`Both`); missing entries: none.
    pub source_chapters: Vec<Vec<SourceChapter>>,
    /// The output's audio tracks, in order, each matched by language in every input (an input
    /// without it gets silence). `None`: every track the inputs have (one, unmatched by language,
    /// when no input has more than one audio track), the way the first input that has it marks it.
    pub audio_tracks: Option<Vec<TrackChoice>>,
    /// The same for mov_text subtitle tracks (an input without one gets an empty track); `None`:
    /// one track per (language, occurrence) any input has.
    pub subtitle_tracks: Option<Vec<TrackChoice>>,
    /// moov before mdat, so players can start before the whole file arrives. Default true.
    pub faststart: bool,
    /// fsync the output before it is renamed into place. Default false: most merges write an
    /// intermediate file that is uploaded or copied next, and the sync alone costs as much as
    /// the whole copy; a caller writing a final file it must not lose on power failure sets it.
    pub durable: bool,
}

impl MergeOptions {
    pub fn new(inputs: Vec<MergeInput>, output: impl Into<PathBuf>) -> Self {
        Self {
            inputs,
            output: output.into(),
            chapters: true,
            chapter_marks: ChapterMarks::Episodes,
            source_chapters: Vec::new(),
            audio_tracks: None,
            subtitle_tracks: None,
            faststart: true,
            durable: false,
        }
    }
}

impl Default for MergeOptions {
    fn default() -> Self {
        Self::new(Vec::new(), PathBuf::new())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chapter {
    pub title: String,
    pub start_secs: f64,
    pub end_secs: f64,
}

/// One output track besides the video, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackReport {
    pub kind: TrackKind,
    /// ISO 639-2, as written in mdhd.
    pub language: String,
    pub default: bool,
    /// "aac", "opus", "mov_text".
    pub codec: String,
    /// Inputs (indices) that had no such track: silence or an empty subtitle track there.
    pub filled: Vec<usize>,
    /// Worst distance, over the joins, of an input's first sample of this track from where it sat
    /// relative to its own video in the source.
    pub max_offset_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MergeReport {
    pub output_bytes: u64,
    pub duration_secs: f64,
    /// The chapters as read back from the written file's chapter track (per `chapter_marks`), or the
    /// input boundaries when chapters were off (nothing written then, but callers still learn
    /// where each input starts).
    pub chapters: Vec<Chapter>,
    /// Audio tracks then subtitle tracks, in output order.
    pub tracks: Vec<TrackReport>,
    /// "h264", "hevc", "av1"; "aac", "opus".
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    /// Worst deviation, over all joins and audio tracks, of an input's audio start from where it sat relative to
    /// its own video in the source (ffmpeg AAC: 1024 priming samples before the first frame).
    /// Zero unless a join needed more retiming than the audio tail could absorb.
    pub max_av_offset_ms: f64,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Index into the inputs of the input that differs from input 0.
    pub input: usize,
    /// e.g. "video.codec", "video.width", "video.config", "audio.sample_rate"; with several
    /// tracks of a kind, the track by language: "audio[jpn].channels", "audio[eng].present".
    pub field: String,
    pub expected: String,
    pub found: String,
}

/// The REEL_MERGE_MISMATCH error for a non-empty list, naming every mismatch.
pub fn mismatch_error(list: &[Mismatch]) -> ReelError {
    let lines: Vec<String> = list
        .iter()
        .map(|m| {
            format!(
                "input {}: {} is {} (input 0 has {})",
                m.input, m.field, m.found, m.expected
            )
        })
        .collect();
    ReelError::new(
        ErrorCode::MergeMismatch,
        format!(
            "inputs cannot be joined without re-encoding: {}",
            lines.join("; ")
        ),
    )
}

fn open_all(paths: &[PathBuf]) -> Result<Vec<input::Input>> {
    if paths.is_empty() {
        return Err(ReelError::new(
            ErrorCode::InvalidArgument,
            "merge needs at least one input",
        ));
    }
    paths.iter().enumerate().map(|(i, p)| input::open(i, p)).collect()
}

/// Checks that inputs can be joined. Returns `Ok(list)` of every field that differs from input 0
/// (empty when compatible), so a caller can normalise just those inputs; `merge` refuses the same
/// list with REEL_MERGE_MISMATCH. Unreadable or truncated inputs are REEL_MERGE_INVALID_INPUT,
/// fragmented MP4 or extra tracks REEL_MERGE_UNSUPPORTED.
pub fn check_compatible(inputs: &[PathBuf]) -> Result<Vec<Mismatch>> {
    check_compatible_tracks(inputs, None, None)
}

/// `check_compatible` for the tracks a merge with these choices would write.
pub fn check_compatible_tracks(
    inputs: &[PathBuf],
    audio: Option<&[TrackChoice]>,
    subtitles: Option<&[TrackChoice]>,
) -> Result<Vec<Mismatch>> {
    let inputs = open_all(inputs)?;
    let slots = tracks::slots(&inputs, audio, subtitles)?;
    Ok(compat::mismatches(&inputs, &slots))
}

fn codec_name(fourcc: &str) -> String {
    match fourcc {
        "avc1" | "avc3" => "h264",
        "hvc1" | "hev1" => "hevc",
        "av01" => "av1",
        "mp4a" => "aac",
        "Opus" => "opus",
        "tx3g" => "mov_text",
        other => other,
    }
    .to_string()
}

/// Joins `opts.inputs` into `opts.output`. Writes `<output>.tmp` and renames it when complete;
/// on any error, cancellation included (REEL_CANCELLED), the partial file is removed.
/// `on_progress(done, total)` counts sample-data bytes copied.
pub fn merge(
    opts: &MergeOptions,
    on_progress: Option<&(dyn Fn(u64, u64) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<MergeReport> {
    let started = Instant::now();
    copy::cancelled(cancel)?;
    let paths: Vec<PathBuf> = opts.inputs.iter().map(|i| i.path.clone()).collect();
    let inputs = open_all(&paths)?;
    let slots = tracks::slots(
        &inputs,
        opts.audio_tracks.as_deref(),
        opts.subtitle_tracks.as_deref(),
    )?;
    let mismatches = compat::mismatches(&inputs, &slots);
    if !mismatches.is_empty() {
        return Err(mismatch_error(&mismatches));
    }
    let titles: Vec<Option<String>> = opts.inputs.iter().map(|i| i.title.clone()).collect();
    let marks = if opts.chapters {
        chapters::marks(&titles, opts.chapter_marks, &opts.source_chapters)
    } else {
        // Nothing written; the report still says where each input starts.
        chapters::marks(&titles, ChapterMarks::Episodes, &[])
    };
    let plan = join::plan(&inputs, &slots, opts.chapters.then_some(&marks[..]));
    let timed = if opts.chapters {
        plan.chapter_marks.clone()
    } else {
        marks
            .iter()
            .map(|m| m.title.clone())
            .zip(plan.starts.iter().copied())
            .collect()
    };
    let mut chapters = chapters::build(&timed, plan.duration_secs);

    let mut tmp = opts.output.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = write_output(&tmp, opts, &inputs, &plan, &chapters, on_progress, cancel).and_then(|n| {
        if opts.chapters {
            chapters::read_back(&tmp).map(|c| (n, Some(c)))
        } else {
            Ok((n, None))
        }
    });
    let output_bytes =
        match written.and_then(|r| std::fs::rename(&tmp, &opts.output).map(|_| r).map_err(Into::into)) {
            Ok((n, read)) => {
                chapters = read.unwrap_or(chapters);
                n
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
    Ok(MergeReport {
        output_bytes,
        duration_secs: plan.duration_secs,
        chapters,
        tracks: plan.tracks.iter().map(track_report).collect(),
        video_codec: Some(codec_name(&inputs[0].video.entry.codec)),
        audio_codec: plan
            .tracks
            .iter()
            .find(|t| t.slot.kind == TrackKind::Audio)
            .map(|t| codec_name(&t.template.entry.codec)),
        max_av_offset_ms: plan.max_av_offset_ms,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

fn track_report(t: &join::OutTrack) -> TrackReport {
    TrackReport {
        kind: t.slot.kind,
        language: t.slot.language.clone(),
        default: t.slot.default,
        codec: codec_name(&t.template.entry.codec),
        filled: t.filled.clone(),
        max_offset_ms: t.max_offset_ms,
    }
}

fn write_output(
    tmp: &Path,
    opts: &MergeOptions,
    inputs: &[input::Input],
    plan: &join::JoinPlan,
    chapters: &[Chapter],
    on_progress: copy::Progress,
    cancel: Option<&AtomicBool>,
) -> Result<u64> {
    let data_len: u64 = plan.pieces.iter().map(|p| p.len()).sum();
    let ftyp = layout::ftyp(&inputs[0].video.entry.codec);
    let mdat = boxes::write::header(b"mdat", data_len);
    let m = layout::MoovInput {
        plan,
        first: &inputs[0],
        chapters: opts.chapters.then_some(chapters),
    };
    let fits = |base: u64| base + data_len <= u32::MAX as u64;

    let mut out = File::create(tmp)?;
    out.write_all(&ftyp)?;
    let moov_after = if opts.faststart {
        let moov_len = layout::build_moov(&m, 0, false).len() as u64;
        let mut base = (ftyp.len() + mdat.len()) as u64 + moov_len;
        let large = !fits(base);
        if large {
            base = (ftyp.len() + mdat.len()) as u64 + layout::build_moov(&m, 0, true).len() as u64;
        }
        out.write_all(&layout::build_moov(&m, base, large))?;
        None
    } else {
        let base = (ftyp.len() + mdat.len()) as u64;
        Some(layout::build_moov(&m, base, !fits(base)))
    };
    out.write_all(&mdat)?;
    let mut copier = copy::Copier {
        done: 0,
        total: data_len,
        progress: on_progress,
        cancel,
    };
    for piece in &plan.pieces {
        match piece {
            join::Piece::Input { index, lo, len } => {
                let mut src = File::open(&inputs[*index].path)?;
                copier.copy(&mut src, *lo, *len, &mut out)?;
            }
            join::Piece::Bytes(b) => {
                out.write_all(b)?;
                copier.advance(b.len() as u64);
            }
        }
    }
    if let Some(moov) = moov_after {
        out.write_all(&moov)?;
    }
    if opts.durable {
        out.sync_all()?;
    }
    Ok(out.metadata()?.len())
}
