//! Plans the joined timeline: where each input's samples go, how the last sample durations are
//! retimed at each join so every audio and subtitle track stays in sync, the output edit lists,
//! the chapter starts, and the samples the merge writes itself (chapter titles, silence, empty
//! subtitles) with their place in mdat.
//!
//! Video is the master clock. Input k+1's first presented frame starts exactly where input k's
//! video ends. Its first sample of every other track is then placed where it sat relative to its
//! own video in the source (for ffmpeg AAC: 1024 priming samples before the first frame), by
//! lengthening or squeezing the tail of input k's timestamps in that track (a subtitle track gets
//! an empty sample instead of a longer last cue). Each target is computed from the absolute video
//! position, so any rounding or clamping stays local to one join and never accumulates.

use crate::chapters::{text_samples, Mark};
use crate::fill::{aac_layout, silent_aac_frame, EMPTY_TEXT};
use crate::input::{Input, Track};
use crate::tables::{Chunk, SampleTable};
use crate::tracks::{Slot, TrackKind};

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

/// One output track besides the video: its plan, the input track whose boxes it copies, and the
/// inputs it had to fill.
#[derive(Debug, Clone)]
pub struct OutTrack {
    pub slot: Slot,
    /// The first input's track that feeds the slot (its table is not used).
    pub template: Track,
    pub plan: TrackPlan,
    pub filled: Vec<usize>,
    /// Worst distance, over the joins, of an input's first sample from where it belongs.
    pub max_offset_ms: f64,
}

/// A piece of the output's mdat, in order.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Bytes [lo, lo + len) of input `index`, copied file to file.
    Input { index: usize, lo: u64, len: u64 },
    /// Samples the merge writes itself.
    Bytes(Vec<u8>),
}

impl Piece {
    pub fn len(&self) -> u64 {
        match self {
            Piece::Input { len, .. } => *len,
            Piece::Bytes(b) => b.len() as u64,
        }
    }
}

#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub video: TrackPlan,
    pub tracks: Vec<OutTrack>,
    /// The QuickTime chapter track's samples (one title per chapter mark) when chapters are on.
    pub chapter_track: Option<TrackPlan>,
    /// The chapters as placed: title and start, seconds (empty when chapters are off).
    pub chapter_marks: Vec<(String, f64)>,
    /// Presentation start of each input in the output, seconds.
    pub starts: Vec<f64>,
    pub duration_secs: f64,
    /// The worst audio track's offset (see OutTrack::max_offset_ms).
    pub max_av_offset_ms: f64,
    pub pieces: Vec<Piece>,
}

fn rescale(v: i64, from: u32, to: u32) -> i64 {
    ((v as i128 * to as i128 + from as i128 / 2).div_euclid(from as i128)) as i64
}

fn concat(tables: Vec<SampleTable>) -> SampleTable {
    let mut it = tables.into_iter();
    let mut out = it.next().unwrap_or_default();
    for t in it {
        out.append(&t, 0);
    }
    out
}

/// The video timeline before any byte is placed: retimed tables, composition shifts, the start of
/// each input and the end of the last presented frame, in the first input's video timescale.
struct VideoTiming {
    tables: Vec<SampleTable>,
    timescale: u32,
    sgpd: Option<Vec<u8>>,
    shift0: i64,
    starts: Vec<i64>,
    end: i64,
}

