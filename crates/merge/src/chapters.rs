//! Chapters: one per input, starting where its video starts, and/or the inputs' own (source)
//! chapters placed inside their input's span (`ChapterMarks`). Written twice: as a QuickTime chapter
//! track (a text track the video track names in `tref/chap`), which has no count limit and which
//! ffmpeg, browsers (Safari), QuickTime, mpv and VLC read; and as the Nero `chpl` box in moov/udta
//! for older readers, which holds the first 255 (its count is one byte). The report's chapters
//! are read back from the written file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use reel_core::{ErrorCode, ReelError, Result};

use crate::boxes::read::{children, find, require, top_level, Cursor, ParseResult};
use crate::boxes::write::BoxWriter;
use crate::tables::parse_stbl;
use crate::Chapter;

/// `chpl` counts chapters in one byte.
pub const MAX_CHPL: usize = 255;

/// Each input's chapter title: its own, else "Chapter N" (1-based).
pub fn titles(titles: &[Option<String>]) -> Vec<String> {
    titles
        .iter()
        .enumerate()
        .map(|(i, t)| t.clone().unwrap_or_else(|| format!("Chapter {}", i + 1)))
        .collect()
}

/// Which chapters the merged file gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChapterMarks {
    /// One per input, titled with the input's title.
    #[default]
    Episodes,
    /// The inputs' own chapters; an input without any gets one chapter with its title (as does
    /// the part of an input before its first own chapter).
    Source,
    /// One per input, then its own chapters titled "<input title> — <chapter title>".
    Both,
}

/// One of an input's own chapters (from its source), relative to the input's first frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceChapter {
    pub title: String,
    pub start_secs: f64,
}

/// A chapter before timing: which input it belongs to and where it starts inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub input: usize,
    pub offset_secs: f64,
    pub title: String,
}

/// Own chapters closer than this to the input's start count as starting with it.
const AT_START_SECS: f64 = 0.001;

/// The chapter marks of every input, in order; `source[k]` is input k's own chapters (missing or
/// empty: none). Own chapters before the input's start are dropped.
pub fn marks(titles: &[Option<String>], mode: ChapterMarks, source: &[Vec<SourceChapter>]) -> Vec<Mark> {
    let names = self::titles(titles);
    let mut out = Vec::new();
    for (k, name) in names.into_iter().enumerate() {
        let mut own: Vec<&SourceChapter> = match mode {
            ChapterMarks::Episodes => Vec::new(),
            _ => source
                .get(k)
                .map(|v| v.iter().filter(|c| c.start_secs >= 0.0).collect())
                .unwrap_or_default(),
        };
        own.sort_by(|a, b| a.start_secs.total_cmp(&b.start_secs));
        let own_at_start = own.first().is_some_and(|c| c.start_secs < AT_START_SECS);
        if !own_at_start {
            out.push(Mark {
                input: k,
                offset_secs: 0.0,
                title: name.clone(),
            });
        }
        for (i, c) in own.iter().enumerate() {
            let own_title = if c.title.trim().is_empty() {
                format!("Part {}", i + 1)
            } else {
                c.title.clone()
            };
            out.push(Mark {
                input: k,
                offset_secs: if c.start_secs < AT_START_SECS {
                    0.0
                } else {
                    c.start_secs
                },
                title: match mode {
                    ChapterMarks::Both => format!("{name} — {own_title}"),
                    _ => own_title,
                },
            });
        }
    }
    out
}

/// The chapters from timed marks (title, start seconds), each ending where the next starts.
pub fn build(timed: &[(String, f64)], duration: f64) -> Vec<Chapter> {
    timed
        .iter()
        .enumerate()
        .map(|(i, (title, s))| Chapter {
            title: title.clone(),
            start_secs: *s,
            end_secs: timed.get(i + 1).map(|t| t.1).unwrap_or(duration),
        })
        .collect()
}

/// A title cut to at most 255 bytes without splitting a UTF-8 character.
fn clip(title: &str) -> &str {
    let mut end = title.len().min(255);
    while !title.is_char_boundary(end) {
        end -= 1;
    }
    &title[..end]
}

/// The chpl box: version 1, a reserved word, a count byte, then per chapter a start in 100 ns
/// units and a length-prefixed UTF-8 title.
pub fn write_chpl(w: &mut BoxWriter, chapters: &[Chapter]) {
    w.open_full(b"chpl", 1, 0);
    w.u32(0);
    let list = &chapters[..chapters.len().min(MAX_CHPL)];
    w.u8(list.len() as u8);
    for c in list {
        w.u64((c.start_secs * 10_000_000.0).round() as u64);
        let t = clip(&c.title);
        w.u8(t.len() as u8);
        w.bytes(t.as_bytes());
    }
    w.close();
}

