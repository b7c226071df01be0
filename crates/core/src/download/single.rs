//! Single-stream mode, for servers that ignore Range or do not say how big the file is. It cannot
//! resume, so a failure mid-body starts the body again from byte 0.

use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use reqwest::header::HeaderMap;
use reqwest::Response;

use super::client::{backoff, cancelled, next_chunk, sleep_or_cancel, Fail};
use super::response::{content_length, Identity};
use super::{get_with_retries, remove_if_exists, too_large, AttemptErr, Ctx, Finished};
use crate::error::{ErrorCode, ReelError};

const WRITE_BUF: usize = 1 << 20;

pub(super) async fn run(ctx: &Arc<Ctx>, first: Response) -> Result<Finished, AttemptErr> {
    // Nothing here is resumable: a control file would only mislead a later run.
    remove_if_exists(&ctx.ctl)?;
    let identity = Identity::from_headers(first.headers());
    let mut first = Some(first);
    let mut failures = 0u32;
    let mut buf = Vec::with_capacity(WRITE_BUF);
    loop {
        let resp = match first.take() {
            Some(r) => r,
            None => get_with_retries(ctx, HeaderMap::new()).await?,
        };
        match body(ctx, resp, &mut buf).await {
            Ok(total) => {
                return Ok(Finished {
                    total,
                    ranged: false,
                    connections_used: 1,
                    resumed: 0,
                    identity,
                    steals: 0,
                });
            }
            Err(Fail::Permanent(e)) => return Err(e.into()),
            Err(Fail::Transient(e, ra)) => {
                failures += 1;
                if failures > ctx.opts.max_retries {
                    return Err(e.into());
                }
                ctx.stats.retries.fetch_add(1, Ordering::Relaxed);
                sleep_or_cancel(backoff(failures - 1, ctx.opts.retry_base_delay, ra), &ctx.cancel).await?;
            }
        }
    }
}

/// Writes one whole body to `.part` from offset 0; returns its length.
async fn body(ctx: &Ctx, mut resp: Response, buf: &mut Vec<u8>) -> Result<u64, Fail> {
    let announced = content_length(resp.headers());
    if let (Some(len), Some(max)) = (announced, ctx.opts.max_bytes) {
        if len > max {
            return Err(Fail::Permanent(too_large(ctx, len, max)));
        }
    }
    ctx.stats
        .total
        .store(announced.unwrap_or(u64::MAX), Ordering::Relaxed);
    ctx.stats.downloaded.store(0, Ordering::Relaxed);
    let file = std::fs::File::create(&ctx.part).map_err(ReelError::from)?;
    let mut written = 0u64;
    buf.clear();
    let max = ctx.opts.max_bytes.unwrap_or(u64::MAX);
    ctx.stats.active.fetch_add(1, Ordering::Relaxed);
    let res = loop {
        let next = tokio::select! {
            _ = ctx.cancel.cancelled() => break Err(Fail::Permanent(cancelled())),
            n = next_chunk(&mut resp, ctx.opts.idle_timeout, &ctx.url) => n,
        };
        match next {
            Err(f) => break Err(f),
            Ok(None) => break Ok(()),
            Ok(Some(b)) => {
                ctx.stats.fetched.fetch_add(b.len() as u64, Ordering::Relaxed);
                if written + (buf.len() + b.len()) as u64 > max {
                    break Err(Fail::Permanent(too_large(
                        ctx,
                        written + (buf.len() + b.len()) as u64,
                        max,
                    )));
                }
                buf.extend_from_slice(&b);
                if buf.len() >= WRITE_BUF {
                    if let Err(e) = file.write_all_at(buf, written) {
                        break Err(Fail::Permanent(e.into()));
                    }
                    written += buf.len() as u64;
                    ctx.stats.downloaded.store(written, Ordering::Relaxed);
                    buf.clear();
                }
            }
        }
    };
    ctx.stats.active.fetch_sub(1, Ordering::Relaxed);
    res?;
    if !buf.is_empty() {
        file.write_all_at(buf, written).map_err(ReelError::from)?;
        written += buf.len() as u64;
        buf.clear();
    }
    ctx.stats.downloaded.store(written, Ordering::Relaxed);
    if let Some(len) = announced {
        if written != len {
            return Err(Fail::Transient(
                ReelError::new(
                    ErrorCode::SourceProtocol,
                    format!("{}: got {written} of {len} bytes", ctx.target),
                ),
                None,
            ));
        }
    }
    ctx.stats.total.store(written, Ordering::Relaxed);
    Ok(written)
}
