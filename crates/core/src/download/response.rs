//! What a response says about the bytes it carries: its Content-Range, and the validators
//! (ETag / Last-Modified) that identify one version of the source.

use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_RANGE, ETAG, LAST_MODIFIED};

use crate::error::{ErrorCode, ReelError};

/// `Content-Range: bytes <first>-<last>/<total>`; `total` is `None` for `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    pub first: u64,
    pub last: u64,
    pub total: Option<u64>,
}

pub(crate) fn parse_content_range(v: &str) -> Option<ContentRange> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.trim().split_once('-')?;
    let first: u64 = a.trim().parse().ok()?;
    let last: u64 = b.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    if last < first || total.is_some_and(|t| last >= t) {
        return None;
    }
    Some(ContentRange { first, last, total })
}

pub(crate) fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Checks a 206 against what was asked: `[start, end)` of a file of `total` bytes (`None` while the
/// size is still unknown, on the first request). Returns the file size and the end of the bytes
/// this response carries. Every mismatch is a protocol error: writing bytes at the wrong offset
/// would corrupt the file silently. The one tolerated difference: an open-ended `bytes=N-` may be
/// answered with less than the rest (some CDNs cap range sizes); the remainder is fetched later.
pub(crate) fn check_partial(
    h: &HeaderMap,
    start: u64,
    end: Option<u64>,
    total: Option<u64>,
    target: &str,
) -> Result<(u64, u64), ReelError> {
    let bad = |why: String| ReelError::new(ErrorCode::SourceProtocol, format!("{target}: {why}"));
    let raw = h
        .get(CONTENT_RANGE)
        .ok_or_else(|| bad("206 without Content-Range".into()))?;
    let cr = raw
        .to_str()
        .ok()
        .and_then(parse_content_range)
        .ok_or_else(|| bad(format!("unparseable Content-Range {raw:?}")))?;
    let file_total = cr
        .total
        .or(total)
        .ok_or_else(|| bad("Content-Range without a total size".into()))?;
    if let Some(t) = total {
        if file_total != t {
            return Err(bad(format!("Content-Range total {file_total} differs from {t}")));
        }
    }
    let want_last = end.unwrap_or(file_total) - 1;
    let capped_ok = end.is_none() && cr.last < want_last;
    if cr.first != start || (cr.last != want_last && !capped_ok) {
        return Err(bad(format!(
            "asked for bytes {start}-{want_last}, Content-Range says {}-{}",
            cr.first, cr.last
        )));
    }
    if let Some(len) = content_length(h) {
        if len != cr.last - cr.first + 1 {
            return Err(bad(format!(
                "Content-Length {len} does not match Content-Range {}-{}",
                cr.first, cr.last
            )));
        }
    }
    Ok((file_total, cr.last + 1))
}

/// One version of the source, as far as the server lets us tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Identity {
    pub fn from_headers(h: &HeaderMap) -> Self {
        let get = |k| {
            h.get(k)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Self {
            etag: get(ETAG),
            last_modified: get(LAST_MODIFIED),
        }
    }

    /// The If-Range value: a strong ETag, else Last-Modified (weak ETags are not allowed there).
    pub fn if_range(&self) -> Option<&str> {
        match &self.etag {
            Some(e) if !e.starts_with("W/") => Some(e),
            _ => self.last_modified.as_deref(),
        }
    }

    /// True when a response shows a different version than this one.
    pub fn differs(&self, other: &Identity) -> bool {
        let diff = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x != y);
        diff(&self.etag, &other.etag) || diff(&self.last_modified, &other.last_modified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(cr: &str, cl: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_RANGE, HeaderValue::from_str(cr).unwrap());
        if let Some(cl) = cl {
            h.insert(CONTENT_LENGTH, HeaderValue::from_str(cl).unwrap());
        }
        h
    }

    #[test]
    fn parses_content_range() {
        assert_eq!(
            parse_content_range("bytes 0-99/1000"),
            Some(ContentRange {
                first: 0,
                last: 99,
                total: Some(1000)
            })
        );
        assert_eq!(
            parse_content_range("bytes 5-9/*"),
            Some(ContentRange {
                first: 5,
                last: 9,
                total: None
            })
        );
        assert_eq!(parse_content_range("bytes 9-5/100"), None);
        assert_eq!(parse_content_range("bytes 0-100/100"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn partial_responses_must_match_the_request() {
        assert_eq!(
            check_partial(&headers("bytes 0-999/1000", Some("1000")), 0, None, None, "t").unwrap(),
            (1000, 1000)
        );
        assert_eq!(
            check_partial(&headers("bytes 10-19/1000", None), 10, Some(20), Some(1000), "t").unwrap(),
            (1000, 20)
        );
        // An open-ended request answered with a capped range is fine; a capped explicit one is not.
        assert_eq!(
            check_partial(&headers("bytes 0-99/1000", None), 0, None, None, "t").unwrap(),
            (1000, 100)
        );
        for (cr, cl, start, end, total) in [
            ("bytes 11-19/1000", None, 10, Some(20), Some(1000)),
            ("bytes 10-18/1000", None, 10, Some(20), Some(1000)),
            ("bytes 10-19/999", None, 10, Some(20), Some(1000)),
            ("bytes 10-19/1000", Some("11"), 10, Some(20), Some(1000)),
            ("bytes 0-9/*", None, 0, None, None),
        ] {
            let e = check_partial(&headers(cr, cl), start, end, total, "t").unwrap_err();
            assert_eq!(e.code, ErrorCode::SourceProtocol, "{cr}");
        }
    }

    #[test]
    fn identity_prefers_strong_etags_for_if_range() {
        let a = Identity {
            etag: Some("\"v1\"".into()),
            last_modified: Some("Mon".into()),
        };
        assert_eq!(a.if_range(), Some("\"v1\""));
        let w = Identity {
            etag: Some("W/\"v1\"".into()),
            last_modified: Some("Mon".into()),
        };
        assert_eq!(w.if_range(), Some("Mon"));
        let b = Identity {
            etag: Some("\"v2\"".into()),
            last_modified: None,
        };
        assert!(a.differs(&b));
        assert!(!a.differs(&Identity::default()));
    }
}
