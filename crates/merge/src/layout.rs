//! The output's metadata: ftyp and moov (mvhd, the video trak, one trak per audio and subtitle
//! track with its language and disposition, the chapter track, udta/chpl). Chunk
//! offsets depend on where mdat lands, which with fast-start depends on moov's own size; moov's
//! size does not depend on the offsets' values, only on stco vs co64, so it is built twice.

use crate::boxes::write::BoxWriter;
use crate::chapters;
use crate::input::{Input, Track};
use crate::join::{JoinPlan, OutTrack, TrackPlan};
use crate::tables::write_stbl;
use crate::tracks::{pack_language, TrackKind};
use crate::Chapter;

pub fn ftyp(video_codec: &str) -> Vec<u8> {
    let mut w = BoxWriter::default();
    w.open(b"ftyp");
    w.bytes(b"isom");
    w.u32(0x200);
    w.bytes(b"isomiso2");
    match video_codec {
        "avc1" | "avc3" => w.bytes(b"avc1"),
        "av01" => w.bytes(b"av01"),
        _ => {}
    }
    w.bytes(b"mp41");
    w.close();
    w.into_inner()
}

pub struct MoovInput<'a> {
    pub plan: &'a JoinPlan,
    pub first: &'a Input,
    pub chapters: Option<&'a [Chapter]>,
}

fn to_movie(secs: f64, ts: u32) -> u64 {
    (secs * ts as f64).round().max(0.0) as u64
}

const IDENTITY: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];

/// How one trak is written beyond its plan: its id, tkhd flags and alternate group, language, the
/// boxes it copies, and the chapter track it names.
struct TrakHead<'a> {
    id: u32,
    flags: u32,
    group: u16,
    language: u16,
    src: &'a Track,
    chap: Option<u32>,
}

pub fn build_moov(m: &MoovInput, chunk_base: u64, large: bool) -> Vec<u8> {
    let mts = m.first.movie_timescale;
    let movie_dur = to_movie(m.plan.duration_secs, mts);
    let n_tracks = 1 + m.plan.tracks.len() as u32;
    let chapter_id = m.plan.chapter_track.as_ref().map(|_| n_tracks + 1);
    let mut w = BoxWriter::default();
    w.open(b"moov");
    write_mvhd(&mut w, mts, movie_dur, chapter_id.unwrap_or(n_tracks) + 1);

    let video = TrakHead {
        id: 1,
        flags: 3, // enabled | in movie
        group: 0,
        language: m.first.video.language,
        src: &m.first.video,
        chap: chapter_id,
    };
    write_trak(&mut w, &video, &m.plan.video, mts, chunk_base, large);
    for (i, t) in m.plan.tracks.iter().enumerate() {
        write_trak(&mut w, &head(t, i as u32 + 2), &t.plan, mts, chunk_base, large);
    }
    if let (Some(id), Some(p)) = (chapter_id, &m.plan.chapter_track) {
        let src = chapter_source(&m.first.video);
        let head = TrakHead {
            id,
            flags: 2, // in movie, not enabled: players list it as chapters, not as a track to show
            group: 0,
            language: pack_language("und").unwrap_or(0),
            src: &src,
            chap: None,
        };
        write_trak(&mut w, &head, p, mts, chunk_base, large);
    }
    if let Some(ch) = m.chapters {
        w.open(b"udta");
        chapters::write_chpl(&mut w, ch);
        w.close();
    }
    w.close();
    w.into_inner()
}

fn write_mvhd(w: &mut BoxWriter, mts: u32, movie_dur: u64, next_id: u32) {
    let v1 = movie_dur > u32::MAX as u64;
    w.open_full(b"mvhd", v1 as u8, 0);
    if v1 {
        w.u64(0);
        w.u64(0);
        w.u32(mts);
        w.u64(movie_dur);
    } else {
        w.u32(0);
        w.u32(0);
        w.u32(mts);
        w.u32(movie_dur as u32);
    }
    w.u32(0x10000); // rate 1.0
    w.u16(0x100); // volume 1.0
    w.bytes(&[0; 10]);
    IDENTITY.iter().for_each(|&x| w.u32(x));
    w.bytes(&[0; 24]);
    w.u32(next_id);
    w.close();
}

/// Audio tracks share alternate group 1 and subtitle tracks group 2, so a player shows one of
/// each at a time; the default one is the enabled one (what ffmpeg reads as disposition default).
fn head(t: &OutTrack, id: u32) -> TrakHead<'_> {
    TrakHead {
        id,
        flags: if t.slot.default { 3 } else { 2 },
        group: match t.slot.kind {
            TrackKind::Audio => 1,
            TrackKind::Subtitle => 2,
        },
        language: pack_language(&t.slot.language).unwrap_or(t.template.language),
        src: &t.template,
        chap: None,
    }
}

