//! `download` and `downloadHls`: options in, report out, progress through a threadsafe callback.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use reel_core::download::{self, DownloadOptions as CoreDownload, Progress};
use reel_core::egress::EgressPolicy;
use reel_core::hash::Checksum;
use reel_core::hls::{self, HlsOptions as CoreHls};

use crate::cancel::CancelToken;
use crate::convert::{invalid, ms, to_napi, to_u64, to_usize};

#[napi(object)]
pub struct ProgressEvent {
    pub downloaded: f64,
    pub total: Option<f64>,
    pub active_connections: u32,
}

/// Progress is called without an error-first argument; it is weak-free so the loop stays alive
/// until the transfer settles, and dropped with the transfer.
pub type ProgressFn = ThreadsafeFunction<ProgressEvent, (), ProgressEvent, Status, false>;

fn progress_sink(f: Option<ProgressFn>) -> Option<Arc<dyn Fn(Progress) + Send + Sync>> {
    let f = f?;
    Some(Arc::new(move |p: Progress| {
        let ev = ProgressEvent {
            downloaded: p.downloaded as f64,
            total: p.total.map(|t| t as f64),
            active_connections: p.active_connections as u32,
        };
        // NonBlocking: a slow JS thread drops nothing important (the core already bounds the rate).
        f.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
    }))
}

/// Settings shared by direct downloads and HLS.
#[napi(object)]
pub struct NetOptions {
    /// CIDRs opened past the egress guard, e.g. `["127.0.0.1/32"]` for tests and private sources.
    pub allow: Option<Vec<String>>,
    /// curl `--resolve` style overrides: `"host:ip"`. The egress guard still checks the address.
    pub resolve: Option<Vec<String>>,
    pub connect_timeout_ms: Option<f64>,
    pub idle_timeout_ms: Option<f64>,
    pub total_timeout_ms: Option<f64>,
    pub max_retries: Option<u32>,
    pub progress_interval_ms: Option<f64>,
    pub user_agent: Option<String>,
}

#[napi(object)]
pub struct DownloadOptions {
    pub url: String,
    pub dest: String,
    pub connections: Option<u32>,
    pub per_host_connections: Option<u32>,
    pub min_split_size: Option<f64>,
    pub chunk_size: Option<f64>,
    pub max_bytes: Option<f64>,
    /// `sha256:<hex>` or `blake3:<hex>`, verified before the file is renamed into place.
    pub checksum: Option<String>,
    pub net: Option<NetOptions>,
}

#[napi(object)]
pub struct DownloadReport {
    pub bytes: f64,
    pub ranged: bool,
    pub connections_used: u32,
    pub resumed_bytes: f64,
    pub fetched_bytes: f64,
    pub retries: u32,
    pub restarts: u32,
    pub elapsed_ms: f64,
    pub etag: Option<String>,
    pub checksum: Option<String>,
}

struct Net {
    egress: EgressPolicy,
    resolve: Vec<(String, std::net::IpAddr)>,
    connect_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    max_retries: Option<u32>,
    progress_interval: Option<Duration>,
    user_agent: Option<String>,
}

fn parse_net(n: Option<NetOptions>) -> Result<Net> {
    let n = n.unwrap_or(NetOptions {
        allow: None,
        resolve: None,
        connect_timeout_ms: None,
        idle_timeout_ms: None,
        total_timeout_ms: None,
        max_retries: None,
        progress_interval_ms: None,
        user_agent: None,
    });
    let egress = match n.allow.as_deref() {
        None | Some([]) => EgressPolicy::deny_internal(),
        Some(list) => EgressPolicy::with_allow(list).map_err(to_napi)?,
    };
    let mut resolve = Vec::new();
    for entry in n.resolve.unwrap_or_default() {
        let (host, ip) = entry
            .rsplit_once(':')
            .filter(|(h, _)| !h.is_empty())
            .ok_or_else(|| invalid(format!("resolve entry {entry:?} must look like host:ip")))?;
        let ip = ip
            .trim_matches(['[', ']'])
            .parse()
            .map_err(|_| invalid(format!("resolve entry {entry:?}: bad IP")))?;
        resolve.push((host.to_string(), ip));
    }
    let opt_ms = |v: Option<f64>| v.map(|_| ms(v, Duration::ZERO));
    Ok(Net {
        egress,
        resolve,
        connect_timeout: opt_ms(n.connect_timeout_ms),
        idle_timeout: opt_ms(n.idle_timeout_ms),
        total_timeout: opt_ms(n.total_timeout_ms),
        max_retries: n.max_retries,
        progress_interval: opt_ms(n.progress_interval_ms),
        user_agent: n.user_agent,
    })
}