/// The `encd` atom QuickTime puts after a chapter title to say it is UTF-8.
const ENCD_UTF8: [u8; 12] = [0, 0, 0, 12, b'e', b'n', b'c', b'd', 0, 0, 1, 0];

/// Chapter title samples (a 16-bit length, the UTF-8 title, `encd`), concatenated, and each size.
pub fn text_samples(titles: &[String]) -> (Vec<u8>, Vec<u32>) {
    let mut bytes = Vec::new();
    let mut sizes = Vec::with_capacity(titles.len());
    for title in titles {
        let t = clip(title);
        let start = bytes.len();
        bytes.extend_from_slice(&(t.len() as u16).to_be_bytes());
        bytes.extend_from_slice(t.as_bytes());
        bytes.extend_from_slice(&ENCD_UTF8);
        sizes.push((bytes.len() - start) as u32);
    }
    (bytes, sizes)
}

/// The QuickTime `text` sample entry of a chapter track, as ffmpeg writes it (display flags, a
/// default text box and style, a one-font table).
pub fn text_stsd() -> Vec<u8> {
    const ENTRY: [u8; 51] = [
        0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0x0d, b'f', b't', b'a', b'b', 0, 1, 0, 1, 0,
    ];
    let mut w = BoxWriter::default();
    w.open_full(b"stsd", 0, 0);
    w.u32(1);
    w.open(b"text");
    w.bytes(&ENTRY);
    w.close();
    w.close();
    w.into_inner()
}

/// The base media header a QuickTime text track carries (gmhd with gmin and text).
pub fn text_gmhd() -> Vec<u8> {
    let mut w = BoxWriter::default();
    w.open(b"gmhd");
    w.open_full(b"gmin", 0, 0);
    w.bytes(&[0, 0x40, 0x80, 0, 0x80, 0, 0x80, 0, 0, 0, 0, 0]);
    w.close();
    w.open(b"text");
    let mut m = [0u8; 36];
    m[1] = 1; // identity matrix: 1.0, 0, 0 / 0, 1.0, 0 / 0, 0, 1.0 (16.16 and 2.30 fixed point)
    m[17] = 1;
    m[32] = 0x40;
    w.bytes(&m);
    w.close();
    w.close();
    w.into_inner()
}

fn trak_id(trak: &[u8]) -> ParseResult<u32> {
    let tkhd = require(trak, b"tkhd", "trak")?;
    let mut c = Cursor::new(tkhd.payload, "tkhd");
    let (v, _) = c.full()?;
    c.skip(if v == 1 { 16 } else { 8 })?;
    c.u32()
}

/// The chapter track's id (from any track's tref/chap) and the trak itself.
fn chapter_trak(moov: &[u8]) -> ParseResult<Option<Vec<u8>>> {
    let traks: Vec<_> = children(moov)?
        .into_iter()
        .filter(|k| &k.kind == b"trak")
        .collect();
    let mut id = None;
    for t in &traks {
        if let Some(chap) = find(t.payload, b"tref")?
            .map(|r| find(r.payload, b"chap"))
            .transpose()?
            .flatten()
        {
            id = Some(Cursor::new(chap.payload, "chap").u32()?);
        }
    }
    for t in &traks {
        if Some(trak_id(t.payload)?) == id {
            return Ok(Some(t.payload.to_vec()));
        }
    }
    Ok(None)
}

/// The chapters as a reader finds them in `path`'s chapter track: titles and start/end seconds.
/// Empty when the file has no chapter track.
pub fn read_back(path: &Path) -> Result<Vec<Chapter>> {
    let bad = |m: String| ReelError::new(ErrorCode::Io, format!("reading back {}: {m}", path.display()));
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let top = top_level(&mut f, len).map_err(bad)?;
    let moov = top
        .iter()
        .find(|h| &h.kind == b"moov")
        .ok_or_else(|| bad("no moov".into()))?;
    let mut buf = vec![0u8; (moov.size - moov.header_len) as usize];
    f.seek(SeekFrom::Start(moov.payload_offset()))?;
    f.read_exact(&mut buf)?;
    let Some(trak) = chapter_trak(&buf).map_err(bad)? else {
        return Ok(Vec::new());
    };
    let mdia = require(&trak, b"mdia", "trak").map_err(bad)?;
    let mut c = Cursor::new(
        require(mdia.payload, b"mdhd", "mdia").map_err(bad)?.payload,
        "mdhd",
    );
    let (v, _) = c.full().map_err(bad)?;
    c.skip(if v == 1 { 16 } else { 8 }).map_err(bad)?;
    let ts = c.u32().map_err(bad)?.max(1) as f64;
    let minf = require(mdia.payload, b"minf", "mdia").map_err(bad)?;
    let table = parse_stbl(require(minf.payload, b"stbl", "minf").map_err(bad)?.payload).map_err(bad)?;
    read_titles(&mut f, &table, ts)
}

