//! A small, strict M3U8 parser: only what VOD download needs, and everything it does not support is
//! refused with a code rather than guessed at. Byte ranges (EXT-X-BYTERANGE, EXT-X-MAP BYTERANGE)
//! come out resolved: every range has its offset, whether the playlist wrote it or not.

use std::collections::HashMap;

use crate::error::{ErrorCode, ReelError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variant {
    pub uri: String,
    pub bandwidth: Option<u64>,
    pub height: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyMethod {
    Aes128,
    SampleAes,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub method: KeyMethod,
    pub uri: Option<String>,
    pub iv: Option<[u8; 16]>,
}

/// A sub-range of a resource: `len` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ByteRange {
    pub offset: u64,
    pub len: u64,
}

impl ByteRange {
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// An fMP4 init segment (EXT-X-MAP): a whole resource or a byte range of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MapRef {
    pub uri: String,
    pub range: Option<ByteRange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub uri: String,
    /// The part of `uri` that is this segment (EXT-X-BYTERANGE); the whole resource when `None`.
    pub range: Option<ByteRange>,
    /// Media sequence number: the default IV for AES-128.
    pub seq: u64,
    pub key: Option<Key>,
    /// The EXT-X-MAP init segment in force for this segment (fMP4).
    pub map: Option<MapRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Media {
    pub segments: Vec<Segment>,
    pub ended: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Playlist {
    Master(Vec<Variant>),
    Media(Media),
}

fn invalid(why: impl Into<String>) -> ReelError {
    ReelError::new(ErrorCode::HlsInvalid, why.into())
}

/// `KEY=value,KEY="quoted, with commas"` into pairs; quotes removed.
pub(crate) fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_ascii_uppercase();
        rest = &rest[eq + 1..];
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            value = q[..end].to_string();
            rest = q.get(end + 1..).unwrap_or("");
            rest = rest.trim_start().strip_prefix(',').unwrap_or(rest);
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = rest.get(end + 1..).unwrap_or("");
        }
        out.push((key, value));
    }
    out
}

fn attr<'a>(attrs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    attrs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

fn parse_iv(s: &str) -> Result<[u8; 16]> {
    let hexs = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| invalid(format!("IV {s:?} is not hex")))?;
    if hexs.len() > 32 {
        return Err(invalid(format!("IV {s:?} is longer than 128 bits")));
    }
    let padded = format!("{hexs:0>32}");
    let bytes = hex::decode(padded).map_err(|_| invalid(format!("IV {s:?} is not hex")))?;
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&bytes);
    Ok(iv)
}

/// `<len>[@<offset>]`, the value of EXT-X-BYTERANGE and of EXT-X-MAP's BYTERANGE attribute.
pub(crate) fn parse_byterange(s: &str) -> Result<(u64, Option<u64>)> {
    let bad = || invalid(format!("byte range {s:?} is not <length>[@<offset>]"));
    let (len, offset) = match s.trim().split_once('@') {
        Some((l, o)) => (l, Some(o.trim().parse::<u64>().map_err(|_| bad())?)),
        None => (s.trim(), None),
    };
    let len: u64 = len.trim().parse().map_err(|_| bad())?;
    if len == 0 || offset.is_some_and(|o| o.checked_add(len).is_none()) {
        return Err(bad());
    }
    Ok((len, offset))
}

fn parse_key(value: &str) -> Result<Option<Key>> {
    let a = parse_attrs(value);
    let method = attr(&a, "METHOD").ok_or_else(|| invalid("EXT-X-KEY without METHOD"))?;
    Ok(match method {
        "NONE" => None,
        m => Some(Key {
            method: match m {
                "AES-128" => KeyMethod::Aes128,
                "SAMPLE-AES" | "SAMPLE-AES-CTR" => KeyMethod::SampleAes,
                other => KeyMethod::Other(other.to_string()),
            },
            uri: attr(&a, "URI").map(str::to_string),
            iv: attr(&a, "IV").map(parse_iv).transpose()?,
        }),
    })
}

