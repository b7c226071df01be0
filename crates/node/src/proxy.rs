//! `startEgressProxy`: the guarded forward proxy for subprocesses (yt-dlp).

use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use reel_core::egress::EgressPolicy;
use reel_core::egress_proxy::{start_egress_proxy, EgressProxy};

use crate::convert::{ms, to_napi};

#[napi(object)]
pub struct EgressProxyOptions {
    /// CIDRs opened past the egress guard; none by default.
    pub allow: Option<Vec<String>>,
    pub connect_timeout_ms: Option<f64>,
}

#[napi]
pub struct EgressProxyHandle {
    inner: EgressProxy,
}

#[napi]
impl EgressProxyHandle {
    /// `http://127.0.0.1:PORT`, for `--proxy`.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.url()
    }

    #[napi]
    pub fn stop(&self) {
        self.inner.stop();
    }
}

#[napi(ts_return_type = "Promise<EgressProxyHandle>")]
pub fn start_egress_proxy_native<'e>(
    env: &'e Env,
    options: Option<EgressProxyOptions>,
) -> Result<PromiseRaw<'e, EgressProxyHandle>> {
    let (allow, timeout) = match options {
        Some(o) => (
            o.allow.unwrap_or_default(),
            ms(o.connect_timeout_ms, Duration::from_secs(15)),
        ),
        None => (Vec::new(), Duration::from_secs(15)),
    };
    let policy = EgressPolicy::with_allow(&allow).map_err(to_napi)?;
    env.spawn_future(async move {
        let inner = start_egress_proxy(policy, timeout).await.map_err(to_napi)?;
        Ok(EgressProxyHandle { inner })
    })
}
