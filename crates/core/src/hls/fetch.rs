//! Bodies with the same guard, timeouts and retries as the file downloader: small ones (playlists,
//! keys, init segments) whole in memory under a size cap, segments streamed to a spool file so
//! memory stays bounded whatever their size. Byte-range requests (EXT-X-BYTERANGE) must be
//! answered with exactly the bytes asked for, of one version of the file, and a range cut off
//! mid-body resumes from its last byte on the next try.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use reqwest::header::{HeaderMap, RANGE};
use reqwest::{Response, StatusCode};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::playlist::ByteRange;
use crate::download::client::{
    self, backoff, content_length_of, header, next_chunk, sleep_or_cancel, Fail, Net,
};
use crate::download::response::{check_partial, Identity};
use crate::egress::redact;
use crate::error::{ErrorCode, ReelError, Result};

pub(crate) struct Fetcher<'a> {
    pub net: &'a Net,
    pub cancel: &'a CancellationToken,
    pub retries: &'a AtomicU32,
    /// The version (validators, size) each ranged resource answered first with: every later range
    /// of it must come from the same one, or the pieces would not fit together.
    pub versions: Mutex<HashMap<Url, (Identity, u64)>>,
}

/// The stream's byte budget: every segment's bytes count against one cap, as they arrive.
pub(crate) struct Budget {
    pub used: AtomicU64,
    pub max: u64,
}

impl Budget {
    /// Takes `n` bytes from the budget, or answers the total it would have reached.
    fn take(&self, n: u64) -> std::result::Result<(), u64> {
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        if before + n > self.max {
            self.used.fetch_sub(n, Ordering::Relaxed);
            return Err(before + n);
        }
        Ok(())
    }

    fn give_back(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }
}

fn too_large(url: &Url, what: &str, max: u64, n: u64) -> Fail {
    Fail::Permanent(ReelError::new(
        ErrorCode::SourceTooLarge,
        format!("{} is larger than the {what} of {max} bytes ({n}+)", redact(url)),
    ))
}

impl Fetcher<'_> {
    /// Retries `once` on transient failures, with the downloader's backoff.
    async fn with_retries<T, F, Fut>(&self, mut once: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, Fail>>,
    {
        let mut tries = 0;
        loop {
            let attempt = tokio::select! {
                _ = self.cancel.cancelled() => return Err(client::cancelled()),
                r = once() => r,
            };
            match attempt {
                Ok(v) => return Ok(v),
                Err(Fail::Permanent(e)) => return Err(e),
                Err(Fail::Transient(e, ra)) => {
                    if tries >= self.net.max_retries {
                        return Err(e);
                    }
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    sleep_or_cancel(backoff(tries, self.net.retry_base, ra), self.cancel).await?;
                    tries += 1;
                }
            }
        }
    }

    pub async fn bytes(&self, url: &Url, max: u64) -> Result<Vec<u8>> {
        self.with_retries(|| self.bytes_once(url, None, max)).await
    }

    /// A small body whole in memory: the resource, or the byte range of it when one is given.
    pub async fn bytes_in(&self, url: &Url, range: Option<ByteRange>, max: u64) -> Result<Vec<u8>> {
        if let Some(r) = range.filter(|r| r.len > max) {
            return Err(ReelError::new(
                ErrorCode::SourceTooLarge,
                format!(
                    "{} range of {} bytes is larger than the cap of {max} bytes",
                    redact(url),
                    r.len
                ),
            ));
        }
        self.with_retries(|| self.bytes_once(url, range, max)).await
    }

    async fn bytes_once(
        &self,
        url: &Url,
        range: Option<ByteRange>,
        max: u64,
    ) -> std::result::Result<Vec<u8>, Fail> {
        let mut resp = match range {
            Some(r) => self.get_range(url, r.offset, r.end()).await?,
            None => client::get(self.net, url, HeaderMap::new()).await?,
        };
        let announced = content_length_of(&resp);
        if let Some(n) = announced.filter(|&n| n > max) {
            return Err(too_large(url, "cap", max, n));
        }
        let mut out = Vec::with_capacity(announced.unwrap_or(64 * 1024).min(max) as usize);
        while let Some(chunk) = next_chunk(&mut resp, self.net.idle_timeout, url).await? {
            if (out.len() + chunk.len()) as u64 > max {
                return Err(too_large(url, "cap", max, (out.len() + chunk.len()) as u64));
            }
            out.extend_from_slice(&chunk);
        }
        check_complete(url, announced, out.len() as u64)?;
        Ok(out)
    }

    /// Streams one segment into `spool` (replaced on each try); answers its length. Its bytes
    /// count against `budget` as they arrive, so a stream over the cap stops mid-segment.
    pub async fn to_file(&self, url: &Url, max: u64, spool: &Path, budget: &Budget) -> Result<u64> {
        self.with_retries(|| self.to_file_once(url, max, spool, budget))
            .await
    }

    async fn to_file_once(
        &self,
        url: &Url,
        max: u64,
        spool: &Path,
        budget: &Budget,
    ) -> std::result::Result<u64, Fail> {
        let mut resp = client::get(self.net, url, HeaderMap::new()).await?;
        let announced = content_length_of(&resp);
        if let Some(n) = announced.filter(|&n| n > max) {
            return Err(too_large(url, "segment cap", max, n));
        }
        let room = budget.max.saturating_sub(budget.used.load(Ordering::Relaxed));
        if let Some(n) = announced.filter(|&n| n > room) {
            return Err(too_large(
                url,
                "source's byte cap",
                budget.max,
                budget.max - room + n,
            ));
        }
        let mut file = std::io::BufWriter::with_capacity(
            256 * 1024,
            std::fs::File::create(spool).map_err(ReelError::from)?,
        );
        let mut got = 0u64;
        let res = async {
            while let Some(chunk) = next_chunk(&mut resp, self.net.idle_timeout, url).await? {
                let n = chunk.len() as u64;
                if got + n > max {
                    return Err(too_large(url, "segment cap", max, got + n));
                }
                budget
                    .take(n)
                    .map_err(|total| too_large(url, "source's byte cap", budget.max, total))?;
                got += n;
                file.write_all(&chunk).map_err(ReelError::from)?;
            }
            file.flush().map_err(ReelError::from)?;
            check_complete(url, announced, got)
        }
        .await;
        if res.is_err() {
            // A retry starts the segment again: its bytes so far no longer count.
            budget.give_back(got);
        }
        res.map(|_| got)
    }
}

