//! Whole small bodies (playlists, keys, segments) with the same guard, timeouts and retries as the
//! file downloader. Segments are held in memory, so every body has a size cap.

use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::header::HeaderMap;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::download::client::{self, backoff, content_length_of, next_chunk, sleep_or_cancel, Fail, Net};
use crate::egress::redact;
use crate::error::{ErrorCode, ReelError, Result};

pub(crate) struct Fetcher<'a> {
    pub net: &'a Net,
    pub cancel: &'a CancellationToken,
    pub retries: &'a AtomicU32,
}

impl Fetcher<'_> {
    pub async fn bytes(&self, url: &Url, max: u64) -> Result<Vec<u8>> {
        let mut tries = 0;
        loop {
            let attempt = tokio::select! {
                _ = self.cancel.cancelled() => return Err(client::cancelled()),
                r = self.once(url, max) => r,
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

    async fn once(&self, url: &Url, max: u64) -> std::result::Result<Vec<u8>, Fail> {
        let too_large = |n: u64| {
            Fail::Permanent(ReelError::new(
                ErrorCode::SourceTooLarge,
                format!("{} is larger than the cap of {max} bytes ({n}+)", redact(url)),
            ))
        };
        let mut resp = client::get(self.net, url, HeaderMap::new()).await?;
        let announced = content_length_of(&resp);
        if let Some(n) = announced.filter(|&n| n > max) {
            return Err(too_large(n));
        }
        let mut out = Vec::with_capacity(announced.unwrap_or(64 * 1024).min(max) as usize);
        while let Some(chunk) = next_chunk(&mut resp, self.net.idle_timeout, url).await? {
            if (out.len() + chunk.len()) as u64 > max {
                return Err(too_large((out.len() + chunk.len()) as u64));
            }
            out.extend_from_slice(&chunk);
        }
        if announced.is_some_and(|n| n != out.len() as u64) {
            return Err(Fail::Transient(
                ReelError::new(
                    ErrorCode::SourceProtocol,
                    format!("{}: body was cut off", redact(url)),
                ),
                None,
            ));
        }
        Ok(out)
    }
}