fn video_timing(inputs: &[Input]) -> VideoTiming {
    let n = inputs.len();
    let vts = inputs[0].video.timescale;
    let sgpd = inputs[0]
        .video
        .sgpd
        .clone()
        .filter(|g| inputs.iter().all(|i| i.video.sgpd.as_ref() == Some(g)));
    let mut tables: Vec<SampleTable> = inputs
        .iter()
        .map(|i| {
            let mut t = i.video.table.clone();
            t.rescale(i.video.timescale, vts);
            if sgpd.is_none() {
                t.groups = None;
            }
            t
        })
        .collect();
    // Only a differing composition shift (edit media_time) needs retiming.
    let mv: Vec<i64> = inputs
        .iter()
        .map(|i| rescale(i.video.edit.media_time, i.video.timescale, vts))
        .collect();
    let mut vpos = vec![0i64; n];
    for k in 0..n - 1 {
        tables[k].retime_tail(mv[k] - mv[k + 1]);
        vpos[k + 1] = vpos[k] + tables[k].total_duration() as i64;
    }
    let end = (0..n)
        .map(|k| vpos[k] + tables[k].presentation_end())
        .max()
        .unwrap_or(0)
        - mv[0];
    VideoTiming {
        starts: (0..n).map(|k| vpos[k] + mv[k] - mv[0]).collect(),
        shift0: mv[0],
        tables,
        timescale: vts,
        sgpd,
        end,
    }
}

/// Where each input's data and its fillers land in mdat: the chapter titles first, then per
/// input its data span followed by the samples written for it.
struct Layout {
    pieces: Vec<Piece>,
    /// Per input, what to add to its chunk offsets.
    deltas: Vec<i64>,
    /// Per input, per slot: where the filler for that slot starts (silence or an empty subtitle).
    fillers: Vec<Vec<u64>>,
}

/// Per slot, the silent frame and its frame length when the slot is audio and some input lacks it.
type Silence = Option<(Vec<u8>, u32)>;

fn lay_out(
    inputs: &[Input],
    slots: &[Slot],
    silence: &[Silence],
    frames: &[Vec<u64>],
    prefix: Vec<u8>,
) -> Layout {
    let mut base = prefix.len() as u64;
    let mut pieces = vec![Piece::Bytes(prefix)];
    let (mut deltas, mut fillers) = (Vec::new(), Vec::new());
    for (k, inp) in inputs.iter().enumerate() {
        let (lo, hi) = inp.data_span();
        pieces.push(Piece::Input {
            index: k,
            lo,
            len: hi - lo,
        });
        deltas.push(base as i64 - lo as i64);
        base += hi - lo;
        let mut bytes = Vec::new();
        let mut at = Vec::with_capacity(slots.len());
        for (s, slot) in slots.iter().enumerate() {
            at.push(base + bytes.len() as u64);
            match (slot.kind, &silence[s]) {
                (TrackKind::Subtitle, _) => bytes.extend_from_slice(&EMPTY_TEXT),
                (TrackKind::Audio, Some((frame, _))) if slot.sources[k].is_none() => {
                    for _ in 0..frames[s][k] {
                        bytes.extend_from_slice(frame);
                    }
                }
                _ => {}
            }
        }
        base += bytes.len() as u64;
        fillers.push(at);
        pieces.push(Piece::Bytes(bytes));
    }
    pieces.retain(|p| p.len() > 0);
    Layout {
        pieces,
        deltas,
        fillers,
    }
}

/// One input's contribution to one output track, in the track's timescale, chunks already at
/// their output offsets.
struct Source {
    table: SampleTable,
    media_time: i64,
    /// Start of its first presented sample relative to its input's first frame, seconds.
    rel: f64,
    /// Presented length, when the input's edit says it (needed for the last input only).
    content: Option<i64>,
    /// Where an empty subtitle sample for this input lies.
    filler: u64,
    synthetic: bool,
}

fn real_source(inp: &Input, t: &Track, ts: u32, delta: i64, filler: u64, keep_groups: bool) -> Source {
    let mut table = t.table.clone();
    table.rescale(t.timescale, ts);
    table.shift_chunks(delta);
    if !keep_groups {
        table.groups = None;
    }
    let media_time = rescale(t.edit.media_time, t.timescale, ts);
    Source {
        rel: (t.edit.empty as f64 - inp.video.edit.empty as f64) / inp.movie_timescale as f64
            - media_time as f64 / ts as f64,
        content: t
            .edit
            .duration
            .map(|d| rescale(d as i64, inp.movie_timescale, ts)),
        table,
        media_time,
        filler,
        synthetic: false,
    }
}

