//! HLS VOD download: master playlist -> one variant -> its segments, fetched in parallel to spool
//! files beside the destination and appended in order into one file (AES-128 decrypted, fMP4 init
//! segment first), under one byte cap for the whole stream. Byte-range segments (single-file HLS)
//! that follow each other in one file are fetched together in bounded range requests.

mod decrypt;
mod fetch;
mod plan;
mod playlist;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};
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
use playlist::{choose_variant, ByteRange, KeyMethod, Media, Playlist, Segment, Variant};

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
    /// Byte-range segments that follow each other in one file are fetched together, in range
    /// requests of at most this many bytes (fewer when that spreads the file over more connections).
    pub max_range_request_bytes: u64,
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
            max_range_request_bytes: plan::MAX_RANGE_REQUEST_BYTES,
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
    /// The segment requests made: fewer than `segments` when byte ranges were coalesced.
    pub requests: usize,
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
    // The output's size when the playlist says it up front (0 until then, or when it cannot).
    let total = Arc::new(AtomicU64::new(0));
    let progress = {
        let (w, a, t) = (written.clone(), active.clone(), total.clone());
        move || Progress {
            downloaded: w.load(Ordering::Relaxed),
            total: Some(t.load(Ordering::Relaxed)).filter(|&n| n > 0),
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
    let counters = Counters {
        written: &written,
        active: &active,
        total: &total,
        retries: &retries,
    };
    let work = run(&opts, &url, &net, &cancel, &part, counters);
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

/// Appends one segment, `len` bytes at `at` in its request's spool file, to the output,
/// decrypting on the way when it has a key.
fn append(
    out: &mut impl Write,
    spool: &Path,
    at: u64,
    len: u64,
    key: Option<(&[u8; 16], &[u8; 16])>,
) -> Result<u64> {
    let mut input = std::fs::File::open(spool)?;
    input.seek(SeekFrom::Start(at))?;
    let mut input = input.take(len);
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
    range: Option<ByteRange>,
    key: Option<(Url, [u8; 16])>,
    map: Option<MapKey>,
}

/// An init segment: its resource and, for single-file fMP4, the byte range of it.
type MapKey = (Url, Option<ByteRange>);

/// Follows master playlists down to the media playlist; answers it, its URL, the variant chosen
/// on the way and every playlist visited (a segment may not be one of them).
async fn resolve_media(
    opts: &HlsOptions,
    url: &Url,
    fetcher: &Fetcher<'_>,
) -> Result<(Media, Url, Option<Variant>, HashSet<Url>)> {
    let mut visited: HashSet<Url> = HashSet::new();
    let mut current = url.clone();
    let mut chosen = None;
    loop {
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
            Playlist::Media(m) => return Ok((m, current, chosen, visited)),
        }
    }
}

async fn fetch_keys(fetcher: &Fetcher<'_>, key_urls: &[Url]) -> Result<HashMap<Url, [u8; 16]>> {
    let mut keys = HashMap::new();
    for k in key_urls {
        let raw = fetcher.bytes(k, MAX_KEY_BYTES).await?;
        let key: [u8; 16] = raw.as_slice().try_into().map_err(|_| {
            ReelError::new(
                ErrorCode::HlsInvalid,
                format!("AES-128 key {} is {} bytes, not 16", redact(k), raw.len()),
            )
        })?;
        keys.insert(k.clone(), key);
    }
    Ok(keys)
}

/// Byte ranges say their size before anything is fetched: a segment over the segment cap, or
/// ranges adding up to more than the stream's cap, are refused up front.
fn check_ranged_sizes(planned: &[Planned], opts: &HlsOptions) -> Result<u64> {
    let mut total = 0u64;
    for p in planned {
        let Some(r) = p.range else { continue };
        if r.len > opts.max_segment_bytes {
            return Err(ReelError::new(
                ErrorCode::SourceTooLarge,
                format!(
                    "{} has a {}-byte range, larger than the segment cap of {} bytes",
                    redact(&p.url),
                    r.len,
                    opts.max_segment_bytes
                ),
            ));
        }
        total = total.saturating_add(r.len);
    }
    if let Some(max) = opts.max_bytes.filter(|&m| total > m) {
        return Err(ReelError::new(
            ErrorCode::SourceTooLarge,
            format!("the playlist's byte ranges add up to {total} bytes, over the source's byte cap of {max} bytes"),
        ));
    }
    Ok(total)
}

/// What a download reports while it runs: bytes written, requests in flight, the expected total
/// (0: unknown) and the retries so far.
#[derive(Clone, Copy)]
struct Counters<'a> {
    written: &'a AtomicU64,
    active: &'a AtomicUsize,
    total: &'a AtomicU64,
    retries: &'a AtomicU32,
}

