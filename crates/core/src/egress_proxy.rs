//! A loopback HTTP forward proxy that applies the egress guard, for programs Reel runs but does
//! not write (yt-dlp). They get `--proxy http://127.0.0.1:PORT`; every connection they ask for,
//! plain (absolute-form GET) or tunnelled (CONNECT for HTTPS), is resolved here, every resolved
//! address checked, and only an allowed address dialled — the same address that was checked, so a
//! name that rebinds between check and connect gains nothing.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::egress::EgressPolicy;
use crate::error::{ErrorCode, ReelError, Result};

const MAX_HEAD: usize = 16 * 1024;

pub struct EgressProxy {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl EgressProxy {
    /// `http://127.0.0.1:PORT`, for `--proxy`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for EgressProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the proxy on a free loopback port; it runs until `stop()` or drop.
pub async fn start_egress_proxy(policy: EgressPolicy, connect_timeout: Duration) -> Result<EgressProxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                accepted = listener.accept() => {
                    let Ok((client, _)) = accepted else { continue };
                    let policy = policy.clone();
                    let token = token.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = token.cancelled() => {}
                            _ = serve(client, policy, connect_timeout) => {}
                        }
                    });
                }
            }
        }
    });
    Ok(EgressProxy { addr, stop })
}

struct Request {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

async fn read_head(client: &mut TcpStream) -> std::io::Result<Option<(Vec<u8>, usize)>> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            return Ok(Some((buf, end + 4)));
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(head: &[u8]) -> Option<Request> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target, version) = (first.next()?, first.next()?, first.next()?);
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    Some(Request {
        method: method.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        headers,
    })
}

async fn refuse(client: &mut TcpStream, status: &str, body: &str) {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(resp.as_bytes()).await;
    let _ = client.shutdown().await;
}

/// Resolves `host:port`, keeps only the addresses the policy allows, and dials the first that
/// answers. IP literals (in any spelling the URL parser normalises) are checked as they are.
async fn dial(policy: &EgressPolicy, host: &str, port: u16, timeout: Duration) -> Result<TcpStream> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let candidates: Vec<SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| {
                ReelError::with_source(ErrorCode::SourceUnreachable, format!("cannot resolve {host}"), e)
            })?
            .collect(),
    };
    let mut denied = None;
    let mut last_err = None;
    for addr in candidates {
        if let Err(e) = policy.check_ip(addr.ip()) {
            denied = Some(e);
            continue;
        }
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => {
                last_err = Some(ReelError::with_source(
                    ErrorCode::SourceUnreachable,
                    format!("{host}:{port}: {e}"),
                    e,
                ))
            }
            Err(_) => {
                last_err = Some(ReelError::new(
                    ErrorCode::SourceTimeout,
                    format!("{host}:{port}: connect timed out"),
                ))
            }
        }
    }
    Err(last_err
        .or(denied)
        .unwrap_or_else(|| ReelError::new(ErrorCode::SourceUnreachable, format!("{host} has no address"))))
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map(|p| p.parse().ok())
            .unwrap_or(Some(default_port))?;
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((authority.to_string(), default_port)),
    }
}

async fn serve(mut client: TcpStream, policy: EgressPolicy, timeout: Duration) {
    let Ok(Some((buf, head_len))) = read_head(&mut client).await else {
        return;
    };
    let Some(req) = parse_head(&buf[..head_len]) else {
        return refuse(&mut client, "400 Bad Request", "malformed request").await;
    };
    let leftover = &buf[head_len..];

    if req.method.eq_ignore_ascii_case("CONNECT") {
        let Some((host, port)) = split_host_port(&req.target, 443) else {
            return refuse(&mut client, "400 Bad Request", "bad CONNECT target").await;
        };
        let mut upstream = match dial(&policy, &host, port, timeout).await {
            Ok(s) => s,
            Err(e) => return refuse_for(&mut client, e).await,
        };
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
        if !leftover.is_empty() && upstream.write_all(leftover).await.is_err() {
            return;
        }
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return;
    }

    // Absolute-form request for plain HTTP: http://host[:port]/path
    let Ok(url) = url::Url::parse(&req.target) else {
        return refuse(
            &mut client,
            "400 Bad Request",
            "a proxy request needs an absolute http:// URL",
        )
        .await;
    };
    if url.scheme() != "http" {
        return refuse(
            &mut client,
            "400 Bad Request",
            "only http:// is proxied in the clear; use CONNECT for https",
        )
        .await;
    }
    let Some(host) = url.host_str() else {
        return refuse(&mut client, "400 Bad Request", "URL has no host").await;
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let mut upstream = match dial(&policy, host, port, timeout).await {
        Ok(s) => s,
        Err(e) => return refuse_for(&mut client, e).await,
    };
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    // One request per connection: the next request may name another host, which must be checked.
    let mut head = format!("{} {} {}\r\n", req.method, path, req.version);
    for (k, v) in &req.headers {
        let lower = k.to_ascii_lowercase();
        if lower.starts_with("proxy-") || lower == "connection" || lower == "keep-alive" {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(head.as_bytes()).await.is_err() || upstream.write_all(leftover).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

async fn refuse_for(client: &mut TcpStream, e: ReelError) {
    match e.code {
        // The reason phrase names the policy so tools that print it (yt-dlp) let callers map it back.
        ErrorCode::EgressDenied => {
            refuse(client, "403 Forbidden by Reel egress policy", &e.to_string()).await
        }
        ErrorCode::SourceTimeout => refuse(client, "504 Gateway Timeout", &e.to_string()).await,
        _ => refuse(client, "502 Bad Gateway", &e.to_string()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_authorities() {
        assert_eq!(
            split_host_port("example.com:8443", 443),
            Some(("example.com".into(), 8443))
        );
        assert_eq!(
            split_host_port("example.com", 443),
            Some(("example.com".into(), 443))
        );
        assert_eq!(split_host_port("[::1]:80", 443), Some(("::1".into(), 80)));
        assert_eq!(split_host_port("[::1]", 443), Some(("::1".into(), 443)));
        assert_eq!(split_host_port("host:notaport", 443), None);
    }

    #[test]
    fn parses_a_request_head() {
        let r = parse_head(
            b"GET http://a.example/x?y=1 HTTP/1.1\r\nHost: a.example\r\nProxy-Authorization: z\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.target, "http://a.example/x?y=1");
        assert_eq!(r.headers.len(), 2);
    }
}