/// Stands in for a missing track over `secs`: silent frames from `filler` on, or one empty
/// subtitle sample there.
fn synthetic_source(
    kind: TrackKind,
    silence: &Silence,
    frames: u64,
    sample_rate: u32,
    ts: u32,
    secs: f64,
    filler: u64,
) -> Source {
    let mut table = SampleTable::default();
    match (kind, silence) {
        (TrackKind::Audio, Some((frame, frame_len))) => {
            table.durations = vec![*frame_len; frames as usize];
            table.sizes = vec![frame.len() as u32; frames as usize];
            table.chunks = vec![Chunk {
                offset: filler,
                samples: frames as u32,
            }];
            table.rescale(sample_rate, ts);
        }
        _ => table.push_sample(
            ((secs * ts as f64).round() as u32).max(1),
            EMPTY_TEXT.len() as u32,
            filler,
        ),
    }
    Source {
        table,
        media_time: 0,
        rel: 0.0,
        content: Some((secs * ts as f64).round() as i64),
        filler,
        synthetic: true,
    }
}

/// Joins one track's sources on the video's starts (seconds). Returns the plan (without sgpd) and
/// the worst distance of a join from its target, in ms.
fn join_sources(mut sources: Vec<Source>, ts: u32, starts: &[f64], kind: TrackKind) -> (TrackPlan, f64) {
    let n = sources.len();
    let tsf = ts as f64;
    // Output edit: trim input 0's priming (and anything before the video); delay the track with
    // an empty edit if it started after the video.
    let mut edit_media = sources[0].media_time.max((-sources[0].rel * tsf).round() as i64);
    let empty_secs = (sources[0].rel + edit_media as f64 / tsf).max(0.0);
    if kind == TrackKind::Subtitle && trim_first_sample(&mut sources[0], edit_media) {
        edit_media = 0;
    }
    let mut tabs: Vec<SampleTable> = Vec::with_capacity(n);
    let mut pos = 0i64;
    let mut worst: f64 = 0.0;
    for (k, s) in sources.iter().enumerate() {
        tabs.push(s.table.clone());
        if k + 1 == n {
            break;
        }
        let next = &sources[k + 1];
        let target = ((starts[k + 1] + next.rel - empty_secs) * tsf).round() as i64 + edit_media;
        let delta = target - (pos + tabs[k].total_duration() as i64);
        if kind == TrackKind::Subtitle && delta > 0 && !s.synthetic {
            // A cue must not stay on screen into the next episode: the gap is an empty sample.
            tabs[k].push_sample(
                delta.min(u32::MAX as i64) as u32,
                EMPTY_TEXT.len() as u32,
                s.filler,
            );
        } else {
            tabs[k].retime_tail(delta);
        }
        pos += tabs[k].total_duration() as i64;
        worst = worst.max((pos - target).abs() as f64 * 1000.0 / tsf);
    }
    let last = &sources[n - 1];
    let content = last
        .content
        .unwrap_or(last.table.total_duration() as i64 - last.media_time);
    let table = concat(tabs);
    let end = (pos + last.media_time + content).min(table.total_duration() as i64);
    let plan = TrackPlan {
        table,
        timescale: ts,
        empty_secs,
        media_time: edit_media,
        edit_secs: (end - edit_media).max(0) as f64 / tsf,
        sgpd: None,
    };
    (plan, worst)
}