/// The output's size, known before anything is fetched when every segment and init section is a
/// byte range and nothing is encrypted (decryption drops padding); `None` otherwise.
fn known_total(planned: &[Planned]) -> Option<u64> {
    let mut total = 0u64;
    let mut current_map: Option<&MapKey> = None;
    for p in planned {
        if p.key.is_some() {
            return None;
        }
        if let Some(m) = p.map.as_ref().filter(|m| Some(*m) != current_map) {
            total += m.1?.len;
            current_map = Some(m);
        }
        total += p.range?.len;
    }
    Some(total)
}

async fn run(
    opts: &HlsOptions,
    url: &Url,
    net: &Net,
    cancel: &CancellationToken,
    part: &std::path::Path,
    counters: Counters<'_>,
) -> Result<HlsReport> {
    let Counters {
        written,
        active,
        total,
        retries,
    } = counters;
    let fetcher = Fetcher {
        net,
        cancel,
        retries,
        versions: Default::default(),
    };
    let (media, current, chosen, visited) = resolve_media(opts, url, &fetcher).await?;
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
    let mut planned = Vec::with_capacity(media.segments.len());
    let mut key_urls: Vec<Url> = Vec::new();
    for seg in &media.segments {
        planned.push(plan_refs(seg, &current, opts, &visited, &mut key_urls)?);
    }
    let ranged_bytes = check_ranged_sizes(&planned, opts)?;
    total.store(known_total(&planned).unwrap_or(0), Ordering::Relaxed);
    let keys = fetch_keys(&fetcher, &key_urls).await?;
    let cap = plan::request_cap(ranged_bytes, opts.concurrency, opts.max_range_request_bytes);
    let by_resource: Vec<(&Url, Option<ByteRange>)> = planned.iter().map(|p| (&p.url, p.range)).collect();
    let requests = plan::coalesce(&by_resource, cap);
    let stream = Stream {
        opts,
        fetcher: &fetcher,
        part,
        written,
        active,
        budget: Budget {
            used: AtomicU64::new(0),
            max: opts.max_bytes.unwrap_or(u64::MAX),
        },
    };
    let count = stream.write(&planned, &requests, &keys, url).await?;
    let v = chosen.as_ref();
    Ok(HlsReport {
        segments: count,
        requests: requests.len(),
        bytes: written.load(Ordering::Relaxed),
        variant_height: v.and_then(|v| v.height),
        variant_bandwidth: v.and_then(|v| v.bandwidth),
        encrypted: !keys.is_empty(),
        elapsed_ms: 0,
        retries: retries.load(Ordering::Relaxed),
    })
}

/// The fetch-and-append half of a download: requests in flight to spool files, their segments
/// appended to the output in playlist order.
struct Stream<'a> {
    opts: &'a HlsOptions,
    fetcher: &'a Fetcher<'a>,
    part: &'a Path,
    written: &'a AtomicU64,
    active: &'a AtomicUsize,
    budget: Budget,
}

