use std::path::PathBuf;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use reel_core::hash::{hash_file as core_hash, HashAlgorithm};

use crate::convert::to_napi;

/// Hashes a file without reading it into memory; resolves to `blake3:<hex>` or `sha256:<hex>`.
#[napi(ts_return_type = "Promise<string>")]
pub fn hash_file<'e>(
    env: &'e Env,
    path: String,
    algorithm: Option<String>,
) -> Result<PromiseRaw<'e, String>> {
    let alg: HashAlgorithm = algorithm
        .as_deref()
        .unwrap_or("blake3")
        .parse()
        .map_err(to_napi)?;
    env.spawn_future(async move {
        tokio::task::spawn_blocking(move || core_hash(&PathBuf::from(path), alg))
            .await
            .map_err(|e| napi::Error::from_reason(e.to_string()))?
            .map(|c| c.to_string())
            .map_err(to_napi)
    })
}
