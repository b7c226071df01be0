//! The HTTP client shared by the downloader and HLS: one pooled reqwest client per call, requests
//! that go through the egress guard, error mapping to `REEL_*` codes, and the retry schedule.

use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Client, Response, StatusCode};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::egress::{redact, EgressPolicy, GuardedResolver};
use crate::error::{ErrorCode, ReelError, Result};

pub(crate) const MAX_REDIRECTS: usize = 10;
/// A server may ask for a long Retry-After; we wait at most this long per retry.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The network settings both entry points share.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub client: Client,
    pub egress: Arc<EgressPolicy>,
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_retries: u32,
    pub retry_base: Duration,
}

impl Net {
    #[allow(clippy::too_many_arguments)] // one call site per entry point, each naming every field
    pub fn new(
        egress: &EgressPolicy,
        resolve: &[(String, IpAddr)],
        connect_timeout: Duration,
        idle_timeout: Duration,
        max_retries: u32,
        retry_base: Duration,
        user_agent: &str,
        pool_per_host: usize,
    ) -> Result<Self> {
        let egress = Arc::new(egress.clone());
        let resolver = GuardedResolver {
            policy: egress.clone(),
            overrides: Arc::new(resolve.to_vec()),
        };
        let policy = egress.clone();
        // Every hop is re-checked: scheme, IP-literal host (names go through the resolver again).
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                let e = ReelError::new(
                    ErrorCode::TooManyRedirects,
                    format!(
                        "more than {MAX_REDIRECTS} redirects, last to {}",
                        redact(attempt.url())
                    ),
                );
                return attempt.error(e);
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let client = Client::builder()
            .dns_resolver(Arc::new(resolver))
            .redirect(redirect)
            .connect_timeout(connect_timeout)
            .no_proxy() // a proxy would connect on our behalf and bypass the address checks
            .user_agent(user_agent)
            .pool_max_idle_per_host(pool_per_host)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .referer(false)
            .build()
            .map_err(|e| ReelError::with_source(ErrorCode::Io, "cannot build HTTP client", e))?;
        Ok(Self {
            client,
            egress,
            idle_timeout,
            connect_timeout,
            max_retries,
            retry_base,
        })
    }
}

/// A failed attempt: permanent failures stop at once, transient ones are retried.
#[derive(Debug)]
pub(crate) enum Fail {
    Permanent(ReelError),
    Transient(ReelError, Option<Duration>),
}

impl From<ReelError> for Fail {
    fn from(e: ReelError) -> Self {
        Fail::Permanent(e)
    }
}

/// Finds a `ReelError` we put into reqwest (from the resolver or redirect policy) in an error chain.
fn find_reel<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a ReelError> {
    let mut cur: Option<&'a (dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<ReelError>() {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// True when the chain holds a rustls error. io::Error hides its inner error from `source()`,
/// so it is unwrapped explicitly.
fn is_tls(e: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<rustls::Error>() {
            return true;
        }
        cur = match err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    false
}

fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut s = String::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        s.push_str(&err.to_string().to_ascii_lowercase());
        s.push(' ');
        cur = err.source();
    }
    s
}

/// Maps a reqwest error to a code. reqwest's messages include the full URL, so we never pass its
/// text through: only our own redacted description.
pub(crate) fn map_reqwest(e: reqwest::Error, url: &Url) -> Fail {
    if let Some(r) = find_reel(&e) {
        return Fail::Permanent(ReelError::new(r.code, r.message.clone()));
    }
    let target = redact(url);
    let text = chain_text(&e);
    if is_tls(&e) || text.contains("certificate") || text.contains("tls handshake") {
        return Fail::Permanent(ReelError::new(
            ErrorCode::SourceTls,
            format!("TLS failure talking to {target}"),
        ));
    }
    if e.is_timeout() {
        return Fail::Transient(
            ReelError::new(ErrorCode::SourceTimeout, format!("timed out talking to {target}")),
            None,
        );
    }
    if e.is_redirect() {
        return Fail::Permanent(ReelError::new(
            ErrorCode::SourceProtocol,
            format!("bad redirect from {target}"),
        ));
    }
    if e.is_body() || e.is_decode() {
        return Fail::Transient(
            ReelError::new(
                ErrorCode::SourceProtocol,
                format!("body from {target} was cut off"),
            ),
            None,
        );
    }
    let what = if e.is_connect() {
        "cannot connect to"
    } else {
        "connection failed with"
    };
    Fail::Transient(
        ReelError::new(ErrorCode::SourceUnreachable, format!("{what} {target}")),
        None,
    )
}

/// Retry-After as seconds or an HTTP date, capped.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = httpdate::parse_http_date(v).ok()?;
        when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// Turns a non-success status into a failure with the right code and retry class.
pub(crate) fn check_status(resp: &Response, url: &Url) -> std::result::Result<(), Fail> {
    let st = resp.status();
    if st.is_success() || is_empty_resource(resp) {
        return Ok(());
    }
    let target = redact(url);
    let msg = format!("{target} answered HTTP {}", st.as_u16());
    Err(match st {
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            Fail::Permanent(ReelError::new(ErrorCode::SourceNotFound, msg))
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Fail::Permanent(ReelError::new(ErrorCode::SourceForbidden, msg))
        }
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => Fail::Transient(
            ReelError::new(ErrorCode::SourceHttp, msg),
            retry_after(resp.headers()),
        ),
        s if s.is_server_error() => Fail::Transient(
            ReelError::new(ErrorCode::SourceHttp, msg),
            retry_after(resp.headers()),
        ),
        s if s.is_redirection() => Fail::Permanent(ReelError::new(
            ErrorCode::SourceProtocol,
            format!("{msg} without a usable Location"),
        )),
        _ => Fail::Permanent(ReelError::new(ErrorCode::SourceHttp, msg)),
    })
}