/// EXT-X-MAP: a BYTERANGE without an offset starts at byte 0 (it follows no segment).
fn parse_map(value: &str) -> Result<MapRef> {
    let a = parse_attrs(value);
    let uri = attr(&a, "URI")
        .ok_or_else(|| invalid("EXT-X-MAP without URI"))?
        .to_string();
    let range = attr(&a, "BYTERANGE")
        .map(parse_byterange)
        .transpose()?
        .map(|(len, offset)| ByteRange {
            offset: offset.unwrap_or(0),
            len,
        });
    Ok(MapRef { uri, range })
}

/// What the tags so far say about the media segments still to come.
#[derive(Default)]
struct State {
    variants: Vec<Variant>,
    pending_variant: Option<Variant>,
    segments: Vec<Segment>,
    seq: u64,
    key: Option<Key>,
    map: Option<MapRef>,
    /// EXT-X-BYTERANGE applies to the next URI line only.
    pending_range: Option<(u64, Option<u64>)>,
    /// Where the last range of each URI ended: a range without an offset continues from there.
    range_ends: HashMap<String, u64>,
    ended: bool,
    saw_segment_tag: bool,
}

impl State {
    fn tag(&mut self, name: &str, value: &str) -> Result<()> {
        match name {
            "EXT-X-STREAM-INF" => {
                let a = parse_attrs(value);
                let height = attr(&a, "RESOLUTION")
                    .and_then(|r| r.split_once(['x', 'X']))
                    .and_then(|(_, h)| h.parse().ok());
                let bandwidth = attr(&a, "BANDWIDTH").and_then(|b| b.parse().ok());
                self.pending_variant = Some(Variant {
                    uri: String::new(),
                    bandwidth,
                    height,
                });
            }
            "EXT-X-MEDIA-SEQUENCE" => {
                self.seq = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("bad EXT-X-MEDIA-SEQUENCE"))?;
            }
            "EXTINF" => self.saw_segment_tag = true,
            "EXT-X-ENDLIST" => self.ended = true,
            "EXT-X-BYTERANGE" => {
                self.saw_segment_tag = true;
                self.pending_range = Some(parse_byterange(value)?);
            }
            "EXT-X-KEY" => self.key = parse_key(value)?,
            "EXT-X-MAP" => {
                let map = parse_map(value)?;
                // Single-file fMP4: the first segment may follow the init section without an offset.
                if let Some(r) = map.range {
                    self.range_ends.entry(map.uri.clone()).or_insert(r.end());
                }
                self.map = Some(map);
            }
            _ => {} // other tags do not change what is downloaded
        }
        Ok(())
    }

    /// The range of the segment at `uri`: an explicit offset, else the end of that URI's last range.
    fn take_range(&mut self, uri: &str) -> Result<Option<ByteRange>> {
        let Some((len, offset)) = self.pending_range.take() else {
            return Ok(None);
        };
        let offset = match offset {
            Some(o) => o,
            None => *self.range_ends.get(uri).ok_or_else(|| {
                invalid(format!(
                    "EXT-X-BYTERANGE:{len} has no offset and no earlier range of the same URI to follow"
                ))
            })?,
        };
        let range = ByteRange { offset, len };
        if offset.checked_add(len).is_none() {
            return Err(invalid("byte range past 2^64"));
        }
        self.range_ends.insert(uri.to_string(), range.end());
        Ok(Some(range))
    }

    fn uri(&mut self, line: &str, max_segments: usize) -> Result<()> {
        if let Some(mut v) = self.pending_variant.take() {
            v.uri = line.to_string();
            self.variants.push(v);
            return Ok(());
        }
        if self.segments.len() >= max_segments {
            return Err(ReelError::new(
                ErrorCode::HlsTooManySegments,
                format!("playlist has more than {max_segments} segments"),
            ));
        }
        let range = self.take_range(line)?;
        self.segments.push(Segment {
            uri: line.to_string(),
            range,
            seq: self.seq,
            key: self.key.clone(),
            map: self.map.clone(),
        });
        self.seq += 1;
        Ok(())
    }
}

