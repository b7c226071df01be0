//! A small, strict M3U8 parser: only what VOD download needs, and everything it does not support is
//! refused with a code rather than guessed at.

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub uri: String,
    /// Media sequence number: the default IV for AES-128.
    pub seq: u64,
    pub key: Option<Key>,
    /// The EXT-X-MAP init segment in force for this segment (fMP4).
    pub map: Option<String>,
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

/// Parses a playlist; stops with `REEL_HLS_TOO_MANY_SEGMENTS` as soon as the count passes the cap,
/// so a hostile playlist cannot make us hold millions of entries.
pub(crate) fn parse(text: &str, max_segments: usize) -> Result<Playlist> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next().map(|l| l.trim_start_matches('\u{feff}')) != Some("#EXTM3U") {
        return Err(invalid("playlist does not start with #EXTM3U"));
    }
    let mut variants = Vec::new();
    let mut pending_variant: Option<Variant> = None;
    let mut segments = Vec::new();
    let mut seq: u64 = 0;
    let mut key: Option<Key> = None;
    let mut map: Option<String> = None;
    let mut ended = false;
    let mut saw_segment_tag = false;
    for line in lines {
        if let Some(tag) = line.strip_prefix('#') {
            let (name, value) = tag.split_once(':').unwrap_or((tag, ""));
            match name {
                "EXT-X-STREAM-INF" => {
                    let a = parse_attrs(value);
                    let height = attr(&a, "RESOLUTION")
                        .and_then(|r| r.split_once(['x', 'X']))
                        .and_then(|(_, h)| h.parse().ok());
                    let bandwidth = attr(&a, "BANDWIDTH").and_then(|b| b.parse().ok());
                    pending_variant = Some(Variant {
                        uri: String::new(),
                        bandwidth,
                        height,
                    });
                }
                "EXT-X-MEDIA-SEQUENCE" => {
                    seq = value
                        .trim()
                        .parse()
                        .map_err(|_| invalid("bad EXT-X-MEDIA-SEQUENCE"))?;
                }
                "EXTINF" => saw_segment_tag = true,
                "EXT-X-ENDLIST" => ended = true,
                "EXT-X-BYTERANGE" => {
                    return Err(ReelError::new(
                        ErrorCode::HlsUnsupported,
                        "EXT-X-BYTERANGE segments are not supported",
                    ));
                }
                "EXT-X-KEY" => {
                    let a = parse_attrs(value);
                    let method = attr(&a, "METHOD").ok_or_else(|| invalid("EXT-X-KEY without METHOD"))?;
                    key = match method {
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
                    };
                }
                "EXT-X-MAP" => {
                    let a = parse_attrs(value);
                    if attr(&a, "BYTERANGE").is_some() {
                        return Err(ReelError::new(
                            ErrorCode::HlsUnsupported,
                            "EXT-X-MAP with BYTERANGE is not supported",
                        ));
                    }
                    map = Some(
                        attr(&a, "URI")
                            .ok_or_else(|| invalid("EXT-X-MAP without URI"))?
                            .to_string(),
                    );
                }
                _ => {} // other tags do not change what is downloaded
            }
            continue;
        }
        // A URI line.
        if let Some(mut v) = pending_variant.take() {
            v.uri = line.to_string();
            variants.push(v);
            continue;
        }
        if segments.len() >= max_segments {
            return Err(ReelError::new(
                ErrorCode::HlsTooManySegments,
                format!("playlist has more than {max_segments} segments"),
            ));
        }
        segments.push(Segment {
            uri: line.to_string(),
            seq,
            key: key.clone(),
            map: map.clone(),
        });
        seq += 1;
    }
    if !variants.is_empty() {
        if !segments.is_empty() || saw_segment_tag {
            return Err(invalid("playlist mixes variants and segments"));
        }
        return Ok(Playlist::Master(variants));
    }
    Ok(Playlist::Media(Media { segments, ended }))
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
        assert_eq!(m.segments[1].map.as_deref(), Some("init.mp4"));
    }

    #[test]
    fn refuses_what_it_cannot_handle() {
        assert_eq!(
            parse("not a playlist", 10).unwrap_err().code,
            ErrorCode::HlsInvalid
        );
        let many = format!("#EXTM3U\n{}", "#EXTINF:1,\ns.ts\n".repeat(11));
        assert_eq!(parse(&many, 10).unwrap_err().code, ErrorCode::HlsTooManySegments);
        let br = "#EXTM3U\n#EXTINF:1,\n#EXT-X-BYTERANGE:100@0\ns.ts\n";
        assert_eq!(parse(br, 10).unwrap_err().code, ErrorCode::HlsUnsupported);
    }

    #[test]
    fn attribute_values_may_hold_commas() {
        let a = parse_attrs("BANDWIDTH=1,CODECS=\"a,b\",RESOLUTION=1x2");
        assert_eq!(attr(&a, "CODECS"), Some("a,b"));
        assert_eq!(attr(&a, "RESOLUTION"), Some("1x2"));
    }
}