/// A subtitle track is trimmed by shortening its first sample instead of an edit that starts
/// inside it: ffmpeg 5.1's mov reader would present every cue of the first input early by up to
/// that sample's length. Audio keeps its edit (ffmpeg honours it sample-accurately there).
/// Returns false, leaving the edit to do it, when the first sample is not longer than the trim.
fn trim_first_sample(s: &mut Source, trim: i64) -> bool {
    match s.table.durations.first_mut() {
        Some(d) if trim > 0 && (*d as i64) > trim => {
            *d -= trim as u32;
            s.media_time -= trim;
            true
        }
        _ => false,
    }
}

fn template<'a>(inputs: &'a [Input], slot: &Slot) -> &'a Track {
    let (k, i) = slot
        .sources
        .iter()
        .enumerate()
        .find_map(|(k, s)| s.map(|i| (k, i)))
        .expect("every slot has a source");
    &slot.kind.of(&inputs[k])[i]
}

/// Per slot, the silent frame for its gaps (audio slots that some input lacks; compat has refused
/// those whose codec silence cannot stand in for).
fn silences(inputs: &[Input], slots: &[Slot]) -> Vec<Silence> {
    slots
        .iter()
        .map(|s| {
            if s.kind != TrackKind::Audio || s.sources.iter().all(Option::is_some) {
                return None;
            }
            let t = template(inputs, s);
            aac_layout(&t.entry.codec, &t.entry.config)
                .map(|l| (silent_aac_frame(l.channel_config), l.frame_len))
        })
        .collect()
}

/// Where each input starts in the output and how long its video lasts, seconds.
struct Timeline<'a> {
    starts: &'a [f64],
    lens: &'a [f64],
}

fn plan_slot(
    inputs: &[Input],
    slot: &Slot,
    silence: &Silence,
    frames: &[u64],
    t: &Timeline,
    layout: &Layout,
    s: usize,
) -> OutTrack {
    let (starts, lens) = (t.starts, t.lens);
    let tpl = template(inputs, slot);
    let ts = tpl.timescale;
    let real: Vec<&Track> = slot
        .sources
        .iter()
        .zip(inputs)
        .filter_map(|(src, inp)| src.map(|i| &slot.kind.of(inp)[i]))
        .collect();
    let full = real.len() == inputs.len();
    let sgpd = tpl
        .sgpd
        .clone()
        .filter(|g| full && real.iter().all(|t| t.sgpd.as_ref() == Some(g)));
    let mut filled = Vec::new();
    let sources: Vec<Source> = inputs
        .iter()
        .enumerate()
        .map(|(k, inp)| {
            let filler = layout.fillers[k][s];
            match slot.sources[k] {
                Some(i) => real_source(
                    inp,
                    &slot.kind.of(inp)[i],
                    ts,
                    layout.deltas[k],
                    filler,
                    sgpd.is_some(),
                ),
                None => {
                    filled.push(k);
                    synthetic_source(
                        slot.kind,
                        silence,
                        frames[k],
                        tpl.entry.sample_rate,
                        ts,
                        lens[k],
                        filler,
                    )
                }
            }
        })
        .collect();
    let (mut plan, worst) = join_sources(sources, ts, starts, slot.kind);
    plan.sgpd = sgpd;
    OutTrack {
        slot: slot.clone(),
        template: Track {
            table: SampleTable::default(),
            ..tpl.clone()
        },
        plan,
        filled,
        max_offset_ms: worst,
    }
}

/// Places chapter marks on the video's timeline (ticks): a mark at or past its input's end, or not
/// after the previous one, is dropped (a source chapter the encode cut off).
fn place_marks(marks: &[Mark], starts: &[i64], end: i64, ts: u32) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::with_capacity(marks.len());
    for m in marks {
        let Some(&start) = starts.get(m.input) else {
            continue;
        };
        let next = starts.get(m.input + 1).copied().unwrap_or(end);
        let at = start + (m.offset_secs * ts as f64).round() as i64;
        if at < next && out.last().is_none_or(|p| at > p.1) {
            out.push((m.title.clone(), at));
        }
    }
    out
}

