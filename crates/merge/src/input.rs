//! Opens one input: finds its moov, refuses what the merge cannot join (fragments, tracks it does
//! not know, sample data past the end of the file) and reads each track's tables and codec
//! configuration: one video track, any number of audio and mov_text (tx3g) subtitle tracks.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use reel_core::{ErrorCode, ReelError, Result};

use crate::boxes::read::{children, find, kind_str, require, top_level, BoxRef, Cursor, ParseResult};
use crate::edits::{parse_elst, Edit};
use crate::tables::{parse_stbl, SampleTable};

/// A moov bigger than this is not a table of a real video (hours of 4K are a few tens of MiB).
const MAX_MOOV: u64 = 512 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct SampleEntry {
    pub codec: String,
    pub width: u16,
    pub height: u16,
    pub channels: u16,
    pub sample_rate: u32,
    /// The bytes that must match for streams to join: avcC/hvcC/av1C, dOps, or the esds
    /// object type and DecoderSpecificInfo (not its bitrate fields, which vary per file).
    pub config: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Track {
    pub timescale: u32,
    pub table: SampleTable,
    pub entry: SampleEntry,
    /// Whole boxes copied into the output from the first input.
    pub stsd: Vec<u8>,
    pub hdlr: Vec<u8>,
    pub media_header: Vec<u8>,
    pub sgpd: Option<Vec<u8>>,
    pub language: u16,
    /// tkhd flags: bit 0 "enabled" is what players and ffmpeg read as the default track.
    pub flags: u32,
    /// The track's udta, copied whole (ffmpeg keeps dispositions such as commentary in `kind`).
    pub udta: Option<Vec<u8>>,
    /// tkhd from the reserved field after the duration to the end (layer, volume, matrix, size).
    pub tkhd_tail: Vec<u8>,
    pub edit: Edit,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub index: usize,
    pub path: PathBuf,
    pub movie_timescale: u32,
    pub video: Track,
    pub audio: Vec<Track>,
    pub subtitles: Vec<Track>,
}

impl Input {
    /// Byte range [lo, hi) that holds every chunk of the kept tracks: copied as one piece.
    pub fn data_span(&self) -> (u64, u64) {
        let mut lo = u64::MAX;
        let mut hi = 0;
        for t in std::iter::once(&self.video)
            .chain(&self.audio)
            .chain(&self.subtitles)
        {
            for (off, len) in t.table.chunk_spans() {
                lo = lo.min(off);
                hi = hi.max(off + len);
            }
        }
        if lo > hi {
            (0, 0)
        } else {
            (lo, hi)
        }
    }
}

fn err(code: ErrorCode, index: usize, path: &Path, msg: impl std::fmt::Display) -> ReelError {
    ReelError::new(code, format!("input {index} ({}): {msg}", path.display()))
}

pub fn open(index: usize, path: &Path) -> Result<Input> {
    let invalid = |m: String| err(ErrorCode::MergeInvalidInput, index, path, m);
    let mut file = File::open(path).map_err(|e| invalid(format!("cannot open: {e}")))?;
    let file_len = file.metadata().map_err(|e| invalid(e.to_string()))?.len();
    if file_len == 0 {
        return Err(invalid("the file is empty".into()));
    }
    let top = top_level(&mut file, file_len).map_err(&invalid)?;
    if top.iter().any(|h| &h.kind == b"moof") {
        return Err(err(
            ErrorCode::MergeUnsupported,
            index,
            path,
            "fragmented MP4 (moof boxes); remux it progressive first",
        ));
    }
    let moov = top.iter().find(|h| &h.kind == b"moov").ok_or_else(|| {
        invalid(format!(
            "no moov box (top-level boxes: {}); the file is not an MP4 or was cut short",
            top.iter()
                .map(|h| kind_str(&h.kind))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if moov.size > MAX_MOOV {
        return Err(invalid(format!(
            "moov of {} bytes is implausibly large",
            moov.size
        )));
    }
    let mut buf = vec![0u8; (moov.size - moov.header_len) as usize];
    file.seek(SeekFrom::Start(moov.payload_offset()))?;
    file.read_exact(&mut buf)?;

    let parsed = parse_moov(&buf).map_err(|m| match m.strip_prefix("UNSUPPORTED:") {
        Some(m) => err(ErrorCode::MergeUnsupported, index, path, m),
        None => invalid(m),
    })?;
    let input = Input {
        index,
        path: path.to_path_buf(),
        movie_timescale: parsed.0,
        video: parsed.1,
        audio: parsed.2,
        subtitles: parsed.3,
    };
    let (_, hi) = input.data_span();
    if hi > file_len {
        return Err(invalid(format!(
            "truncated: sample data runs to byte {hi}, the file has {file_len}"
        )));
    }
    Ok(input)
}

type Tracks = (u32, Track, Vec<Track>, Vec<Track>);

fn parse_moov(moov: &[u8]) -> ParseResult<Tracks> {
    let kids = children(moov)?;
    if kids.iter().any(|k| &k.kind == b"mvex") {
        return Err("UNSUPPORTED:fragmented MP4 (mvex in moov); remux it progressive first".into());
    }
    let mvhd = kids
        .iter()
        .find(|k| &k.kind == b"mvhd")
        .ok_or("moov has no mvhd")?;
    let mut c = Cursor::new(mvhd.payload, "mvhd");
    let (v, _) = c.full()?;
    c.skip(if v == 1 { 16 } else { 8 })?;
    let movie_timescale = c.u32()?;
    if movie_timescale == 0 {
        return Err("mvhd timescale is 0".into());
    }

    let traks: Vec<BoxRef> = kids.iter().filter(|k| &k.kind == b"trak").copied().collect();
    // QuickTime chapter text tracks (named by some tref/chap) are dropped: we write our own.
    let mut chapter_ids = Vec::new();
    for t in &traks {
        if let Some(tref) = find(t.payload, b"tref")? {
            if let Some(chap) = find(tref.payload, b"chap")? {
                let mut c = Cursor::new(chap.payload, "chap");
                while c.rest().len() >= 4 {
                    chapter_ids.push(c.u32()?);
                }
            }
        }
    }
    let (mut video, mut audio, mut subtitles) = (None, Vec::new(), Vec::new());
    for t in traks {
        let Some((handler, track)) = parse_trak(t.payload, &chapter_ids)? else {
            continue;
        };
        match &handler {
            b"vide" if video.is_some() => return Err("UNSUPPORTED:more than one 'vide' track".into()),
            b"vide" => video = Some(track),
            b"soun" => audio.push(track),
            _ => subtitles.push(track),
        }
    }
    let video = video.ok_or("UNSUPPORTED:no video track")?;
    Ok((movie_timescale, video, audio, subtitles))
}

/// One trak: its handler and track, or `None` for a chapter track (we write our own) or a subtitle
/// track without samples.
fn parse_trak(trak: &[u8], chapter_ids: &[u32]) -> ParseResult<Option<([u8; 4], Track)>> {
    let tkhd = require(trak, b"tkhd", "trak")?;
    let mut c = Cursor::new(tkhd.payload, "tkhd");
    let (v, flags) = c.full()?;
    c.skip(if v == 1 { 16 } else { 8 })?;
    let id = c.u32()?;
    c.skip(if v == 1 { 12 } else { 8 })?;
    let tkhd_tail = c.rest().to_vec();
    if tkhd_tail.len() < 60 {
        return Err("tkhd is cut short".into());
    }
    let mdia = require(trak, b"mdia", "trak")?;
    let hdlr = require(mdia.payload, b"hdlr", "mdia")?;
    let handler: [u8; 4] = hdlr
        .payload
        .get(8..12)
        .ok_or("hdlr is cut short")?
        .try_into()
        .unwrap();
    if chapter_ids.contains(&id) && &handler != b"vide" && &handler != b"soun" {
        return Ok(None);
    }
    if !matches!(&handler, b"vide" | b"soun" | b"sbtl" | b"text" | b"subt") {
        return Err(format!(
            "UNSUPPORTED:extra '{}' track (video, audio and mov_text subtitle tracks are merged)",
            kind_str(&handler)
        ));
    }
    let edit = match find(trak, b"edts")?
        .map(|e| find(e.payload, b"elst"))
        .transpose()?
        .flatten()
    {
        Some(elst) => parse_elst(elst.payload)?,
        None => Edit::default(),
    };
    let mut track = parse_track(mdia.payload, hdlr.raw, tkhd_tail, edit, &handler)?;
    if track.table.is_empty() {
        return Ok(None); // an empty subtitle track: the merge fills it like a missing one
    }
    track.flags = flags;
    track.udta = find(trak, b"udta")?.map(|u| u.raw.to_vec());
    Ok(Some((handler, track)))
}

fn parse_track(
    mdia: &[u8],
    hdlr: &[u8],
    tkhd_tail: Vec<u8>,
    edit: Edit,
    handler: &[u8; 4],
) -> ParseResult<Track> {
    let mdhd = require(mdia, b"mdhd", "mdia")?;
    let mut c = Cursor::new(mdhd.payload, "mdhd");
    let (v, _) = c.full()?;
    c.skip(if v == 1 { 16 } else { 8 })?;
    let timescale = c.u32()?;
    c.skip(if v == 1 { 8 } else { 4 })?;
    let language = c.u16()?;
    if timescale == 0 {
        return Err("mdhd timescale is 0".into());
    }
    let minf = require(mdia, b"minf", "mdia")?;
    let media_header = children(minf.payload)?
        .into_iter()
        .find(|b| matches!(&b.kind, b"vmhd" | b"smhd" | b"nmhd" | b"gmhd" | b"sthd"))
        .map(|b| b.raw.to_vec())
        .unwrap_or_default();
    let stbl = require(minf.payload, b"stbl", "minf")?;
    let stsd = require(stbl.payload, b"stsd", "stbl")?;
    let entry = parse_stsd(stsd.payload, handler)?;
    let table = parse_stbl(stbl.payload)?;
    // A subtitle track without a cue is kept empty (the caller drops it); no picture or sound is not.
    if table.is_empty() && (handler == b"vide" || handler == b"soun") {
        return Err("a track has no samples".into());
    }
    let sgpd = find(stbl.payload, b"sgpd")?
        .map(|b| b.raw.to_vec())
        .filter(|_| table.groups.is_some());
    Ok(Track {
        timescale,
        table,
        entry,
        stsd: stsd.raw.to_vec(),
        hdlr: hdlr.to_vec(),
        media_header,
        sgpd,
        language,
        flags: 0,
        udta: None,
        tkhd_tail,
        edit,
    })
}

fn parse_stsd(stsd: &[u8], handler: &[u8; 4]) -> ParseResult<SampleEntry> {
    let mut c = Cursor::new(stsd, "stsd");
    c.full()?;
    if c.u32()? != 1 {
        return Err("UNSUPPORTED:more than one sample description in a track".into());
    }
    let entries = children(c.rest())?;
    let e = entries.first().ok_or("stsd is empty")?;
    let codec = kind_str(&e.kind);
    let mut c = Cursor::new(e.payload, "sample entry");
    c.skip(8)?; // reserved + data_reference_index
    if handler != b"vide" && handler != b"soun" {
        return text_entry(&e.kind, c.rest());
    }
    if handler == b"vide" {
        if !matches!(&e.kind, b"avc1" | b"avc3" | b"hvc1" | b"hev1" | b"av01") {
            return Err(format!(
                "UNSUPPORTED:video codec '{codec}' (H.264, HEVC and AV1 are merged)"
            ));
        }
        c.skip(16)?;
        let width = c.u16()?;
        let height = c.u16()?;
        c.skip(50)?;
        let cfg_kind = match &e.kind {
            b"avc1" | b"avc3" => b"avcC",
            b"hvc1" | b"hev1" => b"hvcC",
            _ => b"av1C",
        };
        let config = require(c.rest(), cfg_kind, "video sample entry")?
            .payload
            .to_vec();
        Ok(SampleEntry {
            codec,
            width,
            height,
            channels: 0,
            sample_rate: 0,
            config,
        })
    } else {
        if !matches!(&e.kind, b"mp4a" | b"Opus") {
            return Err(format!(
                "UNSUPPORTED:audio codec '{codec}' (AAC and Opus are merged)"
            ));
        }
        let version = c.u16()?;
        c.skip(6)?;
        let mut channels = c.u16()?;
        c.skip(6)?;
        let mut sample_rate = c.u32()? >> 16;
        match version {
            0 => {}
            1 => c.skip(16)?,
            2 => {
                c.skip(4)?;
                sample_rate = f64::from_bits(c.u64()?) as u32;
                channels = c.u32()? as u16;
                c.skip(20)?;
            }
            v => return Err(format!("UNSUPPORTED:sound sample description version {v}")),
        }
        let config = if &e.kind == b"Opus" {
            require(c.rest(), b"dOps", "Opus sample entry")?.payload.to_vec()
        } else {
            let esds = find_deep(c.rest(), b"esds")?.ok_or("mp4a sample entry has no esds")?;
            esds_config(esds)?
        };
        Ok(SampleEntry {
            codec,
            width: 0,
            height: 0,
            channels,
            sample_rate,
            config,
        })
    }
}

/// A subtitle sample entry: only mov_text (tx3g) joins; its styling defaults are kept as bytes.
fn text_entry(kind: &[u8; 4], rest: &[u8]) -> ParseResult<SampleEntry> {
    if kind != b"tx3g" {
        return Err(format!(
            "UNSUPPORTED:subtitle codec '{}' (mov_text/tx3g is merged)",
            kind_str(kind)
        ));
    }
    Ok(SampleEntry {
        codec: "tx3g".into(),
        width: 0,
        height: 0,
        channels: 0,
        sample_rate: 0,
        config: rest.to_vec(),
    })
}

/// QuickTime files may wrap esds in a 'wave' box.
fn find_deep<'a>(buf: &'a [u8], kind: &[u8; 4]) -> ParseResult<Option<&'a [u8]>> {
    for b in children(buf)? {
        if &b.kind == kind {
            return Ok(Some(b.payload));
        }
        if &b.kind == b"wave" {
            if let Some(p) = find_deep(b.payload, kind)? {
                return Ok(Some(p));
            }
        }
    }
    Ok(None)
}

/// objectTypeIndication followed by the DecoderSpecificInfo (AudioSpecificConfig) bytes.
fn esds_config(esds: &[u8]) -> ParseResult<Vec<u8>> {
    let mut c = Cursor::new(esds, "esds");
    c.full()?;
    let mut oti = None;
    while !c.rest().is_empty() {
        let tag = c.u8()?;
        let mut len = 0usize;
        for _ in 0..4 {
            let b = c.u8()?;
            len = (len << 7) | (b & 0x7f) as usize;
            if b & 0x80 == 0 {
                break;
            }
        }
        match tag {
            0x03 => {
                c.skip(2)?;
                let flags = c.u8()?;
                if flags & 0x80 != 0 {
                    c.skip(2)?;
                }
                if flags & 0x40 != 0 {
                    let n = c.u8()? as usize;
                    c.skip(n)?;
                }
                if flags & 0x20 != 0 {
                    c.skip(2)?;
                }
            }
            0x04 => {
                oti = Some(c.u8()?);
                c.skip(12)?;
            }
            0x05 => {
                let mut out = vec![oti.unwrap_or(0)];
                out.extend_from_slice(c.bytes(len)?);
                return Ok(out);
            }
            _ => c.skip(len)?,
        }
    }
    Ok(vec![oti.unwrap_or(0)])
}
