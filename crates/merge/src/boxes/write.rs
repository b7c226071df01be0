//! Builds boxes into a Vec: `open` pushes a size placeholder that `close` patches, so nested boxes
//! are written in one pass without computing sizes up front.

#[derive(Default)]
pub struct BoxWriter {
    pub buf: Vec<u8>,
    open: Vec<usize>,
}

impl BoxWriter {
    pub fn open(&mut self, kind: &[u8; 4]) {
        self.open.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        self.buf.extend_from_slice(kind);
    }
    pub fn open_full(&mut self, kind: &[u8; 4], version: u8, flags: u32) {
        self.open(kind);
        self.u32(((version as u32) << 24) | (flags & 0x00ff_ffff));
    }
    pub fn close(&mut self) {
        let start = self.open.pop().expect("close without open");
        let size = u32::try_from(self.buf.len() - start).expect("a metadata box over 4 GiB");
        self.buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    pub fn into_inner(self) -> Vec<u8> {
        assert!(self.open.is_empty(), "unclosed box");
        self.buf
    }
}

/// The 8- or 16-byte header of a box whose payload is written separately (mdat).
pub fn header(kind: &[u8; 4], payload_len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    if payload_len + 8 <= u32::MAX as u64 {
        out.extend_from_slice(&((payload_len + 8) as u32).to_be_bytes());
        out.extend_from_slice(kind);
    } else {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(&(payload_len + 16).to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boxes::read::parse_header;

    #[test]
    fn mdat_header_switches_to_largesize_past_4gib() {
        let small = header(b"mdat", 100);
        assert_eq!(small.len(), 8);
        assert_eq!(parse_header(&small, 0, 1000).unwrap().size, 108);
        let big = header(b"mdat", 5 << 30);
        assert_eq!(big.len(), 16);
        let h = parse_header(&big, 0, u64::MAX).unwrap();
        assert_eq!((h.header_len, h.size), (16, (5 << 30) + 16));
    }
}
