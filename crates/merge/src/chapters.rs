//! Chapters: one per input, starting where its video starts. Written as the Nero `chpl` box in
//! moov/udta, which ffmpeg, ffprobe, mpv and VLC read.

use crate::boxes::write::BoxWriter;
use crate::Chapter;

/// `chpl` counts chapters in one byte.
pub const MAX_CHPL: usize = 255;

pub fn build(titles: &[Option<String>], starts: &[f64], duration: f64) -> Vec<Chapter> {
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| Chapter {
            title: titles[i].clone().unwrap_or_else(|| format!("Chapter {}", i + 1)),
            start_secs: s,
            end_secs: starts.get(i + 1).copied().unwrap_or(duration),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_titles_are_numbered_from_one_and_ends_meet_starts() {
        let c = build(&[Some("Pilot".into()), None], &[0.0, 1.36], 2.8);
        assert_eq!(c[0].title, "Pilot");
        assert_eq!(c[1].title, "Chapter 2");
        assert_eq!((c[0].end_secs, c[1].end_secs), (1.36, 2.8));
    }

    #[test]
    fn chpl_layout_matches_what_ffmpeg_reads() {
        let mut w = BoxWriter::default();
        let long = "é".repeat(200);
        write_chpl(&mut w, &build(&[Some(long), None], &[0.0, 1.5], 3.0));
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
