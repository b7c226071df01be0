//! Ranged mode: N connections write into a preallocated `.part` at their offsets as bytes arrive,
//! and a connection that runs out of work steals half of the largest range still in flight.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, IF_RANGE, RANGE};
use reqwest::{Response, StatusCode};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::client::{self, backoff, cancelled, header, next_chunk, sleep_or_cancel, Fail};
use super::ranges::{RangeSet, Scheduler};
use super::response::{check_partial, Identity};
use super::resume::{url_key, Control, CTL_VERSION};
use super::{AttemptErr, Ctx, Finished};
use crate::egress::redact;
use crate::error::{ErrorCode, ReelError};

/// Bytes gathered before one positioned write: large writes, bounded memory per connection.
const WRITE_BUF: usize = 128 * 1024;
/// The control file is rewritten at most this often; every write is recorded in memory at once.
const CTL_DEBOUNCE: Duration = Duration::from_millis(50);

struct Shared {
    ctx: Arc<Ctx>,
    file: File,
    total: u64,
    identity: Identity,
    sched: Mutex<Scheduler>,
    done: Mutex<DoneLog>,
    /// Stops the siblings when one worker fails for good or sees the source change.
    stop: CancellationToken,
}

struct DoneLog {
    set: RangeSet,
    last_store: Instant,
}

impl Shared {
    fn control(&self, set: &RangeSet) -> Control {
        Control {
            version: CTL_VERSION,
            url: redact(&self.ctx.url),
            url_sha256: url_key(&self.ctx.opts.url),
            total: self.total,
            etag: self.identity.etag.clone(),
            last_modified: self.identity.last_modified.clone(),
            done: set.ranges().to_vec(),
        }
    }

    /// Records `[a, b)` as on disk; rewrites the control file when the debounce allows.
    fn commit(&self, a: u64, b: u64, force: bool) {
        let mut d = self.done.lock().unwrap();
        d.set.insert(a, b);
        if force || d.last_store.elapsed() >= CTL_DEBOUNCE {
            // A failed store only costs refetching on resume; the download itself goes on.
            let _ = self.control(&d.set).store(&self.ctx.ctl);
            d.last_store = Instant::now();
        }
    }

    fn store_now(&self) {
        let d = self.done.lock().unwrap();
        let _ = self.control(&d.set).store(&self.ctx.ctl);
    }
}

pub(super) async fn run(
    ctx: &Arc<Ctx>,
    first: Response,
    first_range: (u64, u64),
    total: u64,
    identity: Identity,
    done: RangeSet,
    resumed: u64,
) -> Result<Finished, AttemptErr> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&ctx.part)?;
    if file.metadata()?.len() != total {
        // Sparse preallocation: every worker writes at its own offset, nothing is held in memory.
        file.set_len(total)?;
    }
    ctx.stats.total.store(total, Ordering::Relaxed);
    ctx.stats.downloaded.store(resumed, Ordering::Relaxed);
    let workers = ctx.opts.connections.min(ctx.opts.per_host_connections).max(1);
    let mut sched = Scheduler::new(done.gaps(total), workers, ctx.opts.min_split_size);
    sched.claim(0, first_range.0, first_range.1);
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        file,
        total,
        identity: identity.clone(),
        sched: Mutex::new(sched),
        done: Mutex::new(DoneLog {
            set: done,
            last_store: Instant::now(),
        }),
        stop: CancellationToken::new(),
    });
    // Written before any byte lands, so a kill from here on leaves a resumable pair.
    shared.store_now();

    let mut set = JoinSet::new();
    let mut first = Some(first);
    for slot in 0..workers {
        let sh = shared.clone();
        let resp = first.take();
        set.spawn(async move { worker(sh, slot, resp).await });
    }
    let mut used = 0;
    let mut failure: Option<AttemptErr> = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(fetched_any)) => used += fetched_any as usize,
            Ok(Err(e)) => {
                shared.stop.cancel();
                // The first real cause wins over the cancellations it caused in the siblings.
                let replace = match (&failure, &e) {
                    (None, _) => true,
                    (Some(AttemptErr::Fail(old)), AttemptErr::Changed) => old.code == ErrorCode::Cancelled,
                    (Some(AttemptErr::Fail(old)), AttemptErr::Fail(_)) => old.code == ErrorCode::Cancelled,
                    _ => false,
                };
                if replace {
                    failure = Some(e);
                }
            }
            Err(join) => {
                shared.stop.cancel();
                failure.get_or_insert(AttemptErr::Fail(ReelError::new(
                    ErrorCode::Io,
                    format!("download worker failed: {join}"),
                )));
            }
        }
    }
    shared.store_now();
    if ctx.cancel.is_cancelled() {
        return Err(cancelled().into());
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let covered = shared.done.lock().unwrap().set.covered();
    if covered != total {
        return Err(ReelError::new(
            ErrorCode::SizeMismatch,
            format!("{}: {covered} of {total} bytes arrived", ctx.target),
        )
        .into());
    }
    let steals = shared.sched.lock().unwrap().steals;
    Ok(Finished {
        total,
        ranged: true,
        connections_used: used.max(1),
        resumed,
        identity,
        steals,
    })
}

