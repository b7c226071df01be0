//! Conversions shared by every binding function.

use std::time::Duration;

use reel_core::{ErrorCode, ReelError};

/// Rejections carry the code as a message prefix (`REEL_X: message`); `lib/index.ts` turns that
/// into `error.code`. napi's async rejections only take its own `Status` as a code, so the prefix is
/// the one channel that survives the trip.
pub fn to_napi(e: ReelError) -> napi::Error {
    napi::Error::new(
        napi::Status::GenericFailure,
        format!("{}: {}", e.code.as_str(), e.message),
    )
}

pub fn invalid(message: impl Into<String>) -> napi::Error {
    to_napi(ReelError::new(ErrorCode::InvalidArgument, message))
}

pub fn ms(v: Option<f64>, default: Duration) -> Duration {
    match v {
        Some(ms) if ms.is_finite() && ms > 0.0 => Duration::from_secs_f64(ms / 1000.0),
        _ => default,
    }
}

/// JS numbers are f64; byte counts and sizes up to 2^53 are exact.
pub fn to_u64(v: Option<f64>, name: &str) -> napi::Result<Option<u64>> {
    match v {
        None => Ok(None),
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => {
            Ok(Some(n as u64))
        }
        Some(n) => Err(invalid(format!("{name} must be a non-negative integer, got {n}"))),
    }
}

pub fn to_usize(v: Option<u32>, default: usize, name: &str) -> napi::Result<usize> {
    match v {
        None => Ok(default),
        Some(0) => Err(invalid(format!("{name} must be at least 1"))),
        Some(n) => Ok(n as usize),
    }
}
