//! Plans the joined timeline: where each input's samples go, how the last sample durations are
//! retimed at each join so audio stays in sync, the output edit lists and the chapter starts.
//!
//! Video is the master clock. Input k+1's first presented frame starts exactly where input k's
//! video ends. Its first audio sample is then placed where it sat relative to its own video in
//! the source (for ffmpeg AAC: 1024 priming samples before the first frame), by lengthening or
//! squeezing the tail of input k's audio timestamps. Each target is computed from the absolute
//! video position, so any rounding or clamping stays local to one join and never accumulates.

use crate::input::{Input, Track};
use crate::tables::SampleTable;

#[derive(Debug, Clone)]
pub struct TrackPlan {
    pub table: SampleTable,
    pub timescale: u32,
    /// Leading empty edit, in seconds.
    pub empty_secs: f64,
    /// Output edit media_time, in the track timescale.
    pub media_time: i64,
    /// Output edit duration, in seconds.
    pub edit_secs: f64,
    /// The sample group description copied from input 0, when every input has the same one.
    pub sgpd: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub video: TrackPlan,
    pub audio: Option<TrackPlan>,
    /// Presentation start of each input in the output, seconds.
    pub starts: Vec<f64>,
    pub duration_secs: f64,
    pub max_av_offset_ms: f64,
    /// Per input: (first byte, length) of its sample data, copied in order after each other.
    pub spans: Vec<(u64, u64)>,
}

fn rescale(v: i64, from: u32, to: u32) -> i64 {
    ((v as i128 * to as i128 + from as i128 / 2).div_euclid(from as i128)) as i64
}

/// Tables of one track from every input, in the first input's timescale, with sample groups
/// dropped unless every input describes them identically.
fn prepared(tracks: &[&Track]) -> (Vec<SampleTable>, u32, Option<Vec<u8>>) {
    let ts = tracks[0].timescale;
    let sgpd = tracks[0]
        .sgpd
        .clone()
        .filter(|g| tracks.iter().all(|t| t.sgpd.as_ref() == Some(g)));
    let tables = tracks
        .iter()
        .map(|t| {
            let mut tab = t.table.clone();
            tab.rescale(t.timescale, ts);
            if sgpd.is_none() {
                tab.groups = None;
            }
            tab
        })
        .collect();
    (tables, ts, sgpd)
}

fn concat(tables: &[SampleTable], deltas: &[i64]) -> SampleTable {
    let mut out = tables[0].clone();
    for c in &mut out.chunks {
        c.offset = (c.offset as i64 + deltas[0]) as u64;
    }
    for (t, &d) in tables[1..].iter().zip(&deltas[1..]) {
        out.append(t, d);
    }
    out
}

pub fn plan(inputs: &[Input]) -> JoinPlan {
    let n = inputs.len();
    let mut spans = Vec::with_capacity(n);
    let mut deltas = Vec::with_capacity(n);
    let mut base = 0u64;
    for inp in inputs {
        let (lo, hi) = inp.data_span();
        spans.push((lo, hi - lo));
        deltas.push(base as i64 - lo as i64);
        base += hi - lo;
    }

    // Video: contiguous; only a differing composition shift (edit media_time) needs retiming.
    let vtracks: Vec<&Track> = inputs.iter().map(|i| &i.video).collect();
    let (mut vtabs, vts, vsgpd) = prepared(&vtracks);
    let mv: Vec<i64> = inputs
        .iter()
        .map(|i| rescale(i.video.edit.media_time, i.video.timescale, vts))
        .collect();
    let mut vpos = vec![0i64; n];
    for k in 0..n {
        if k + 1 < n {
            vtabs[k].retime_tail(mv[k] - mv[k + 1]);
            vpos[k + 1] = vpos[k] + vtabs[k].total_duration() as i64;
        }
    }
    let starts_ticks: Vec<i64> = (0..n).map(|k| vpos[k] + mv[k] - mv[0]).collect();
    let video_table = concat(&vtabs, &deltas);
    let video_edit_ticks = video_table.presentation_end() - mv[0];
    let video = TrackPlan {
        timescale: vts,
        empty_secs: 0.0,
        media_time: mv[0],
        edit_secs: video_edit_ticks as f64 / vts as f64,
        sgpd: vsgpd,
        table: video_table,
    };
    let starts: Vec<f64> = starts_ticks.iter().map(|&t| t as f64 / vts as f64).collect();
    let mut duration_secs = video.edit_secs;
    let mut max_av_offset_ms: f64 = 0.0;

    let audio = if inputs[0].audio.is_some() {
        let atracks: Vec<&Track> = inputs
            .iter()
            .map(|i| i.audio.as_ref().expect("compat checked"))
            .collect();
        let (mut atabs, ats, asgpd) = prepared(&atracks);
        let ma: Vec<i64> = atracks
            .iter()
            .map(|t| rescale(t.edit.media_time, t.timescale, ats))
            .collect();
        // Where the source put its first audio sample relative to its first video frame.
        let rel: Vec<f64> = inputs
            .iter()
            .zip(&ma)
            .map(|(i, &m)| {
                let a = i.audio.as_ref().unwrap();
                (a.edit.empty as f64 - i.video.edit.empty as f64) / i.movie_timescale as f64
                    - m as f64 / ats as f64
            })
            .collect();
        // Output edit: trim input 0's priming (and any audio that preceded the video); delay
        // the track with an empty edit if its audio started after its video.
        let edit_media = ma[0].max((-rel[0] * ats as f64).round() as i64);
        let empty_secs = (rel[0] + edit_media as f64 / ats as f64).max(0.0);
        let mut apos = vec![0i64; n];
        for k in 1..n {
            let target_secs = starts[k] + rel[k];
            let target = ((target_secs - empty_secs) * ats as f64).round() as i64 + edit_media;
            let natural = apos[k - 1] + atabs[k - 1].total_duration() as i64;
            atabs[k - 1].retime_tail(target - natural);
            apos[k] = apos[k - 1] + atabs[k - 1].total_duration() as i64;
            let off_ms = (apos[k] - target).abs() as f64 * 1000.0 / ats as f64;
            max_av_offset_ms = max_av_offset_ms.max(off_ms);
        }
        let last = atracks[n - 1];
        let content = match last.edit.duration {
            Some(d) => rescale(d as i64, inputs[n - 1].movie_timescale, ats),
            None => last.table.total_duration() as i64 - ma[n - 1],
        };
        let table = concat(&atabs, &deltas);
        let end = (apos[n - 1] + ma[n - 1] + content).min(table.total_duration() as i64);
        let edit_secs = (end - edit_media).max(0) as f64 / ats as f64;
        duration_secs = duration_secs.max(empty_secs + edit_secs);
        Some(TrackPlan {
            table,
            timescale: ats,
            empty_secs,
            media_time: edit_media,
            edit_secs,
            sgpd: asgpd,
        })
    } else {
        None
    };

    JoinPlan {
        video,
        audio,
        starts,
        duration_secs,
        max_av_offset_ms,
        spans,
    }
}
