//! The output's metadata: ftyp and moov (mvhd, one trak per joined track, udta/chpl). Chunk
//! offsets depend on where mdat lands, which with fast-start depends on moov's own size; moov's
//! size does not depend on the offsets' values, only on stco vs co64, so it is built twice.

use crate::boxes::write::BoxWriter;
use crate::chapters;
use crate::input::{Input, Track};
use crate::join::{JoinPlan, TrackPlan};
use crate::tables::write_stbl;
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

pub fn build_moov(m: &MoovInput, chunk_base: u64, large: bool) -> Vec<u8> {
    let mts = m.first.movie_timescale;
    let movie_dur = to_movie(m.plan.duration_secs, mts);
    let mut w = BoxWriter::default();
    w.open(b"moov");

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
    w.u32(if m.plan.audio.is_some() { 3 } else { 2 });
    w.close();

    write_trak(&mut w, 1, &m.plan.video, &m.first.video, mts, chunk_base, large);
    if let (Some(p), Some(t)) = (&m.plan.audio, &m.first.audio) {
        write_trak(&mut w, 2, p, t, mts, chunk_base, large);
    }
    if let Some(ch) = m.chapters {
        w.open(b"udta");
        chapters::write_chpl(&mut w, ch);
        w.close();
    }
    w.close();
    w.into_inner()
}

fn write_trak(
    w: &mut BoxWriter,
    id: u32,
    p: &TrackPlan,
    src: &Track,
    mts: u32,
    chunk_base: u64,
    large: bool,
) {
    let empty = to_movie(p.empty_secs, mts);
    let edit = to_movie(p.edit_secs, mts);
    let track_dur = empty + edit;
    let media_dur = p.table.total_duration();
    w.open(b"trak");

    let v1 = track_dur > u32::MAX as u64;
    w.open_full(b"tkhd", v1 as u8, 3); // enabled | in movie
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
    w.bytes(&src.tkhd_tail[..60]);
    w.close();

    w.open(b"edts");
    let v1 = edit > u32::MAX as u64 || empty > u32::MAX as u64 || p.media_time > i32::MAX as i64;
    w.open_full(b"elst", v1 as u8, 0);
    let entries: Vec<(u64, i64)> = if empty > 0 {
        vec![(empty, -1), (edit, p.media_time)]
    } else {
        vec![(edit, p.media_time)]
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
    w.u16(src.language);
    w.u16(0);
    w.close();
    w.bytes(&src.hdlr);
    w.open(b"minf");
    if src.media_header.is_empty() {
        if id == 1 {
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
    w.close();
}
