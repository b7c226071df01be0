//! The guarded forward proxy: plain requests and CONNECT tunnels reach allowed addresses only.

use std::time::Duration;

use reel_core::egress::EgressPolicy;
use reel_core::egress_proxy::start_egress_proxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An origin on `ip` answering every request with `hello from <ip>`, one request per connection.
async fn origin(ip: &str) -> std::net::SocketAddr {
    let listener = TcpListener::bind(format!("{ip}:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ip = ip.to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let ip = ip.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&got).to_string();
                let body = format!(
                    "hello from {ip}; first line: {}",
                    head.lines().next().unwrap_or("")
                );
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    addr
}

async fn roundtrip(proxy: std::net::SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test]
async fn plain_request_to_an_allowed_address_is_forwarded_in_origin_form() {
    let o = origin("127.0.0.2").await;
    let proxy = start_egress_proxy(
        EgressPolicy::with_allow(&["127.0.0.2/32".into()]).unwrap(),
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let resp = roundtrip(
        proxy.addr,
        &format!("GET http://{o}/video?x=1 HTTP/1.1\r\nHost: {o}\r\nProxy-Authorization: secret\r\n\r\n"),
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.contains("hello from 127.0.0.2; first line: GET /video?x=1 HTTP/1.1"),
        "{resp}"
    );
}

#[tokio::test]
async fn plain_request_to_a_denied_address_never_connects() {
    let o = origin("127.0.0.1").await;
    let proxy = start_egress_proxy(
        EgressPolicy::with_allow(&["127.0.0.2/32".into()]).unwrap(),
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let resp = roundtrip(
        proxy.addr,
        &format!("GET http://{o}/ HTTP/1.1\r\nHost: {o}\r\n\r\n"),
    )
    .await;
    assert!(
        resp.starts_with("HTTP/1.1 403 Forbidden by Reel egress policy"),
        "{resp}"
    );
    assert!(resp.contains("REEL_EGRESS_DENIED"), "{resp}");
}

#[tokio::test]
async fn connect_tunnels_only_to_allowed_addresses() {
    let o = origin("127.0.0.2").await;
    let proxy = start_egress_proxy(
        EgressPolicy::with_allow(&["127.0.0.2/32".into()]).unwrap(),
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    // Allowed: the tunnel opens and carries bytes both ways.
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(format!("CONNECT {o} HTTP/1.1\r\nHost: {o}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 39];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200 Connection established\r\n\r\n");
    s.write_all(b"GET /through HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    assert!(String::from_utf8_lossy(&out).contains("first line: GET /through"));

    // Denied: metadata, loopback by name, private, odd spellings.
    for target in [
        "169.254.169.254:443",
        "localhost:443",
        "10.0.0.1:443",
        "[::1]:443",
        "0x7f000001:443",
    ] {
        let resp = roundtrip(
            proxy.addr,
            &format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"),
        )
        .await;
        assert!(
            resp.starts_with("HTTP/1.1 403 Forbidden by Reel egress policy")
                || resp.starts_with("HTTP/1.1 502"),
            "{target}: {resp}"
        );
        assert!(!resp.contains("200 Connection established"), "{target}: {resp}");
    }
}

#[tokio::test]
async fn refuses_non_http_schemes_and_garbage() {
    let proxy = start_egress_proxy(EgressPolicy::deny_internal(), Duration::from_secs(2))
        .await
        .unwrap();
    let resp = roundtrip(proxy.addr, "GET file:///etc/passwd HTTP/1.1\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    let resp = roundtrip(proxy.addr, "GET /relative HTTP/1.1\r\n\r\n").await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
}