/// Walks the chapter track's samples chunk by chunk: each is a 16-bit length and a title.
fn read_titles(f: &mut File, table: &crate::tables::SampleTable, ts: f64) -> Result<Vec<Chapter>> {
    let mut out = Vec::with_capacity(table.len());
    let (mut t, mut s) = (0u64, 0usize);
    for ch in &table.chunks {
        let mut pos = ch.offset;
        for _ in 0..ch.samples {
            let mut b = vec![0u8; table.sizes[s] as usize];
            f.seek(SeekFrom::Start(pos))?;
            f.read_exact(&mut b)?;
            let tl = if b.len() >= 2 {
                u16::from_be_bytes([b[0], b[1]]) as usize
            } else {
                0
            };
            let title = String::from_utf8_lossy(b.get(2..2 + tl).unwrap_or(&[])).into_owned();
            let d = table.durations[s] as u64;
            out.push(Chapter {
                title,
                start_secs: t as f64 / ts,
                end_secs: (t + d) as f64 / ts,
            });
            t += d;
            pos += b.len() as u64;
            s += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_titles_are_numbered_from_one_and_ends_meet_starts() {
        let names = titles(&[Some("Pilot".into()), None]);
        let c = build(&[(names[0].clone(), 0.0), (names[1].clone(), 1.36)], 2.8);
        assert_eq!(c[0].title, "Pilot");
        assert_eq!(c[1].title, "Chapter 2");
        assert_eq!((c[0].end_secs, c[1].end_secs), (1.36, 2.8));
    }

    #[test]
    fn source_chapters_nest_inside_their_input() {
        let own = vec![
            vec![
                SourceChapter {
                    title: "Intro".into(),
                    start_secs: 0.0,
                },
                SourceChapter {
                    title: "".into(),
                    start_secs: 1.0,
                },
            ],
            vec![],
            vec![SourceChapter {
                title: "Late".into(),
                start_secs: 0.5,
            }],
        ];
        let t = [Some("A".into()), Some("B".into()), Some("C".into())];
        let got = |mode| -> Vec<(usize, f64, String)> {
            marks(&t, mode, &own)
                .into_iter()
                .map(|m| (m.input, m.offset_secs, m.title))
                .collect()
        };
        assert_eq!(got(ChapterMarks::Episodes).len(), 3);
        let src = got(ChapterMarks::Source);
        let want = [
            (0, 0.0, "Intro"),
            (0, 1.0, "Part 2"),
            (1, 0.0, "B"),
            (2, 0.0, "C"),
            (2, 0.5, "Late"),
        ];
        assert_eq!(src, want.map(|w| (w.0, w.1, w.2.to_string())));
        let both = got(ChapterMarks::Both);
        let want = [
            (0, 0.0, "A — Intro"),
            (0, 1.0, "A — Part 2"),
            (1, 0.0, "B"),
            (2, 0.0, "C"),
            (2, 0.5, "C — Late"),
        ];
        assert_eq!(both, want.map(|w| (w.0, w.1, w.2.to_string())));
    }

    #[test]
    fn chapter_samples_are_length_prefixed_utf8_with_encd() {
        let (bytes, sizes) = text_samples(&["Pilot".into(), "é".into()]);
        assert_eq!(sizes, vec![2 + 5 + 12, 2 + 2 + 12]);
        assert_eq!(&bytes[..7], b"\x00\x05Pilot");
        assert_eq!(&bytes[11..15], b"encd");
        assert_eq!(&bytes[19..21], &[0, 2]);
    }

    #[test]
    fn chpl_layout_matches_what_ffmpeg_reads() {
        let mut w = BoxWriter::default();
        let long = "é".repeat(200);
        write_chpl(&mut w, &build(&[(long, 0.0), ("Chapter 2".into(), 1.5)], 3.0));
        let b = w.into_inner();
        assert_eq!(&b[4..8], b"chpl");
        assert_eq!(b[8], 1);
        assert_eq!(b[16], 2);
        assert_eq!(u64::from_be_bytes(b[17..25].try_into().unwrap()), 0);
        let len = b[25] as usize;
        assert_eq!(len, 254); // 127 two-byte characters: 255 would split one
        let next = 26 + len;
        assert_eq!(
            u64::from_be_bytes(b[next..next + 8].try_into().unwrap()),
            15_000_000
        );
    }
}