impl Fetcher<'_> {
    /// Asks for `[start, end)` and checks that the answer is exactly that, of the same version as
    /// every other range of this resource. A 200 (the server ignored Range) is refused: taking
    /// the whole file once per segment would multiply the bytes by the segment count.
    async fn get_range(&self, url: &Url, start: u64, end: u64) -> std::result::Result<Response, Fail> {
        let mut h = HeaderMap::new();
        h.insert(
            RANGE,
            header(&format!("bytes={start}-{}", end - 1)).expect("ascii"),
        );
        let resp = client::get(self.net, url, h).await?;
        let target = redact(url);
        if resp.status() != StatusCode::PARTIAL_CONTENT {
            return Err(Fail::Permanent(ReelError::new(
                ErrorCode::SourceProtocol,
                format!(
                    "{target} answered HTTP {} to a Range request: byte-range HLS needs a server that honours Range (bytes={start}-{})",
                    resp.status().as_u16(),
                    end - 1
                ),
            )));
        }
        let (total, _) = check_partial(resp.headers(), start, Some(end), None, &target)?;
        let id = Identity::from_headers(resp.headers());
        let mut versions = self.versions.lock().unwrap();
        let (first_id, first_total) = versions.entry(url.clone()).or_insert((id.clone(), total));
        if *first_total != total || first_id.differs(&id) {
            return Err(Fail::Permanent(ReelError::new(
                ErrorCode::SourceChanged,
                format!(
                    "{target} changed between range requests (size {first_total} then {total}, or its ETag/Last-Modified); try again"
                ),
            )));
        }
        drop(versions);
        Ok(resp)
    }

    /// Streams one byte range into `spool`. `got` counts the bytes already in the spool from
    /// earlier tries: a try that was cut off is resumed from there, not started again.
    pub async fn range_to_file(
        &self,
        url: &Url,
        range: ByteRange,
        spool: &Path,
        budget: &Budget,
    ) -> Result<u64> {
        let got = AtomicU64::new(0);
        self.with_retries(|| self.range_once(url, range, spool, budget, &got))
            .await?;
        Ok(range.len)
    }

    async fn range_once(
        &self,
        url: &Url,
        range: ByteRange,
        spool: &Path,
        budget: &Budget,
        got: &AtomicU64,
    ) -> std::result::Result<(), Fail> {
        let done = got.load(Ordering::Relaxed);
        let mut resp = self.get_range(url, range.offset + done, range.end()).await?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(spool)
            .map_err(ReelError::from)?;
        // Exactly the bytes counted so far stay: whatever a failed try wrote past them goes.
        file.set_len(done).map_err(ReelError::from)?;
        file.seek(SeekFrom::End(0)).map_err(ReelError::from)?;
        let mut file = std::io::BufWriter::with_capacity(256 * 1024, file);
        let res = async {
            while let Some(chunk) = next_chunk(&mut resp, self.net.idle_timeout, url).await? {
                let n = chunk.len() as u64;
                let have = got.load(Ordering::Relaxed);
                if have + n > range.len {
                    return Err(Fail::Permanent(ReelError::new(
                        ErrorCode::SourceProtocol,
                        format!(
                            "{}: sent more than the {} bytes of the range",
                            redact(url),
                            range.len
                        ),
                    )));
                }
                budget
                    .take(n)
                    .map_err(|total| too_large(url, "source's byte cap", budget.max, total))?;
                file.write_all(&chunk).map_err(ReelError::from)?;
                got.fetch_add(n, Ordering::Relaxed);
            }
            let left = range.len - got.load(Ordering::Relaxed);
            if left > 0 {
                return Err(Fail::Transient(
                    ReelError::new(
                        ErrorCode::SourceProtocol,
                        format!("{}: body ended {left} bytes early", redact(url)),
                    ),
                    None,
                ));
            }
            Ok(())
        }
        .await;
        // What arrived is kept for the next try; if it cannot be written, nothing can be resumed.
        file.flush().map_err(ReelError::from)?;
        res
    }
}

fn check_complete(url: &Url, announced: Option<u64>, got: u64) -> std::result::Result<(), Fail> {
    if announced.is_some_and(|n| n != got) {
        return Err(Fail::Transient(
            ReelError::new(
                ErrorCode::SourceProtocol,
                format!("{}: body was cut off", redact(url)),
            ),
            None,
        ));
    }
    Ok(())
}
