//! Reel's performance layer. Pure Rust: the napi binding lives in `crates/node` and only converts.

pub mod error;
pub mod hash;

pub use error::{ErrorCode, ReelError, Result};
