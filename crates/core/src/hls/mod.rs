//! HLS VOD download: master playlist -> one variant -> its segments, fetched in parallel to spool
//! files beside the destination and appended in order into one file (AES-128 decrypted, fMP4 init
//! segment first), under one byte cap for the whole stream.

mod decrypt;
mod fetch;
mod playlist;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::download::client::{cancelled, with_retries, Net};
use crate::download::{remove_if_exists, Progress, ProgressFn};
use crate::egress::{redact, redact_str, EgressPolicy};
use crate::error::{ErrorCode, ReelError, Result};
use fetch::{Budget, Fetcher};
use playlist::{choose_variant, KeyMethod, Playlist, Segment};

/// Playlists and keys are small; a bigger answer is not a playlist.
const MAX_PLAYLIST_BYTES: u64 = 16 << 20;
const MAX_KEY_BYTES: u64 = 1024;
/// fMP4 init segments (EXT-X-MAP) are headers, held in memory and written once per change.
const MAX_INIT_BYTES: u64 = 16 << 20;
/// A master may point at another master; deeper nesting is refused.
const MAX_PLAYLIST_DEPTH: usize = 4;

#[derive(Debug, Clone)]
pub struct HlsOptions {
    pub url: String,
    pub dest: PathBuf,
    pub target_height: Option<u32>,
    pub concurrency: usize,
    pub max_segments: usize,
    /// One segment's size cap. Segments stream to disk, so this bounds disk, not memory.
    pub max_segment_bytes: u64,
    /// The whole stream's byte cap (segments and init segments), counted as bytes arrive.
    pub max_bytes: Option<u64>,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub total_timeout: Option<Duration>,
    pub max_retries: u32,
    pub retry_base_delay: Duration,
    pub egress: EgressPolicy,
    pub resolve: Vec<(String, std::net::IpAddr)>,
    pub progress_interval: Duration,
    pub user_agent: String,
}

