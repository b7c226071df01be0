//! Box headers (32-bit size, 64-bit `largesize`, size 0 = "to the end") and a bounds-checked
//! big-endian cursor. Errors are plain strings: the caller knows which input they belong to.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

pub type ParseResult<T> = std::result::Result<T, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxHeader {
    pub kind: [u8; 4],
    /// Absolute offset of the first byte of the box.
    pub offset: u64,
    pub header_len: u64,
    /// Whole box, header included.
    pub size: u64,
}

impl BoxHeader {
    pub fn end(&self) -> u64 {
        self.offset + self.size
    }
    pub fn payload_offset(&self) -> u64 {
        self.offset + self.header_len
    }
}

pub fn kind_str(kind: &[u8; 4]) -> String {
    kind.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Parses the header at the start of `buf`, which lies at absolute `offset`; `limit` is the end of
/// the enclosing space, used for size 0 and to reject boxes that claim more than exists.
pub fn parse_header(buf: &[u8], offset: u64, limit: u64) -> ParseResult<BoxHeader> {
    if buf.len() < 8 {
        return Err(format!("box header at {offset} is cut short"));
    }
    let size32 = u32::from_be_bytes(buf[0..4].try_into().unwrap()) as u64;
    let kind: [u8; 4] = buf[4..8].try_into().unwrap();
    // A real box type is four printable characters (©xyz boxes only live inside udta/ilst).
    if !kind
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == 0xa9)
    {
        return Err(format!(
            "no MP4 box at offset {offset} (type bytes {:02x?})",
            kind
        ));
    }
    let (header_len, size) = match size32 {
        0 => (8, limit.saturating_sub(offset)),
        1 => {
            if buf.len() < 16 {
                return Err(format!("64-bit box header at {offset} is cut short"));
            }
            (16, u64::from_be_bytes(buf[8..16].try_into().unwrap()))
        }
        s => (8, s),
    };
    if size < header_len {
        return Err(format!(
            "box '{}' at {offset} has impossible size {size}",
            kind_str(&kind)
        ));
    }
    Ok(BoxHeader {
        kind,
        offset,
        header_len,
        size,
    })
}

/// Reads the top-level box headers of a file without reading payloads. A box that runs past the
/// end of the file is reported as truncation (the usual shape of an interrupted upload).
pub fn top_level(file: &mut File, file_len: u64) -> ParseResult<Vec<BoxHeader>> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < file_len {
        let mut buf = [0u8; 16];
        let want = (file_len - pos).min(16) as usize;
        file.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
        file.read_exact(&mut buf[..want]).map_err(|e| e.to_string())?;
        let h = parse_header(&buf[..want], pos, file_len)?;
        if h.end() > file_len {
            return Err(format!(
                "truncated: box '{}' at {pos} needs {} bytes, the file ends after {}",
                kind_str(&h.kind),
                h.size,
                file_len - pos
            ));
        }
        out.push(h);
        pos = h.end();
    }
    Ok(out)
}

/// A child box inside an in-memory parent payload.
#[derive(Debug, Clone, Copy)]
pub struct BoxRef<'a> {
    pub kind: [u8; 4],
    /// The whole box, header included (for verbatim copies such as stsd and hdlr).
    pub raw: &'a [u8],
    pub payload: &'a [u8],
}

pub fn children(buf: &[u8]) -> ParseResult<Vec<BoxRef<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        let h = parse_header(&buf[pos..], pos as u64, buf.len() as u64)?;
        if h.end() > buf.len() as u64 {
            return Err(format!("box '{}' overruns its parent", kind_str(&h.kind)));
        }
        let end = h.end() as usize;
        out.push(BoxRef {
            kind: h.kind,
            raw: &buf[pos..end],
            payload: &buf[pos + h.header_len as usize..end],
        });
        pos = end;
    }
    Ok(out)
}

