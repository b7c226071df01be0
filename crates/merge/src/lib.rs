//! MP4 merge without re-encoding: joins progressive MP4/MOV files that share codec parameters
//! (segments of one episode, or whole episodes with a chapter each) into one MP4.
//!
//! Sample data is never demuxed: each input's data span is copied whole, file to file, and only
//! the sample tables are merged (concatenated, retimed at joins, chunk offsets moved per input).

mod boxes;
mod chapters;
mod compat;
mod copy;
mod edits;
mod input;
mod join;
mod layout;
mod tables;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub use reel_core::{ErrorCode, ReelError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeInput {
    pub path: PathBuf,
    /// Chapter title; "Chapter N" (1-based) when absent.
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeOptions {
    pub inputs: Vec<MergeInput>,
    pub output: PathBuf,
    /// One chapter per input (Nero `chpl`). Default true.
    pub chapters: bool,
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

#[derive(Debug, Clone, PartialEq)]
pub struct MergeReport {
    pub output_bytes: u64,
    pub duration_secs: f64,
    /// The chapters written (one per input), or the input boundaries when chapters were off
    /// (nothing written then, but callers still learn where each input starts).
    pub chapters: Vec<Chapter>,
    /// "h264", "hevc", "av1"; "aac", "opus".
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    /// Worst deviation, over all joins, of an input's audio start from where it sat relative to
    /// its own video in the source (ffmpeg AAC: 1024 priming samples before the first frame).
    /// Zero unless a join needed more retiming than the audio tail could absorb.
    pub max_av_offset_ms: f64,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Index into the inputs of the input that differs from input 0.
    pub input: usize,
    /// e.g. "video.codec", "video.width", "video.config", "audio.sample_rate", "audio.present".
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
    Ok(compat::mismatches(&open_all(inputs)?))
}

fn codec_name(fourcc: &str) -> String {
    match fourcc {
        "avc1" | "avc3" => "h264",
        "hvc1" | "hev1" => "hevc",
        "av01" => "av1",
        "mp4a" => "aac",
        "Opus" => "opus",
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
    let mismatches = compat::mismatches(&inputs);
    if !mismatches.is_empty() {
        return Err(mismatch_error(&mismatches));
    }
    let plan = join::plan(&inputs);
    let titles: Vec<Option<String>> = opts.inputs.iter().map(|i| i.title.clone()).collect();
    let chapters = chapters::build(&titles, &plan.starts, plan.duration_secs);

    let mut tmp = opts.output.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = write_output(&tmp, opts, &inputs, &plan, &chapters, on_progress, cancel);
    let output_bytes =
        match written.and_then(|n| std::fs::rename(&tmp, &opts.output).map(|_| n).map_err(Into::into)) {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
    Ok(MergeReport {
        output_bytes,
        duration_secs: plan.duration_secs,
        chapters,
        video_codec: Some(codec_name(&inputs[0].video.entry.codec)),
        audio_codec: inputs[0].audio.as_ref().map(|a| codec_name(&a.entry.codec)),
        max_av_offset_ms: plan.max_av_offset_ms,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
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
    let data_len: u64 = plan.spans.iter().map(|s| s.1).sum();
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
    for (inp, &(lo, len)) in inputs.iter().zip(&plan.spans) {
        let mut src = File::open(&inp.path)?;
        copier.copy(&mut src, lo, len, &mut out)?;
    }
    if let Some(moov) = moov_after {
        out.write_all(&moov)?;
    }
    if opts.durable {
        out.sync_all()?;
    }
    Ok(out.metadata()?.len())
}