/// The boxes a chapter track copies: a QuickTime text handler, gmhd, the text sample entry, and a
/// tkhd with no size or volume.
fn chapter_source(video: &Track) -> Track {
    let mut hdlr = BoxWriter::default();
    hdlr.open_full(b"hdlr", 0, 0);
    hdlr.u32(0);
    hdlr.bytes(b"text");
    hdlr.bytes(&[0; 12]);
    hdlr.bytes(b"Chapters\0");
    hdlr.close();
    let mut tail = video.tkhd_tail[..60].to_vec();
    tail[8..16].fill(0); // layer, alternate group, volume, reserved
    tail[52..60].fill(0); // width, height
    Track {
        stsd: chapters::text_stsd(),
        hdlr: hdlr.into_inner(),
        media_header: chapters::text_gmhd(),
        sgpd: None,
        udta: None,
        tkhd_tail: tail,
        ..video.clone()
    }
}

/// The edit list: an optional empty edit (a delayed track), then the media from `media_time`.
fn write_edts(w: &mut BoxWriter, empty: u64, edit: u64, media_time: i64) {
    w.open(b"edts");
    let v1 = edit > u32::MAX as u64 || empty > u32::MAX as u64 || media_time > i32::MAX as i64;
    w.open_full(b"elst", v1 as u8, 0);
    let entries: Vec<(u64, i64)> = if empty > 0 {
        vec![(empty, -1), (edit, media_time)]
    } else {
        vec![(edit, media_time)]
    };
    w.u32(entries.len() as u32);
    for (d, t) in entries {
        if v1 {
            w.u64(d);
            w.i64(t);
        } else {
            w.u32(d as u32);
            w.i32(t as i32);
        }
        w.u32(0x10000);
    }
    w.close();
    w.close();
}

fn write_trak(w: &mut BoxWriter, h: &TrakHead, p: &TrackPlan, mts: u32, chunk_base: u64, large: bool) {
    let src = h.src;
    let id = h.id;
    let empty = to_movie(p.empty_secs, mts);
    let edit = to_movie(p.edit_secs, mts);
    let track_dur = empty + edit;
    let media_dur = p.table.total_duration();
    w.open(b"trak");

    let v1 = track_dur > u32::MAX as u64;
    w.open_full(b"tkhd", v1 as u8, h.flags);
    if v1 {
        w.u64(0);
        w.u64(0);
        w.u32(id);
        w.u32(0);
        w.u64(track_dur);
    } else {
        w.u32(0);
        w.u32(0);
        w.u32(id);
        w.u32(0);
        w.u32(track_dur as u32);
    }
    // Layer, volume, matrix (rotation) and display size as the first input had them.
    w.bytes(&src.tkhd_tail[..10]);
    w.u16(h.group);
    w.bytes(&src.tkhd_tail[12..60]);
    w.close();
    if let Some(chap) = h.chap {
        w.open(b"tref");
        w.open(b"chap");
        w.u32(chap);
        w.close();
        w.close();
    }

    write_edts(w, empty, edit, p.media_time);

    w.open(b"mdia");
    let v1 = media_dur > u32::MAX as u64;
    w.open_full(b"mdhd", v1 as u8, 0);
    if v1 {
        w.u64(0);
        w.u64(0);
        w.u32(p.timescale);
        w.u64(media_dur);
    } else {
        w.u32(0);
        w.u32(0);
        w.u32(p.timescale);
        w.u32(media_dur as u32);
    }
    w.u16(h.language);
    w.u16(0);
    w.close();
    w.bytes(&src.hdlr);
    w.open(b"minf");
    if src.media_header.is_empty() {
        if &src.hdlr[16..20] == b"vide" {
            w.open_full(b"vmhd", 0, 1);
            w.bytes(&[0; 8]);
        } else {
            w.open_full(b"smhd", 0, 0);
            w.u32(0);
        }
        w.close();
    } else {
        w.bytes(&src.media_header);
    }
    // Data is always in this file: a fresh self-reference, whatever the input's dref said.
    w.open(b"dinf");
    w.open_full(b"dref", 0, 0);
    w.u32(1);
    w.open_full(b"url ", 0, 1);
    w.close();
    w.close();
    w.close();
    write_stbl(w, &p.table, &src.stsd, p.sgpd.as_deref(), chunk_base, large);
    w.close();
    w.close();
    if let Some(udta) = &src.udta {
        w.bytes(udta);
    }
    w.close();
}