/// One connection: fetches its range, then asks for more until nothing is worth splitting.
/// Returns whether it fetched anything.
async fn worker(sh: Arc<Shared>, slot: usize, mut first: Option<Response>) -> Result<bool, AttemptErr> {
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_BUF.min(sh.ctx.opts.chunk_size as usize).max(16 * 1024));
    let mut fetched_any = false;
    loop {
        if first.is_none() && sh.sched.lock().unwrap().next(slot).is_none() {
            return Ok(fetched_any);
        }
        fetched_any = true;
        let mut failures = 0u32;
        loop {
            let (pos, end) = sh.sched.lock().unwrap().current(slot);
            if pos >= end {
                break;
            }
            let resp = match first.take() {
                Some(r) => Ok(r),
                None => request(&sh, pos, end).await,
            };
            let res = match resp {
                Ok(r) => {
                    sh.ctx.stats.active.fetch_add(1, Ordering::Relaxed);
                    let r = stream(&sh, slot, r, &mut buf).await;
                    sh.ctx.stats.active.fetch_sub(1, Ordering::Relaxed);
                    r
                }
                Err(e) => Err(e),
            };
            match res {
                Ok(()) => break,
                Err(StreamErr::Changed) => return Err(AttemptErr::Changed),
                Err(StreamErr::Fail(Fail::Permanent(e))) => return Err(e.into()),
                Err(StreamErr::Fail(Fail::Transient(e, ra))) => {
                    let progressed = sh.sched.lock().unwrap().current(slot).0 - pos;
                    // A connection that delivered a whole chunk before failing is flaky, not dead:
                    // start counting again. A trickle of a few bytes per attempt (slowloris) is not
                    // progress and runs out of retries.
                    failures = if progressed >= sh.ctx.opts.chunk_size {
                        0
                    } else {
                        failures + 1
                    };
                    if failures > sh.ctx.opts.max_retries {
                        return Err(e.into());
                    }
                    sh.ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = backoff(failures.saturating_sub(1), sh.ctx.opts.retry_base_delay, ra);
                    if sleep_or_cancel(wait, &sh.stop).await.is_err() || sh.ctx.cancel.is_cancelled() {
                        return Err(cancelled().into());
                    }
                }
            }
        }
    }
}

enum StreamErr {
    Changed,
    Fail(Fail),
}

impl From<Fail> for StreamErr {
    fn from(f: Fail) -> Self {
        StreamErr::Fail(f)
    }
}

impl From<ReelError> for StreamErr {
    fn from(e: ReelError) -> Self {
        StreamErr::Fail(Fail::Permanent(e))
    }
}