/// The whole plan. `marks` are the chapters (their titles written first in mdat), when chapters
/// are on.
pub fn plan(inputs: &[Input], slots: &[Slot], marks: Option<&[Mark]>) -> JoinPlan {
    let n = inputs.len();
    let v = video_timing(inputs);
    let vts = v.timescale as f64;
    let starts: Vec<f64> = v.starts.iter().map(|&t| t as f64 / vts).collect();
    let video_secs = v.end as f64 / vts;
    let lens: Vec<f64> = (0..n)
        .map(|k| starts.get(k + 1).copied().unwrap_or(video_secs) - starts[k])
        .collect();
    let silence = silences(inputs, slots);
    let frames: Vec<Vec<u64>> = slots
        .iter()
        .zip(&silence)
        .map(|(s, sil)| match sil {
            Some((_, fl)) => {
                let rate = template(inputs, s).entry.sample_rate as f64;
                lens.iter()
                    .map(|l| (l * rate / *fl as f64).ceil().max(1.0) as u64)
                    .collect()
            }
            None => vec![0; n],
        })
        .collect();
    let placed = marks.map(|m| place_marks(m, &v.starts, v.end, v.timescale));
    let (prefix, chapter_sizes) = placed
        .as_ref()
        .map(|p| {
            let (b, s) = text_samples(&p.iter().map(|m| m.0.clone()).collect::<Vec<_>>());
            (b, Some(s))
        })
        .unwrap_or_default();
    let layout = lay_out(inputs, slots, &silence, &frames, prefix);

    let mut vtabs = v.tables;
    for (t, &d) in vtabs.iter_mut().zip(&layout.deltas) {
        t.shift_chunks(d);
    }
    let video = TrackPlan {
        table: concat(vtabs),
        timescale: v.timescale,
        empty_secs: 0.0,
        media_time: v.shift0,
        edit_secs: video_secs,
        sgpd: v.sgpd,
    };
    let tracks: Vec<OutTrack> = (0..slots.len())
        .map(|s| {
            let t = Timeline {
                starts: &starts,
                lens: &lens,
            };
            plan_slot(inputs, &slots[s], &silence[s], &frames[s], &t, &layout, s)
        })
        .collect();
    let duration_secs = tracks
        .iter()
        .map(|t| t.plan.empty_secs + t.plan.edit_secs)
        .fold(video_secs, f64::max);
    let max_av_offset_ms = tracks
        .iter()
        .filter(|t| t.slot.kind == TrackKind::Audio)
        .map(|t| t.max_offset_ms)
        .fold(0.0, f64::max);
    JoinPlan {
        chapter_track: chapter_sizes.map(|sizes| {
            let at: Vec<i64> = placed.iter().flatten().map(|m| m.1).collect();
            chapter_plan(sizes, &at, v.end, v.timescale)
        }),
        chapter_marks: placed
            .unwrap_or_default()
            .into_iter()
            .map(|(t, at)| (t, at as f64 / vts))
            .collect(),
        video,
        tracks,
        starts,
        duration_secs,
        max_av_offset_ms,
        pieces: layout.pieces,
    }
}

/// The chapter track: title k lasts from its start to the next one's, in the video's timescale;
/// all titles in one chunk at the start of mdat.
fn chapter_plan(sizes: Vec<u32>, starts: &[i64], end: i64, ts: u32) -> TrackPlan {
    let durations = (0..starts.len())
        .map(|k| (starts.get(k + 1).copied().unwrap_or(end) - starts[k]).max(1) as u32)
        .collect();
    let table = SampleTable {
        durations,
        chunks: vec![Chunk {
            offset: 0,
            samples: sizes.len() as u32,
        }],
        sizes,
        ..SampleTable::default()
    };
    TrackPlan {
        edit_secs: table.total_duration() as f64 / ts as f64,
        table,
        timescale: ts,
        empty_secs: 0.0,
        media_time: 0,
        sgpd: None,
    }
}