impl Stream<'_> {
    /// Fetches one request into its spool file; answers the spool and its length.
    async fn fetch(&self, i: usize, url: Url, range: Option<ByteRange>) -> Result<(PathBuf, u64)> {
        let spool = spool_path(self.part, i);
        self.active.fetch_add(1, Ordering::Relaxed);
        let r = match range {
            Some(r) => self.fetcher.range_to_file(&url, r, &spool, &self.budget).await,
            None => {
                self.fetcher
                    .to_file(&url, self.opts.max_segment_bytes, &spool, &self.budget)
                    .await
            }
        };
        self.active.fetch_sub(1, Ordering::Relaxed);
        r.map(|len| (spool, len))
    }

    async fn write(
        &self,
        planned: &[Planned],
        requests: &[plan::Request],
        keys: &HashMap<Url, [u8; 16]>,
        url: &Url,
    ) -> Result<usize> {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(self.part)?);
        let mut current_map: Option<MapKey> = None;
        let mut maps: HashMap<MapKey, Vec<u8>> = HashMap::new();
        // `buffered` keeps at most `concurrency` requests in flight and yields them in playlist
        // order; each streams to its own spool file, so memory stays bounded whatever the segment
        // size, and the output is written sequentially. Owned URLs, not `&Planned`: a closure over
        // borrowed items makes the future higher-ranked over their lifetime, and then it cannot
        // be proven Send for the napi runtime.
        let fetches: Vec<(usize, Url, Option<ByteRange>)> = requests
            .iter()
            .enumerate()
            .map(|(i, r)| (i, planned[r.segments.start].url.clone(), r.range))
            .collect();
        let mut fetched = stream::iter(fetches.into_iter().map(|(i, u, r)| self.fetch(i, u, r)))
            .buffered(self.opts.concurrency)
            .into_stream();
        let mut count = 0usize;
        for req in requests {
            let next = tokio::select! {
                _ = self.fetcher.cancel.cancelled() => return Err(cancelled()),
                n = fetched.try_next() => n?,
            };
            let Some((spool, len)) = next else { break };
            for p in &planned[req.segments.clone()] {
                if p.map.is_some() && p.map != current_map {
                    let m = p.map.clone().unwrap();
                    if !maps.contains_key(&m) {
                        maps.insert(m.clone(), self.fetch_map(&m, url).await?);
                    }
                    out.write_all(&maps[&m])?;
                    self.written.fetch_add(maps[&m].len() as u64, Ordering::Relaxed);
                    current_map = Some(m);
                }
                // A segment's bytes within its request's spool: all of it, or its range's share.
                let (at, seg_len) = match (p.range, req.range) {
                    (Some(r), Some(whole)) => (r.offset - whole.offset, r.len),
                    _ => (0, len),
                };
                let key = p.key.as_ref().map(|(k, iv)| (&keys[k], iv));
                let n = append(&mut out, &spool, at, seg_len, key)?;
                self.written.fetch_add(n, Ordering::Relaxed);
                count += 1;
            }
            std::fs::remove_file(&spool)?;
        }
        out.flush()?;
        Ok(count)
    }

    /// An init segment, in memory: it is written again wherever the map changes back to it.
    async fn fetch_map(&self, m: &MapKey, url: &Url) -> Result<Vec<u8>> {
        let init = self.fetcher.bytes_in(&m.0, m.1, MAX_INIT_BYTES).await?;
        let budget = &self.budget;
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
        Ok(init)
    }
}

fn plan_refs(
    seg: &Segment,
    base: &Url,
    opts: &HlsOptions,
    visited: &HashSet<Url>,
    key_urls: &mut Vec<Url>,
) -> Result<Planned> {
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
        .as_ref()
        .map(|m| resolve(base, &m.uri, &opts.egress).map(|u| (u, m.range)))
        .transpose()?;
    Ok(Planned {
        url,
        range: seg.range,
        key,
        map,
    })
}