/// Applies the shared settings to either options struct (both carry the same field names).
macro_rules! apply_net {
    ($o:expr, $n:expr) => {{
        let n = $n;
        $o.egress = n.egress;
        $o.resolve = n.resolve;
        if let Some(v) = n.connect_timeout {
            $o.connect_timeout = v;
        }
        if let Some(v) = n.idle_timeout {
            $o.idle_timeout = v;
        }
        if n.total_timeout.is_some() {
            $o.total_timeout = n.total_timeout;
        }
        if let Some(v) = n.max_retries {
            $o.max_retries = v;
        }
        if let Some(v) = n.progress_interval {
            $o.progress_interval = v;
        }
        if let Some(v) = n.user_agent {
            $o.user_agent = v;
        }
    }};
}

#[napi(ts_return_type = "Promise<DownloadReport>")]
pub fn download<'e>(
    env: &'e Env,
    options: DownloadOptions,
    #[napi(ts_arg_type = "((progress: ProgressEvent) => void) | undefined | null")] on_progress: Option<
        ProgressFn,
    >,
    cancel: Option<&CancelToken>,
) -> Result<PromiseRaw<'e, DownloadReport>> {
    let mut o = CoreDownload::new(options.url, options.dest);
    o.connections = to_usize(options.connections, o.connections, "connections")?;
    o.per_host_connections = to_usize(
        options.per_host_connections,
        o.per_host_connections,
        "perHostConnections",
    )?;
    if let Some(v) = to_u64(options.min_split_size, "minSplitSize")? {
        o.min_split_size = v;
    }
    if let Some(v) = to_u64(options.chunk_size, "chunkSize")? {
        o.chunk_size = v;
    }
    o.max_bytes = to_u64(options.max_bytes, "maxBytes")?;
    o.checksum = options
        .checksum
        .as_deref()
        .map(Checksum::parse)
        .transpose()
        .map_err(to_napi)?;
    apply_net!(o, parse_net(options.net)?);
    let token = cancel.map(|c| c.token.clone()).unwrap_or_default();
    let progress = progress_sink(on_progress);
    env.spawn_future(async move {
        let r = download::download(o, progress, token).await.map_err(to_napi)?;
        Ok(DownloadReport {
            bytes: r.bytes as f64,
            ranged: r.ranged,
            connections_used: r.connections_used as u32,
            resumed_bytes: r.resumed_bytes as f64,
            fetched_bytes: r.fetched_bytes as f64,
            retries: r.retries,
            restarts: r.restarts,
            elapsed_ms: r.elapsed_ms as f64,
            etag: r.etag,
            checksum: r.checksum,
        })
    })
}

#[napi(object)]
pub struct HlsOptions {
    pub url: String,
    pub dest: String,
    /// Picks the variant with the smallest height at or above this; the largest if none.
    pub target_height: Option<u32>,
    pub concurrency: Option<u32>,
    pub max_segments: Option<u32>,
    /// The whole stream's byte cap, counted as segments arrive (`REEL_SOURCE_TOO_LARGE` past it).
    pub max_bytes: Option<f64>,
    pub net: Option<NetOptions>,
}

#[napi(object)]
pub struct HlsReport {
    pub segments: u32,
    pub bytes: f64,
    pub variant_height: Option<u32>,
    pub variant_bandwidth: Option<f64>,
    pub encrypted: bool,
    pub elapsed_ms: f64,
}

#[napi(ts_return_type = "Promise<HlsReport>")]
pub fn download_hls<'e>(
    env: &'e Env,
    options: HlsOptions,
    #[napi(ts_arg_type = "((progress: ProgressEvent) => void) | undefined | null")] on_progress: Option<
        ProgressFn,
    >,
    cancel: Option<&CancelToken>,
) -> Result<PromiseRaw<'e, HlsReport>> {
    let mut o = CoreHls::new(options.url, options.dest);
    o.target_height = options.target_height;
    o.concurrency = to_usize(options.concurrency, o.concurrency, "concurrency")?;
    o.max_segments = to_usize(options.max_segments, o.max_segments, "maxSegments")?;
    o.max_bytes = to_u64(options.max_bytes, "maxBytes")?;
    apply_net!(o, parse_net(options.net)?);
    let token = cancel.map(|c| c.token.clone()).unwrap_or_default();
    let progress = progress_sink(on_progress);
    env.spawn_future(async move {
        let r = hls::download_hls(o, progress, token).await.map_err(to_napi)?;
        Ok(HlsReport {
            segments: r.segments as u32,
            bytes: r.bytes as f64,
            variant_height: r.variant_height,
            variant_bandwidth: r.variant_bandwidth.map(|b| b as f64),
            encrypted: r.encrypted,
            elapsed_ms: r.elapsed_ms as f64,
        })
    })
}
