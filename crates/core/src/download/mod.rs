//! The parallel HTTP downloader: range requests over several connections with work stealing,
//! resumable across process deaths, guarded by the egress policy.

pub(crate) mod client;
mod ranged;
pub(crate) mod ranges;
pub(crate) mod response;
mod resume;
mod single;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, IF_RANGE, RANGE};
use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::egress::{redact, EgressPolicy};
use crate::error::{ErrorCode, ReelError, Result};
use crate::hash::Checksum;
use client::{backoff, cancelled, header, sleep_or_cancel, Fail, Net};
use response::{check_partial, Identity};
use resume::{ctl_path, part_path, Control};

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

#[derive(Debug, Clone)]
pub struct DownloadOptions {
    pub url: String,
    pub dest: PathBuf,
    pub connections: usize,
    pub per_host_connections: usize,
    /// Never split a remaining range smaller than twice this.
    pub min_split_size: u64,
    /// Progress and resume granularity.
    pub chunk_size: u64,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub total_timeout: Option<Duration>,
    pub max_bytes: Option<u64>,
    pub max_retries: u32,
    pub checksum: Option<Checksum>,
    pub egress: EgressPolicy,
    /// curl `--resolve` style overrides; the addresses are still checked by the egress policy.
    pub resolve: Vec<(String, std::net::IpAddr)>,
    pub progress_interval: Duration,
    pub user_agent: String,
    /// First backoff step; doubles per retry (with jitter), capped at 10 s.
    pub retry_base_delay: Duration,
    /// How often the source may change mid-download before `REEL_SOURCE_CHANGED`.
    pub max_restarts: u32,
}

impl DownloadOptions {
    pub fn new(url: impl Into<String>, dest: impl Into<PathBuf>) -> Self {
        Self {
            url: url.into(),
            dest: dest.into(),
            connections: 8,
            per_host_connections: 16,
            min_split_size: 1 << 20,
            chunk_size: 1 << 20,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            total_timeout: None,
            max_bytes: None,
            max_retries: 5,
            checksum: None,
            egress: EgressPolicy::deny_internal(),
            resolve: Vec::new(),
            progress_interval: Duration::from_millis(100),
            user_agent: concat!("reel/", env!("CARGO_PKG_VERSION")).to_string(),
            retry_base_delay: Duration::from_millis(250),
            max_restarts: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub downloaded: u64,
    pub total: Option<u64>,
    pub active_connections: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadReport {
    pub bytes: u64,
    pub ranged: bool,
    pub connections_used: usize,
    /// Bytes reused from a previous run.
    pub resumed_bytes: u64,
    /// Bytes received in this run, refetches included.
    pub fetched_bytes: u64,
    pub retries: u32,
    /// Restarts because the source changed.
    pub restarts: u32,
    pub elapsed_ms: u64,
    pub etag: Option<String>,
    /// `sha256:<hex>` (or blake3) when a checksum was given and verified.
    pub checksum: Option<String>,
    /// Ranges taken from a slower connection (work stealing); for tests and tuning.
    pub steals: u64,
}

/// Counters shared by the workers and the progress ticker.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Bytes on disk that belong to the result (resumed + written).
    pub downloaded: AtomicU64,
    pub fetched: AtomicU64,
    pub retries: AtomicU32,
    pub active: AtomicUsize,
    /// `u64::MAX` while unknown.
    pub total: AtomicU64,
}

impl Stats {
    fn progress(&self) -> Progress {
        let t = self.total.load(Ordering::Relaxed);
        Progress {
            downloaded: self.downloaded.load(Ordering::Relaxed),
            total: (t != u64::MAX).then_some(t),
            active_connections: self.active.load(Ordering::Relaxed),
        }
    }
}

/// Everything one download call needs, shared by its parts.
pub(crate) struct Ctx {
    pub opts: DownloadOptions,
    pub url: Url,
    pub target: String,
    pub net: Net,
    pub stats: Arc<Stats>,
    pub cancel: CancellationToken,
    pub part: PathBuf,
    pub ctl: PathBuf,
}

/// Why an attempt ended without a file.
#[derive(Debug)]
pub(crate) enum AttemptErr {
    /// The source changed: discard everything and start over.
    Changed,
    Fail(ReelError),
}

impl From<std::io::Error> for AttemptErr {
    fn from(e: std::io::Error) -> Self {
        AttemptErr::Fail(e.into())
    }
}

impl From<ReelError> for AttemptErr {
    fn from(e: ReelError) -> Self {
        AttemptErr::Fail(e)
    }
}

/// What a finished attempt hands to verification.
pub(crate) struct Finished {
    pub total: u64,
    pub ranged: bool,
    pub connections_used: usize,
    pub resumed: u64,
    pub identity: Identity,
    pub steals: u64,
}

/// Downloads `opts.url` to `opts.dest`. Data goes to `<dest>.part` with a control file
/// `<dest>.reel-ctl`, so a later call after a cancel, crash or kill resumes where this one stopped.
pub async fn download(
    opts: DownloadOptions,
    on_progress: Option<ProgressFn>,
    cancel: CancellationToken,
) -> Result<DownloadReport> {
    let started = Instant::now();
    let url = opts.egress.parse_url(&opts.url)?;
    if opts.connections == 0 || opts.per_host_connections == 0 || opts.chunk_size == 0 {
        return Err(ReelError::new(
            ErrorCode::InvalidArgument,
            "connections, per_host_connections and chunk_size must be at least 1",
        ));
    }
    if let Some(parent) = opts.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(ReelError::new(
                ErrorCode::Io,
                format!("directory {} does not exist", parent.display()),
            ));
        }
    }
    let workers = opts.connections.min(opts.per_host_connections);
    let net = Net::new(
        &opts.egress,
        &opts.resolve,
        opts.connect_timeout,
        opts.idle_timeout,
        opts.max_retries,
        opts.retry_base_delay,
        &opts.user_agent,
        workers,
    )?;
    let stats = Arc::new(Stats {
        total: AtomicU64::new(u64::MAX),
        ..Default::default()
    });
    let ctx = Arc::new(Ctx {
        target: redact(&url),
        part: part_path(&opts.dest),
        ctl: ctl_path(&opts.dest),
        opts,
        url,
        net,
        stats: stats.clone(),
        cancel,
    });