/// A 416 with `Content-Range: bytes */0`: the resource exists and is empty, so every byte range
/// of it is unsatisfiable (RFC 9110 §14.4). Not an error: the download is an empty file.
pub(crate) fn is_empty_resource(resp: &Response) -> bool {
    resp.status() == StatusCode::RANGE_NOT_SATISFIABLE
        && resp
            .headers()
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "bytes */0")
}

/// Sends a GET through the guard: URL check, a deadline on the response head, the peer address
/// re-checked, status mapped. Redirects were checked hop by hop by the client's policy.
pub(crate) async fn get(net: &Net, url: &Url, headers: HeaderMap) -> std::result::Result<Response, Fail> {
    net.egress.check_url(url)?;
    let send = net.client.get(url.clone()).headers(headers).send();
    // Connect has its own timeout; a server that accepts and never answers is caught here.
    let head_deadline = net.connect_timeout + net.idle_timeout;
    let resp = match tokio::time::timeout(head_deadline, send).await {
        Err(_) => {
            return Err(Fail::Transient(
                ReelError::new(
                    ErrorCode::SourceTimeout,
                    format!("no response from {} within {head_deadline:?}", redact(url)),
                ),
                None,
            ))
        }
        Ok(Err(e)) => return Err(map_reqwest(e, url)),
        Ok(Ok(r)) => r,
    };
    // Defence against DNS rebinding: the address actually connected must pass too.
    if let Some(addr) = resp.remote_addr() {
        net.egress.check_ip(addr.ip())?;
    }
    check_status(&resp, resp.url())?;
    Ok(resp)
}

/// The Content-Length header as sent (reqwest's `content_length` reports the body's size hint).
pub(crate) fn content_length_of(resp: &Response) -> Option<u64> {
    resp.headers()
        .get(reqwest::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Says in a failure's message that it was retried, how often and for how long: a stalled source
/// otherwise reads as one timeout although the caller waited through every try.
pub(crate) fn with_retries(mut e: ReelError, retries: u32, started: std::time::Instant) -> ReelError {
    let retried = matches!(
        e.code,
        ErrorCode::SourceTimeout
            | ErrorCode::SourceUnreachable
            | ErrorCode::SourceHttp
            | ErrorCode::SourceProtocol
    );
    if retried && retries > 0 {
        e.message = format!(
            "{} (gave up after {retries} {}, {:.0} s in all)",
            e.message,
            if retries == 1 { "retry" } else { "retries" },
            started.elapsed().as_secs_f64()
        );
    }
    e
}

/// Reads the next body chunk, failing when nothing arrives for `idle`.
pub(crate) async fn next_chunk(
    resp: &mut Response,
    idle: Duration,
    url: &Url,
) -> std::result::Result<Option<bytes::Bytes>, Fail> {
    match tokio::time::timeout(idle, resp.chunk()).await {
        Err(_) => Err(Fail::Transient(
            ReelError::new(
                ErrorCode::SourceTimeout,
                format!("{} sent nothing for {idle:?}", redact(url)),
            ),
            None,
        )),
        Ok(Err(e)) => Err(map_reqwest(e, url)),
        Ok(Ok(c)) => Ok(c),
    }
}

static JITTER_STATE: AtomicU64 = AtomicU64::new(0);

/// A cheap random number in [0, 1) for jitter; cryptographic quality is not needed.
fn jitter_unit() -> f64 {
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut x = JITTER_STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ seed;
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Exponential backoff with jitter (half to full of the step), capped at 10 s; a server's
/// Retry-After wins when it is longer.
pub(crate) fn backoff(attempt: u32, base: Duration, retry_after: Option<Duration>) -> Duration {
    let step = base
        .saturating_mul(1u32 << attempt.min(16))
        .min(Duration::from_secs(10));
    let jittered = step.mul_f64(0.5 + 0.5 * jitter_unit());
    match retry_after {
        Some(ra) if ra > jittered => ra,
        _ => jittered,
    }
}

/// Sleeps for the backoff, or returns `REEL_CANCELLED` when cancelled first.
pub(crate) async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> Result<()> {
    tokio::select! {
        _ = cancel.cancelled() => Err(cancelled()),
        _ = tokio::time::sleep(d) => Ok(()),
    }
}

pub(crate) fn cancelled() -> ReelError {
    ReelError::new(ErrorCode::Cancelled, "cancelled by the caller")
}

pub(crate) fn header(v: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_caps() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("100000"));
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d <= Duration::from_secs(5) && d >= Duration::from_secs(3),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let base = Duration::from_millis(100);
        for a in 0..5 {
            let d = backoff(a, base, None);
            let step = base * (1 << a);
            assert!(d >= step / 2 && d <= step, "{a}: {d:?}");
        }
        assert!(backoff(30, base, None) <= Duration::from_secs(10));
        assert_eq!(
            backoff(0, base, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }
}