impl HlsOptions {
    pub fn new(url: impl Into<String>, dest: impl Into<PathBuf>) -> Self {
        Self {
            url: url.into(),
            dest: dest.into(),
            target_height: None,
            concurrency: 8,
            max_segments: 20_000,
            max_segment_bytes: 4 << 30,
            max_bytes: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            total_timeout: None,
            max_retries: 5,
            retry_base_delay: Duration::from_millis(250),
            egress: EgressPolicy::deny_internal(),
            resolve: Vec::new(),
            progress_interval: Duration::from_millis(100),
            user_agent: concat!("reel/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HlsReport {
    pub segments: usize,
    pub bytes: u64,
    pub variant_height: Option<u32>,
    pub variant_bandwidth: Option<u64>,
    pub encrypted: bool,
    pub elapsed_ms: u64,
    pub retries: u32,
}

/// Downloads an HLS VOD stream into `opts.dest` (via `<dest>.part`, renamed when complete).
pub async fn download_hls(
    opts: HlsOptions,
    on_progress: Option<ProgressFn>,
    cancel: CancellationToken,
) -> Result<HlsReport> {
    let started = Instant::now();
    let url = opts.egress.parse_url(&opts.url)?;
    if opts.concurrency == 0 {
        return Err(ReelError::new(
            ErrorCode::InvalidArgument,
            "concurrency must be at least 1",
        ));
    }
    let net = Net::new(
        &opts.egress,
        &opts.resolve,
        opts.connect_timeout,
        opts.idle_timeout,
        opts.max_retries,
        opts.retry_base_delay,
        &opts.user_agent,
        opts.concurrency,
    )?;
    let written = Arc::new(AtomicU64::new(0));
    let active = Arc::new(AtomicUsize::new(0));
    let progress = {
        let (w, a) = (written.clone(), active.clone());
        move || Progress {
            downloaded: w.load(Ordering::Relaxed),
            total: None,
            active_connections: a.load(Ordering::Relaxed),
        }
    };
    let ticker = on_progress.clone().map(|cb| {
        let progress = progress.clone();
        let every = opts.progress_interval.max(Duration::from_millis(1));
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(every);
            iv.tick().await;
            loop {
                iv.tick().await;
                cb(progress());
            }
        })
    });
    let part = {
        let mut s = opts.dest.clone().into_os_string();
        s.push(".part");
        PathBuf::from(s)
    };
    let retries = AtomicU32::new(0);
    let work = run(&opts, &url, &net, &cancel, &part, &written, &active, &retries);
    let result = match opts.total_timeout {
        Some(t) => tokio::time::timeout(t, work).await.unwrap_or_else(|_| {
            Err(ReelError::new(
                ErrorCode::SourceTimeout,
                format!("{} not finished within {t:?}", redact(&url)),
            ))
        }),
        None => work.await,
    };
    if let Some(t) = ticker {
        t.abort();
    }
    let mut report = match result {
        Ok(r) => r,
        Err(e) => {
            // Segments cannot be resumed individually yet: a partial file is only clutter.
            let _ = remove_if_exists(&part);
            remove_spools(&part);
            return Err(with_retries(e, retries.load(Ordering::Relaxed), started));
        }
    };
    std::fs::rename(&part, &opts.dest)?;
    if let Some(cb) = on_progress {
        cb(progress());
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Where segment `i` waits between its fetch and its turn to be appended.
fn spool_path(part: &Path, i: usize) -> PathBuf {
    let mut s = part.as_os_str().to_owned();
    s.push(format!(".seg{i}"));
    PathBuf::from(s)
}

/// Removes every spool file a failed run left (those of segments in flight when it stopped).
fn remove_spools(part: &Path) {
    let (Some(dir), Some(name)) = (part.parent(), part.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.seg", name.to_string_lossy());
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Appends one spooled segment to the output, decrypting on the way when it has a key.
fn append(out: &mut impl Write, spool: &Path, len: u64, key: Option<(&[u8; 16], &[u8; 16])>) -> Result<u64> {
    let mut input = std::fs::File::open(spool)?;
    match key {
        Some((k, iv)) => decrypt::decrypt_stream(&mut input, len, out, k, iv),
        None => Ok(std::io::copy(&mut input, out)?),
    }
}

fn bad_uri(uri: &str, why: &str) -> ReelError {
    ReelError::new(ErrorCode::HlsBadUri, format!("URI {} {why}", redact_str(uri)))
}

/// Resolves a playlist reference and refuses anything but http(s), before anything is fetched.
fn resolve(base: &Url, reference: &str, egress: &EgressPolicy) -> Result<Url> {
    let u = base
        .join(reference)
        .map_err(|_| bad_uri(reference, "does not parse"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(ReelError::new(
            ErrorCode::HlsBadUri,
            format!("URI with scheme {:?} refused (only http and https)", u.scheme()),
        ));
    }
    egress.check_url(&u)?;
    Ok(u)
}

/// A segment ready to fetch: resolved URLs and the key material it needs.
struct Planned {
    url: Url,
    key: Option<(Url, [u8; 16])>,
    map: Option<Url>,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    opts: &HlsOptions,
    url: &Url,
    net: &Net,
    cancel: &CancellationToken,
    part: &std::path::Path,
    written: &AtomicU64,
    active: &AtomicUsize,
    retries: &AtomicU32,
) -> Result<HlsReport> {
    let fetcher = Fetcher { net, cancel, retries };
    let mut visited: HashSet<Url> = HashSet::new();
    let mut current = url.clone();
    let mut chosen = None;
    let media = loop {
        if !visited.insert(current.clone()) || visited.len() > MAX_PLAYLIST_DEPTH {
            return Err(ReelError::new(
                ErrorCode::HlsLoop,
                format!("playlist {} was already visited", redact(&current)),
            ));
        }
        let body = fetcher.bytes(&current, MAX_PLAYLIST_BYTES).await?;
        let text = String::from_utf8(body)
            .map_err(|_| ReelError::new(ErrorCode::HlsInvalid, "playlist is not UTF-8"))?;
        match playlist::parse(&text, opts.max_segments)? {
            Playlist::Master(variants) => {
                let v = choose_variant(&variants, opts.target_height)
                    .ok_or_else(|| ReelError::new(ErrorCode::HlsInvalid, "master playlist has no variants"))?
                    .clone();
                let next = resolve(&current, &v.uri, &opts.egress)?;
                if visited.contains(&next) {
                    return Err(ReelError::new(
                        ErrorCode::HlsLoop,
                        format!("playlist {} refers to itself", redact(&current)),
                    ));
                }
                chosen = Some(v);
                current = next;
            }
            Playlist::Media(m) => break m,
        }
    };
    if !media.ended {
        return Err(ReelError::new(
            ErrorCode::HlsLive,
            format!("{} has no #EXT-X-ENDLIST (live stream)", redact(&current)),
        ));
    }
    if media.segments.is_empty() {
        return Err(ReelError::new(
            ErrorCode::HlsInvalid,
            "media playlist has no segments",
        ));
    }

    // Every URI is checked before the first segment is fetched: a bad one fails the job cleanly.
    let mut planned_refs = Vec::with_capacity(media.segments.len());
    let mut key_urls: Vec<Url> = Vec::new();
    for seg in &media.segments {
        planned_refs.push(plan_refs(seg, &current, opts, &visited, &mut key_urls)?);
    }
    let mut keys: HashMap<Url, [u8; 16]> = HashMap::new();
    for k in &key_urls {
        let raw = fetcher.bytes(k, MAX_KEY_BYTES).await?;
        let key: [u8; 16] = raw.as_slice().try_into().map_err(|_| {
            ReelError::new(
                ErrorCode::HlsInvalid,
                format!("AES-128 key {} is {} bytes, not 16", redact(k), raw.len()),
            )
        })?;
        keys.insert(k.clone(), key);
    }
    let encrypted = !keys.is_empty();
    let planned: Vec<Planned> = planned_refs
        .into_iter()
        .map(|(url, key, map)| Planned { url, key, map })
        .collect();

    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(part)?);
    let mut current_map: Option<Url> = None;
    let mut maps: HashMap<Url, Vec<u8>> = HashMap::new();
    let budget = Budget {
        used: AtomicU64::new(0),
        max: opts.max_bytes.unwrap_or(u64::MAX),
    };
    let (fetcher, keys, budget) = (&fetcher, &keys, &budget);
    // `buffered` keeps at most `concurrency` segments in flight and yields them in playlist order;
    // each streams to its own spool file, so memory stays bounded whatever the segment size, and
    // the output is written sequentially. Owned URLs, not `&Planned`: a closure over borrowed
    // items makes the future higher-ranked over their lifetime, and then it cannot be proven Send
    // for the napi runtime.
    let fetches: Vec<(usize, Url)> = planned.iter().map(|p| p.url.clone()).enumerate().collect();
    let mut segments = stream::iter(fetches.into_iter().map(|(i, url)| async move {
        let spool = spool_path(part, i);
        active.fetch_add(1, Ordering::Relaxed);
        let r = fetcher
            .to_file(&url, opts.max_segment_bytes, &spool, budget)
            .await;
        active.fetch_sub(1, Ordering::Relaxed);
        r.map(|len| (spool, len))
    }))
    .buffered(opts.concurrency)
    .into_stream();
    let mut count = 0usize;
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return Err(cancelled()),
            n = segments.try_next() => n?,
        };
        let Some((spool, len)) = next else { break };
        let p = &planned[count];
        if p.map.is_some() && p.map != current_map {
            let m = p.map.clone().unwrap();
            if !maps.contains_key(&m) {
                let init = fetcher.bytes(&m, MAX_INIT_BYTES).await?;
                budget.used.fetch_add(init.len() as u64, Ordering::Relaxed);
                if budget.used.load(Ordering::Relaxed) > budget.max {
                    return Err(ReelError::new(
                        ErrorCode::SourceTooLarge,
                        format!(
                            "{} is larger than the source's byte cap of {} bytes",
                            redact(url),
                            budget.max
                        ),
                    ));
                }
                maps.insert(m.clone(), init);
            }
            out.write_all(&maps[&m])?;
            written.fetch_add(maps[&m].len() as u64, Ordering::Relaxed);
            current_map = Some(m);
        }
        let n = append(
            &mut out,
            &spool,
            len,
            p.key.as_ref().map(|(k, iv)| (&keys[k], iv)),
        )?;
        std::fs::remove_file(&spool)?;
        written.fetch_add(n, Ordering::Relaxed);
        count += 1;
    }
    out.flush()?;
    let v = chosen.as_ref();
    Ok(HlsReport {
        segments: count,
        bytes: written.load(Ordering::Relaxed),
        variant_height: v.and_then(|v| v.height),
        variant_bandwidth: v.and_then(|v| v.bandwidth),
        encrypted,
        elapsed_ms: 0,
        retries: retries.load(Ordering::Relaxed),
    })
}

type Refs = (Url, Option<(Url, [u8; 16])>, Option<Url>);

fn plan_refs(
    seg: &Segment,
    base: &Url,
    opts: &HlsOptions,
    visited: &HashSet<Url>,
    key_urls: &mut Vec<Url>,
) -> Result<Refs> {
    let url = resolve(base, &seg.uri, &opts.egress)?;
    if visited.contains(&url) {
        return Err(ReelError::new(
            ErrorCode::HlsLoop,
            format!("segment {} is a playlist already visited", redact(&url)),
        ));
    }
    let key = match &seg.key {
        None => None,
        Some(k) => match &k.method {
            KeyMethod::Aes128 => {
                let uri = k
                    .uri
                    .as_deref()
                    .ok_or_else(|| ReelError::new(ErrorCode::HlsInvalid, "AES-128 key without URI"))?;
                let ku = resolve(base, uri, &opts.egress)?;
                if !key_urls.contains(&ku) {
                    key_urls.push(ku.clone());
                }
                Some((ku, k.iv.unwrap_or_else(|| decrypt::sequence_iv(seg.seq))))
            }
            KeyMethod::SampleAes => {
                return Err(ReelError::new(
                    ErrorCode::HlsUnsupported,
                    "METHOD=SAMPLE-AES is not supported",
                ))
            }
            KeyMethod::Other(m) => {
                return Err(ReelError::new(
                    ErrorCode::HlsUnsupported,
                    format!("METHOD={m} is not supported"),
                ))
            }
        },
    };
    let map = seg
        .map
        .as_deref()
        .map(|m| resolve(base, m, &opts.egress))
        .transpose()?;
    Ok((url, key, map))
}