/// Asks for `[pos, end)` of the same version (If-Range), checking every header that matters.
async fn request(sh: &Shared, pos: u64, end: u64) -> Result<Response, StreamErr> {
    let mut h = HeaderMap::new();
    h.insert(RANGE, header(&format!("bytes={pos}-{}", end - 1)).expect("ascii"));
    if let Some(v) = sh.identity.if_range().and_then(header) {
        h.insert(IF_RANGE, v);
    }
    let resp = tokio::select! {
        _ = sh.stop.cancelled() => return Err(cancelled().into()),
        _ = sh.ctx.cancel.cancelled() => return Err(cancelled().into()),
        r = client::get(&sh.ctx.net, &sh.ctx.url, h) => r?,
    };
    if resp.status() != StatusCode::PARTIAL_CONTENT {
        // 200 to an If-Range request: the validator no longer matches, the source changed.
        return Err(StreamErr::Changed);
    }
    if sh.identity.differs(&Identity::from_headers(resp.headers())) {
        return Err(StreamErr::Changed);
    }
    match check_partial(resp.headers(), pos, Some(end), Some(sh.total), &sh.ctx.target) {
        Ok(_) => Ok(resp),
        // A different total under the same validators is another version too.
        Err(e) if e.message.contains("total") => Err(StreamErr::Changed),
        Err(e) => Err(e.into()),
    }
}

/// Streams one response into the file at the slot's offsets until the slot's (possibly shrunk)
/// end. Everything written is committed before returning, on success and on failure alike.
async fn stream(sh: &Shared, slot: usize, mut resp: Response, buf: &mut Vec<u8>) -> Result<(), StreamErr> {
    let cap = buf.capacity();
    buf.clear();
    let mut buf_at = sh.sched.lock().unwrap().current(slot).0;
    let mut committed = buf_at;
    let idle = sh.ctx.opts.idle_timeout;
    let result: Result<(), StreamErr> = loop {
        let next = tokio::select! {
            _ = sh.ctx.cancel.cancelled() => break Err(cancelled().into()),
            _ = sh.stop.cancelled() => break Err(cancelled().into()),
            n = next_chunk(&mut resp, idle, &sh.ctx.url) => n,
        };
        let bytes = match next {
            Err(f) => break Err(f.into()),
            Ok(None) => {
                let (pos, end) = sh.sched.lock().unwrap().current(slot);
                if pos < end {
                    // A short body is retried from where it stopped, never taken as the end.
                    break Err(Fail::Transient(
                        ReelError::new(
                            ErrorCode::SourceProtocol,
                            format!("{}: body ended {} bytes early", sh.ctx.target, end - pos),
                        ),
                        None,
                    )
                    .into());
                }
                break Ok(());
            }
            Ok(Some(b)) => b,
        };
        sh.ctx
            .stats
            .fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let (at, take, left) = {
            let mut s = sh.sched.lock().unwrap();
            let (at, take) = s.reserve(slot, bytes.len() as u64);
            let (pos, end) = s.current(slot);
            (at, take, end - pos)
        };
        if take > 0 {
            debug_assert_eq!(at, buf_at + buf.len() as u64);
            buf.extend_from_slice(&bytes[..take as usize]);
        }
        if buf.len() >= cap || left == 0 {
            if let Err(e) = flush(sh, buf, &mut buf_at) {
                break Err(e.into());
            }
            // Every write is recorded as soon as it is on disk (the control file itself is
            // rewritten at most every CTL_DEBOUNCE), so a kill loses at most one write buffer per
            // connection plus the debounce window, well inside one chunk per connection.
            sh.commit(committed, buf_at, false);
            committed = buf_at;
        }
        if left == 0 {
            // Done, or the rest was stolen: dropping the response closes this connection early.
            break Ok(());
        }
    };
    if let Err(e) = flush(sh, buf, &mut buf_at) {
        return Err(e.into());
    }
    if buf_at > committed {
        sh.commit(committed, buf_at, false);
    }
    result
}

fn flush(sh: &Shared, buf: &mut Vec<u8>, at: &mut u64) -> Result<(), ReelError> {
    if buf.is_empty() {
        return Ok(());
    }
    sh.file.write_all_at(buf, *at).map_err(|e| {
        ReelError::with_source(
            ErrorCode::Io,
            format!("cannot write {}", sh.ctx.part.display()),
            e,
        )
    })?;
    *at += buf.len() as u64;
    sh.ctx
        .stats
        .downloaded
        .fetch_add(buf.len() as u64, Ordering::Relaxed);
    buf.clear();
    Ok(())
}
