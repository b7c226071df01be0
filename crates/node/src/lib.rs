//! The napi binding: converts JS values to reel-core types and ReelError to JS errors with `code`.
use napi_derive::napi;

/// Every error code reel-core can raise, with its meaning.
#[napi(object)]
pub struct ErrorCodeInfo {
    pub code: String,
    pub meaning: String,
}

#[napi]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    reel_core::ErrorCode::ALL
        .iter()
        .map(|c| ErrorCodeInfo { code: c.as_str().to_string(), meaning: c.meaning().to_string() })
        .collect()
}