pub fn find<'a>(buf: &'a [u8], kind: &[u8; 4]) -> ParseResult<Option<BoxRef<'a>>> {
    Ok(children(buf)?.into_iter().find(|b| &b.kind == kind))
}

pub fn require<'a>(buf: &'a [u8], kind: &[u8; 4], parent: &str) -> ParseResult<BoxRef<'a>> {
    find(buf, kind)?.ok_or_else(|| format!("{parent} has no '{}' box", kind_str(kind)))
}

/// Bounds-checked big-endian reader over a box payload.
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, pos: 0, what }
    }
    pub fn bytes(&mut self, n: usize) -> ParseResult<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(format!("'{}' box is cut short", self.what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn skip(&mut self, n: usize) -> ParseResult<()> {
        self.bytes(n).map(|_| ())
    }
    pub fn u8(&mut self) -> ParseResult<u8> {
        Ok(self.bytes(1)?[0])
    }
    pub fn u16(&mut self) -> ParseResult<u16> {
        Ok(u16::from_be_bytes(self.bytes(2)?.try_into().unwrap()))
    }
    pub fn u32(&mut self) -> ParseResult<u32> {
        Ok(u32::from_be_bytes(self.bytes(4)?.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> ParseResult<u64> {
        Ok(u64::from_be_bytes(self.bytes(8)?.try_into().unwrap()))
    }
    /// Version and flags of a full box.
    pub fn full(&mut self) -> ParseResult<(u8, u32)> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00ff_ffff))
    }
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }
    /// Guards `count * unit` table sizes before allocating, so a corrupt count cannot ask for GBs.
    pub fn expect_table(&self, count: u64, unit: u64) -> ParseResult<()> {
        if count.saturating_mul(unit) > (self.buf.len() - self.pos) as u64 {
            return Err(format!(
                "'{}' table claims {count} entries but is cut short",
                self.what
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boxes::write::BoxWriter;

    #[test]
    fn reads_back_nested_boxes_written_by_the_writer() {
        let mut w = BoxWriter::default();
        w.open(b"moov");
        w.open_full(b"mvhd", 0, 0);
        w.u32(1000);
        w.close();
        w.open(b"udta");
        w.close();
        w.close();
        let top = children(&w.buf).unwrap();
        assert_eq!(top.len(), 1);
        assert_eq!(&top[0].kind, b"moov");
        let kids = children(top[0].payload).unwrap();
        assert_eq!(
            kids.iter().map(|k| k.kind).collect::<Vec<_>>(),
            vec![*b"mvhd", *b"udta"]
        );
        let mut c = Cursor::new(kids[0].payload, "mvhd");
        assert_eq!(c.full().unwrap(), (0, 0));
        assert_eq!(c.u32().unwrap(), 1000);
        assert!(c.u8().is_err());
    }

    #[test]
    fn understands_largesize_and_size_zero() {
        let mut b = vec![0, 0, 0, 1];
        b.extend_from_slice(b"mdat");
        b.extend_from_slice(&20u64.to_be_bytes());
        b.extend_from_slice(&[7, 7, 7, 7]);
        let h = parse_header(&b, 0, 20).unwrap();
        assert_eq!((h.header_len, h.size, &h.kind), (16, 20, b"mdat"));
        let z = [0, 0, 0, 0, b'm', b'd', b'a', b't'];
        assert_eq!(parse_header(&z, 100, 150).unwrap().size, 50);
    }

    #[test]
    fn rejects_text_and_boxes_that_overrun() {
        // Printable type bytes, but a size far past the end: top_level reports it as truncation.
        assert!(parse_header(b"hello world\n", 0, 12).unwrap().end() > 12);
        assert!(parse_header(b"\x00\x00\x00\x10\x01\x02\x03\x04", 0, 16).is_err());
        let mut b = 64u32.to_be_bytes().to_vec();
        b.extend_from_slice(b"free");
        assert!(children(&b).is_err());
    }
}
