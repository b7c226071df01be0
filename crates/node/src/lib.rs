//! The napi binding over reel-core and reel-merge. It converts JS options to Rust types, Rust
//! reports to JS objects and `ReelError` to rejections, nothing more: behaviour lives in the pure
//! crates. `lib/index.ts` wraps these functions into the public API (`AbortSignal`, `code` on
//! errors).

mod cancel;
mod convert;
mod download;
mod hash;
mod merge;
mod proxy;

use napi_derive::napi;

/// Every error code the Rust core can raise, with its meaning and next step.
#[napi(object)]
pub struct ErrorCodeInfo {
    pub code: String,
    pub meaning: String,
}

#[napi]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    reel_core::ErrorCode::ALL
        .iter()
        .map(|c| ErrorCodeInfo {
            code: c.as_str().to_string(),
            meaning: c.meaning().to_string(),
        })
        .collect()
}