    let ticker = on_progress.clone().map(|cb| {
        let stats = stats.clone();
        let every = ctx.opts.progress_interval.max(Duration::from_millis(1));
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(every);
            iv.tick().await;
            loop {
                iv.tick().await;
                cb(stats.progress());
            }
        })
    });

    let work = run(ctx.clone());
    let result = match ctx.opts.total_timeout {
        Some(t) => match tokio::time::timeout(t, work).await {
            Ok(r) => r,
            Err(_) => Err(ReelError::new(
                ErrorCode::SourceTimeout,
                format!("{} not finished within {t:?}", ctx.target),
            )),
        },
        None => work.await,
    };
    if let Some(t) = ticker {
        t.abort();
    }
    let retries = stats.retries.load(Ordering::Relaxed);
    let mut report = result.map_err(|e| client::with_retries(e, retries, started))?;
    if let Some(cb) = on_progress {
        cb(stats.progress());
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn run(ctx: Arc<Ctx>) -> Result<DownloadReport> {
    let mut restarts = 0;
    loop {
        let resume = Control::load_valid(&ctx.ctl, &ctx.part, &ctx.opts.url);
        if resume.is_none() {
            remove_if_exists(&ctx.part)?;
            remove_if_exists(&ctx.ctl)?;
        }
        match attempt(&ctx, resume).await {
            Ok(done) => return finish(&ctx, done, restarts).await,
            Err(AttemptErr::Fail(e)) => return Err(e),
            Err(AttemptErr::Changed) => {
                // Never mix versions: every byte of the old one goes.
                remove_if_exists(&ctx.part)?;
                remove_if_exists(&ctx.ctl)?;
                ctx.stats.downloaded.store(0, Ordering::Relaxed);
                restarts += 1;
                if restarts > ctx.opts.max_restarts {
                    return Err(ReelError::new(
                        ErrorCode::SourceChanged,
                        format!("{} changed {restarts} times during the download", ctx.target),
                    ));
                }
            }
        }
    }
}

/// One pass over one version of the source: the first request decides ranged or single-stream.
async fn attempt(ctx: &Arc<Ctx>, resume: Option<Control>) -> std::result::Result<Finished, AttemptErr> {
    let mut done = resume.as_ref().map(Control::done_set).unwrap_or_default();
    let (start, end) = match &resume {
        Some(c) => match done.gaps(c.total).first() {
            Some(&(a, b)) => (a, Some(b)),
            // Everything was fetched before the last run stopped; only verification is left.
            None => {
                ctx.stats.total.store(c.total, Ordering::Relaxed);
                ctx.stats.downloaded.store(c.total, Ordering::Relaxed);
                let identity = Identity {
                    etag: c.etag.clone(),
                    last_modified: c.last_modified.clone(),
                };
                return Ok(Finished {
                    total: c.total,
                    ranged: true,
                    connections_used: 0,
                    resumed: c.total,
                    identity,
                    steals: 0,
                });
            }
        },
        None => (0, None),
    };
    let identity = resume.as_ref().map(|c| Identity {
        etag: c.etag.clone(),
        last_modified: c.last_modified.clone(),
    });

    let mut h = HeaderMap::new();
    let range = match end {
        Some(e) => format!("bytes={start}-{}", e - 1),
        None => "bytes=0-".to_string(),
    };
    h.insert(RANGE, header(&range).expect("ascii"));
    if let Some(v) = identity.as_ref().and_then(|i| i.if_range()).and_then(header) {
        h.insert(IF_RANGE, v);
    }
    let resp = get_with_retries(ctx, h).await?;
    match resp.status() {
        StatusCode::PARTIAL_CONTENT => {
            let known = resume.as_ref().map(|c| c.total);
            let (total, got_end) = check_partial(resp.headers(), start, end, known, &ctx.target)?;
            if let Some(max) = ctx.opts.max_bytes.filter(|&m| total > m) {
                return Err(too_large(ctx, total, max).into());
            }
            let seen = Identity::from_headers(resp.headers());
            let identity = match identity {
                Some(id) if id.differs(&seen) => return Err(AttemptErr::Changed),
                Some(id) => id,
                None => seen,
            };
            let resumed = done.covered();
            ranged::run(
                ctx,
                resp,
                (start, got_end),
                total,
                identity,
                std::mem::take(&mut done),
                resumed,
            )
            .await
        }
        StatusCode::RANGE_NOT_SATISFIABLE if client::is_empty_resource(&resp) => {
            if resume.as_ref().is_some_and(|c| c.total != 0) {
                return Err(AttemptErr::Changed);
            }
            std::fs::File::create(&ctx.part)?;
            let identity = Identity::from_headers(resp.headers());
            Ok(Finished {
                total: 0,
                ranged: false,
                connections_used: 1,
                resumed: 0,
                identity,
                steals: 0,
            })
        }
        // A 200 to If-Range means the stored bytes are from another version.
        _ if resume.is_some() => Err(AttemptErr::Changed),
        _ => single::run(ctx, resp).await,
    }
}

/// A request with retries; used where no bytes have been taken from the response yet.
pub(crate) async fn get_with_retries(
    ctx: &Ctx,
    h: HeaderMap,
) -> std::result::Result<reqwest::Response, AttemptErr> {
    let mut tries = 0;
    loop {
        let res = tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(cancelled().into()),
            r = client::get(&ctx.net, &ctx.url, h.clone()) => r,
        };
        match res {
            Ok(r) => return Ok(r),
            Err(Fail::Permanent(e)) => return Err(e.into()),
            Err(Fail::Transient(e, ra)) => {
                if tries >= ctx.opts.max_retries {
                    return Err(e.into());
                }
                ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
                sleep_or_cancel(backoff(tries, ctx.opts.retry_base_delay, ra), &ctx.cancel).await?;
                tries += 1;
            }
        }
    }
}

