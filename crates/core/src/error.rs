//! Every error leaving this crate carries a stable `REEL_*` code; the binding passes the code to JS
//! unchanged, so status, the API and the CLI can all show it.

use std::fmt;

macro_rules! codes {
    ($($variant:ident => $code:literal, $meaning:literal;)+) => {
        /// The stable error codes. Add new ones here, with their meaning; never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),+ }
            }

            /// What the code means and what a user can do next.
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning),+ }
            }
        }
    };
}

codes! {
    InvalidArgument => "REEL_INVALID_ARGUMENT", "An option passed to the call is invalid; fix the option named in the message.";
    Cancelled => "REEL_CANCELLED", "The operation was cancelled by its caller.";
    Io => "REEL_IO", "A local file operation failed (disk full, permissions, missing directory); check the path and free space.";
    EgressDenied => "REEL_EGRESS_DENIED", "The URL resolves to an internal address (loopback, private, link-local, metadata); use a public URL or ask the operator to allowlist the range.";
    SourceUnreachable => "REEL_SOURCE_UNREACHABLE", "The source could not be reached (DNS failure, connection refused or reset) after retries; check the URL and try again later.";
    SourceTimeout => "REEL_SOURCE_TIMEOUT", "The source stopped sending data or was too slow (connect, idle-read or total timeout); try again later or raise the timeout.";
    SourceNotFound => "REEL_SOURCE_NOT_FOUND", "The source answered 404/410: the URL is wrong or the file was removed.";
    SourceForbidden => "REEL_SOURCE_FORBIDDEN", "The source answered 401/403: the URL needs credentials or has expired.";
    SourceHttp => "REEL_SOURCE_HTTP", "The source answered an HTTP error that retries did not clear; the message has the status.";
    SourceTls => "REEL_SOURCE_TLS", "The TLS handshake with the source failed (bad or expired certificate).";
    SourceProtocol => "REEL_SOURCE_PROTOCOL", "The source broke HTTP rules (wrong Content-Range, short body, bad redirect); it may be misconfigured.";
    SourceChanged => "REEL_SOURCE_CHANGED", "The source file changed during the download (ETag/Last-Modified differ) more often than allowed.";
    SourceTooLarge => "REEL_SOURCE_TOO_LARGE", "The source is larger than the installation's byte cap (REEL_MAX_SOURCE_BYTES, 50 GiB by default): use a smaller source or rendition, or ask the operator to raise the cap.";
    SizeMismatch => "REEL_SIZE_MISMATCH", "The downloaded size differs from the announced size.";
    ChecksumMismatch => "REEL_CHECKSUM_MISMATCH", "The downloaded file does not match the expected checksum.";
    TooManyRedirects => "REEL_TOO_MANY_REDIRECTS", "The source redirected too many times.";
    UnsupportedScheme => "REEL_UNSUPPORTED_SCHEME", "Only http and https URLs are accepted.";
    HlsInvalid => "REEL_HLS_INVALID", "The HLS playlist could not be parsed.";
    HlsLive => "REEL_HLS_LIVE", "The HLS playlist is live (no #EXT-X-ENDLIST); only VOD playlists are supported.";
    HlsLoop => "REEL_HLS_LOOP", "The HLS playlist refers to itself or to a playlist already visited.";
    HlsBadUri => "REEL_HLS_BAD_URI", "An HLS segment or key URI is not http(s) (file:, data: and others are refused).";
    HlsTooManySegments => "REEL_HLS_TOO_MANY_SEGMENTS", "The HLS playlist has more segments than the configured limit.";
    HlsUnsupported => "REEL_HLS_UNSUPPORTED", "The HLS playlist uses a feature Reel does not support (SAMPLE-AES or another key method than AES-128); use a rendition without it or a direct file.";
    MergeInvalidInput => "REEL_MERGE_INVALID_INPUT", "A merge input is not a readable MP4 (no moov, truncated, not MP4).";
    MergeMismatch => "REEL_MERGE_MISMATCH", "Merge inputs do not share codec parameters; normalise them (re-encode) before merging.";
    MergeUnsupported => "REEL_MERGE_UNSUPPORTED", "A merge input uses an MP4 feature the merge does not handle (fragmented MP4, more than one video or audio track).";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a stable code and a message for people. The message never contains secrets
/// (URLs are reported without their query string or userinfo).
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ReelError {
    pub code: ErrorCode,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ReelError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        code: ErrorCode,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

impl From<std::io::Error> for ReelError {
    fn from(e: std::io::Error) -> Self {
        let msg = e.to_string();
        ReelError::with_source(ErrorCode::Io, msg, e)
    }
}

pub type Result<T, E = ReelError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_and_prefixed() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(c.as_str().starts_with("REEL_"), "{c}");
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert!(!c.meaning().is_empty());
        }
    }

    #[test]
    fn display_shows_code_then_message() {
        let e = ReelError::new(ErrorCode::SourceTimeout, "idle for 30s");
        assert_eq!(e.to_string(), "REEL_SOURCE_TIMEOUT: idle for 30s");
    }
}
