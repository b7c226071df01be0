//! Reel's performance layer. Pure Rust: the napi binding lives in `crates/node` and only converts.

pub mod error;
pub mod hash;

#[cfg(feature = "net")]
pub mod download;
#[cfg(feature = "net")]
pub mod egress;
#[cfg(feature = "net")]
pub mod egress_proxy;
#[cfg(feature = "net")]
pub mod hls;

pub use error::{ErrorCode, ReelError, Result};

#[cfg(feature = "net")]
pub use download::{download, DownloadOptions, DownloadReport, Progress};
#[cfg(feature = "net")]
pub use egress::EgressPolicy;
#[cfg(feature = "net")]
pub use hls::{download_hls, HlsOptions, HlsReport};