pub(crate) fn too_large(ctx: &Ctx, size: u64, max: u64) -> ReelError {
    ReelError::new(
        ErrorCode::SourceTooLarge,
        format!("{} is larger than the cap of {max} bytes ({size}+)", ctx.target),
    )
}

/// Size and checksum checks, then `.part` becomes the destination and the control file goes.
async fn finish(ctx: &Arc<Ctx>, f: Finished, restarts: u32) -> Result<DownloadReport> {
    let on_disk = std::fs::metadata(&ctx.part)?.len();
    if on_disk != f.total {
        return Err(ReelError::new(
            ErrorCode::SizeMismatch,
            format!("{}: expected {} bytes, have {on_disk}", ctx.target, f.total),
        ));
    }
    let mut verified = None;
    if let Some(expected) = ctx.opts.checksum.clone() {
        let part = ctx.part.clone();
        let res =
            tokio::task::spawn_blocking(move || crate::hash::verify_file(&part, &expected).map(|_| expected))
                .await
                .map_err(|e| ReelError::new(ErrorCode::Io, format!("checksum task failed: {e}")))?;
        match res {
            Ok(c) => verified = Some(c.to_string()),
            Err(e) => {
                // The bytes are a complete copy of the wrong file: nothing worth resuming.
                let _ = std::fs::remove_file(&ctx.part);
                let _ = std::fs::remove_file(&ctx.ctl);
                return Err(e);
            }
        }
    }
    std::fs::rename(&ctx.part, &ctx.opts.dest)?;
    remove_if_exists(&ctx.ctl)?;
    Ok(DownloadReport {
        bytes: f.total,
        ranged: f.ranged,
        connections_used: f.connections_used,
        resumed_bytes: f.resumed,
        fetched_bytes: ctx.stats.fetched.load(Ordering::Relaxed),
        retries: ctx.stats.retries.load(Ordering::Relaxed),
        restarts,
        elapsed_ms: 0,
        etag: f.identity.etag,
        checksum: verified,
        steals: f.steals,
    })
}

pub(crate) fn remove_if_exists(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