/// Parses a playlist; stops with `REEL_HLS_TOO_MANY_SEGMENTS` as soon as the count passes the cap,
/// so a hostile playlist cannot make us hold millions of entries.
pub(crate) fn parse(text: &str, max_segments: usize) -> Result<Playlist> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next().map(|l| l.trim_start_matches('\u{feff}')) != Some("#EXTM3U") {
        return Err(invalid("playlist does not start with #EXTM3U"));
    }
    let mut st = State::default();
    for line in lines {
        match line.strip_prefix('#') {
            Some(tag) => {
                let (name, value) = tag.split_once(':').unwrap_or((tag, ""));
                st.tag(name, value)?;
            }
            None => st.uri(line, max_segments)?,
        }
    }
    if !st.variants.is_empty() {
        if !st.segments.is_empty() || st.saw_segment_tag {
            return Err(invalid("playlist mixes variants and segments"));
        }
        return Ok(Playlist::Master(st.variants));
    }
    Ok(Playlist::Media(Media {
        segments: st.segments,
        ended: st.ended,
    }))
}

/// The variant whose height is the smallest at or above the target, else the tallest; without a
/// target, the highest bandwidth. Ties go to the higher bandwidth.
pub(crate) fn choose_variant(variants: &[Variant], target_height: Option<u32>) -> Option<&Variant> {
    let bw = |v: &Variant| v.bandwidth.unwrap_or(0);
    let with_height: Vec<&Variant> = variants.iter().filter(|v| v.height.is_some()).collect();
    match target_height {
        Some(t) if !with_height.is_empty() => {
            let fits = with_height
                .iter()
                .filter(|v| v.height.unwrap() >= t)
                .min_by_key(|v| (v.height.unwrap(), std::cmp::Reverse(bw(v))));
            fits.or_else(|| with_height.iter().max_by_key(|v| (v.height.unwrap(), bw(v))))
                .copied()
        }
        _ => variants.iter().max_by_key(|v| (bw(v), v.height.unwrap_or(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:3\n\
        #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\"\nlow.m3u8\n\
        #EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720\nmid.m3u8\n\
        #EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080\nhigh.m3u8\n";

    fn variants() -> Vec<Variant> {
        match parse(MASTER, 10).unwrap() {
            Playlist::Master(v) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chooses_variants_by_height_then_bandwidth() {
        let v = variants();
        assert_eq!(v.len(), 3);
        let pick = |t| choose_variant(&v, t).unwrap().uri.clone();
        assert_eq!(pick(Some(720)), "mid.m3u8");
        assert_eq!(pick(Some(500)), "mid.m3u8");
        assert_eq!(pick(Some(360)), "low.m3u8");
        assert_eq!(pick(Some(2160)), "high.m3u8");
        assert_eq!(pick(None), "high.m3u8");
    }

    #[test]
    fn parses_media_with_keys_maps_and_sequence() {
        let text = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-MAP:URI=\"init.mp4\"\n\
            #EXT-X-KEY:METHOD=AES-128,URI=\"k1.key\",IV=0x000102030405060708090a0b0c0d0e0f\n#EXTINF:4,\na.m4s\n\
            #EXT-X-KEY:METHOD=NONE\n#EXTINF:4,\nb.m4s\n#EXT-X-ENDLIST\n";
        let Playlist::Media(m) = parse(text, 10).unwrap() else {
            panic!()
        };
        assert!(m.ended);
        assert_eq!(m.segments.len(), 2);
        assert_eq!(m.segments[0].seq, 7);
        assert_eq!(m.segments[1].seq, 8);
        let k = m.segments[0].key.as_ref().unwrap();
        assert_eq!(k.method, KeyMethod::Aes128);
        assert_eq!(k.iv.unwrap()[15], 0x0f);
        assert_eq!(m.segments[1].key, None);
        let map = m.segments[1].map.as_ref().unwrap();
        assert_eq!((map.uri.as_str(), map.range), ("init.mp4", None));
        assert_eq!(m.segments[1].range, None);
    }

    #[test]
    fn refuses_what_it_cannot_handle() {
        assert_eq!(
            parse("not a playlist", 10).unwrap_err().code,
            ErrorCode::HlsInvalid
        );
        let many = format!("#EXTM3U\n{}", "#EXTINF:1,\ns.ts\n".repeat(11));
        assert_eq!(parse(&many, 10).unwrap_err().code, ErrorCode::HlsTooManySegments);
    }

    fn ranges(text: &str) -> Vec<(String, Option<(u64, u64)>)> {
        let Playlist::Media(m) = parse(text, 100).unwrap() else {
            panic!()
        };
        m.segments
            .into_iter()
            .map(|s| (s.uri, s.range.map(|r| (r.offset, r.len))))
            .collect()
    }

    #[test]
    fn byte_ranges_with_an_offset_are_taken_as_written() {
        let text = "#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:100@0\nall.ts\n\
            #EXTINF:1,\n#EXT-X-BYTERANGE:50@500\nall.ts\n#EXTINF:1,\nwhole.ts\n#EXT-X-ENDLIST\n";
        assert_eq!(
            ranges(text),
            vec![
                ("all.ts".into(), Some((0, 100))),
                ("all.ts".into(), Some((500, 50))),
                ("whole.ts".into(), None),
            ]
        );
    }

    #[test]
    fn a_byte_range_without_offset_continues_its_own_uri() {
        // a.ts and b.ts interleave: each range without an offset follows the last range of the
        // same URI, not the previous line's.
        let text = "#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:100@10\na.ts\n\
            #EXTINF:1,\n#EXT-X-BYTERANGE:70@0\nb.ts\n#EXTINF:1,\n#EXT-X-BYTERANGE:30\na.ts\n\
            #EXTINF:1,\n#EXT-X-BYTERANGE:5\nb.ts\n#EXTINF:1,\n#EXT-X-BYTERANGE:1\na.ts\n";
        assert_eq!(
            ranges(text),
            vec![
                ("a.ts".into(), Some((10, 100))),
                ("b.ts".into(), Some((0, 70))),
                ("a.ts".into(), Some((110, 30))),
                ("b.ts".into(), Some((70, 5))),
                ("a.ts".into(), Some((140, 1))),
            ]
        );
        // Without an earlier range of that URI there is nothing to continue from.
        let orphan =
            "#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:100@0\na.ts\n#EXTINF:1,\n#EXT-X-BYTERANGE:9\nb.ts\n";
        let e = parse(orphan, 10).unwrap_err();
        assert_eq!(e.code, ErrorCode::HlsInvalid);
        assert!(e.message.contains("no offset"), "{e}");
    }

    #[test]
    fn map_byterange_is_read_starts_at_zero_and_is_followed_by_the_first_segment() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"f.mp4\",BYTERANGE=\"1354@0\"\n\
            #EXTINF:1,\n#EXT-X-BYTERANGE:400\nf.mp4\n#EXTINF:1,\n#EXT-X-BYTERANGE:300\nf.mp4\n\
            #EXT-X-MAP:URI=\"g.mp4\",BYTERANGE=\"20\"\n#EXTINF:1,\n#EXT-X-BYTERANGE:9@20\ng.mp4\n";
        let Playlist::Media(m) = parse(text, 10).unwrap() else {
            panic!()
        };
        let got: Vec<_> = m
            .segments
            .iter()
            .map(|s| {
                let map = s.map.as_ref().unwrap();
                (map.uri.as_str(), map.range.unwrap(), s.range.unwrap())
            })
            .collect();
        let r = |offset, len| ByteRange { offset, len };
        assert_eq!(
            got,
            vec![
                ("f.mp4", r(0, 1354), r(1354, 400)),
                ("f.mp4", r(0, 1354), r(1754, 300)),
                ("g.mp4", r(0, 20), r(20, 9)),
            ]
        );
    }

    #[test]
    fn malformed_byte_ranges_are_refused() {
        for bad in ["", "abc", "10@", "@5", "0@0", "-1@0", "10@18446744073709551615"] {
            let text = format!("#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:{bad}\ns.ts\n");
            assert_eq!(
                parse(&text, 10).unwrap_err().code,
                ErrorCode::HlsInvalid,
                "{bad:?}"
            );
        }
        let map = "#EXTM3U\n#EXT-X-MAP:URI=\"i.mp4\",BYTERANGE=\"x\"\n#EXTINF:1,\ns.ts\n";
        assert_eq!(parse(map, 10).unwrap_err().code, ErrorCode::HlsInvalid);
    }

    #[test]
    fn attribute_values_may_hold_commas() {
        let a = parse_attrs("BANDWIDTH=1,CODECS=\"a,b\",RESOLUTION=1x2");
        assert_eq!(attr(&a, "CODECS"), Some("a,b"));
        assert_eq!(attr(&a, "RESOLUTION"), Some("1x2"));
    }
}
