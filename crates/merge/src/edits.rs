//! Edit lists as ffmpeg writes them: optional leading empty edits (a delayed track) then one
//! normal edit whose media_time skips the B-frame composition shift or the AAC priming.

use crate::boxes::read::{Cursor, ParseResult};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Edit {
    /// Leading empty time, in the movie timescale.
    pub empty: u64,
    /// First presented media time, in the media timescale.
    pub media_time: i64,
    /// Presented duration in the movie timescale; `None` means "to the end of the media".
    pub duration: Option<u64>,
}

pub fn parse_elst(elst: &[u8]) -> ParseResult<Edit> {
    let mut c = Cursor::new(elst, "elst");
    let (v, _) = c.full()?;
    let n = c.u32()? as u64;
    c.expect_table(n, if v == 1 { 20 } else { 12 })?;
    let mut edit = Edit::default();
    let mut normal = 0;
    for _ in 0..n {
        let (dur, time) = if v == 1 {
            (c.u64()?, c.u64()? as i64)
        } else {
            (c.u32()? as u64, c.u32()? as i32 as i64)
        };
        let rate = c.u32()?;
        if time == -1 {
            if normal > 0 {
                return Err("UNSUPPORTED:edit list with a gap after media".into());
            }
            edit.empty += dur;
            continue;
        }
        normal += 1;
        if normal > 1 {
            return Err("UNSUPPORTED:edit list with more than one media edit".into());
        }
        if rate != 0x0001_0000 {
            return Err("UNSUPPORTED:edit list with a playback rate other than 1".into());
        }
        edit.media_time = time;
        edit.duration = (dur > 0).then_some(dur);
    }
    Ok(edit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boxes::write::BoxWriter;

    #[test]
    fn reads_ffmpeg_style_edits_in_both_versions() {
        for v in [0u8, 1] {
            let mut w = BoxWriter::default();
            w.open_full(b"elst", v, 0);
            w.u32(2);
            for (d, t) in [(40i64, -1i64), (1360, 1024)] {
                if v == 1 {
                    w.u64(d as u64);
                    w.i64(t);
                } else {
                    w.u32(d as u32);
                    w.i32(t as i32);
                }
                w.u32(0x10000);
            }
            w.close();
            let e = parse_elst(&w.buf[8..]).unwrap();
            assert_eq!(
                e,
                Edit {
                    empty: 40,
                    media_time: 1024,
                    duration: Some(1360)
                }
            );
        }
    }
}
