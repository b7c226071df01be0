//! The egress guard end to end: redirects, names resolving to internal addresses, odd spellings.

mod server;

use std::sync::atomic::Ordering;
use std::time::Duration;

use reel_core::download::{download, DownloadOptions};
use reel_core::error::ErrorCode;
use reel_core::EgressPolicy;
use server::{file_reply, test_data, Reply, Server, TempDir};
use tokio_util::sync::CancellationToken;

fn opts(url: String, dest: std::path::PathBuf, allow: &[&str]) -> DownloadOptions {
    let mut o = DownloadOptions::new(url, dest);
    o.egress = EgressPolicy::with_allow(&allow.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    o.connect_timeout = Duration::from_secs(2);
    o.idle_timeout = Duration::from_secs(2);
    o.retry_base_delay = Duration::from_millis(10);
    o
}

#[tokio::test]
async fn a_redirect_to_a_refused_address_is_denied() {
    // The source on 127.0.0.2 is allowlisted; it redirects to 127.0.0.1, which is not.
    let inner = Server::start().await;
    let data = test_data(10_000, 1);
    inner.route("/secret", move |r| file_reply(r, &data, None));
    let outer = Server::start_on("127.0.0.2:0").await;
    let target = inner.url("/secret");
    outer.route("/f", move |_| Reply::status(302).header("Location", &target));
    let dir = TempDir::new("redir");
    let e = download(
        opts(outer.url("/f"), dir.join("out"), &["127.0.0.2/32"]),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::EgressDenied, "{e}");
    assert_eq!(
        inner.requests.load(Ordering::SeqCst),
        0,
        "never connected to the refused address"
    );
}

#[tokio::test]
async fn a_redirect_to_file_scheme_is_refused() {
    let srv = Server::start().await;
    srv.route("/f", |_| {
        Reply::status(302).header("Location", "file:///etc/passwd")
    });
    let dir = TempDir::new("redir-file");
    let e = download(
        opts(srv.url("/f"), dir.join("out"), &["127.0.0.1/32"]),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e.code, ErrorCode::UnsupportedScheme | ErrorCode::SourceProtocol),
        "{e}"
    );
}

#[tokio::test]
async fn redirect_loops_stop_after_ten_hops() {
    let srv = Server::start().await;
    let again = srv.url("/loop");
    srv.route("/loop", move |_| Reply::status(302).header("Location", &again));
    let dir = TempDir::new("redir-loop");
    let e = download(
        opts(srv.url("/loop"), dir.join("out"), &["127.0.0.1/32"]),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::TooManyRedirects, "{e}");
    assert_eq!(srv.requests.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn allowed_redirects_are_followed() {
    let srv = Server::start().await;
    let data = test_data(50_000, 2);
    srv.route("/real", move |r| file_reply(r, &data, Some("\"e\"")));
    let real = srv.url("/real");
    srv.route("/f", move |_| Reply::status(301).header("Location", &real));
    let dir = TempDir::new("redir-ok");
    let rep = download(
        opts(srv.url("/f"), dir.join("out"), &["127.0.0.1/32"]),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(rep.bytes, 50_000);
}

#[tokio::test]
async fn names_resolving_to_internal_addresses_are_denied_without_connecting() {
    let srv = Server::start().await;
    let port = srv.addr.port();
    let dir = TempDir::new("names");
    let mut o = opts(format!("http://evil.test:{port}/f"), dir.join("out"), &[]);
    o.resolve = vec![("evil.test".into(), "10.0.0.1".parse().unwrap())];
    let e = download(o, None, CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::EgressDenied, "{e}");
    // evil.test -> 127.0.0.1 with no allowlist: the test server is never contacted.
    let mut o = opts(format!("http://evil.test:{port}/f"), dir.join("out"), &[]);
    o.resolve = vec![("evil.test".into(), "127.0.0.1".parse().unwrap())];
    let e = download(o, None, CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::EgressDenied, "{e}");
    let e = download(
        opts(format!("http://localhost:{port}/f"), dir.join("out"), &[]),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::EgressDenied, "{e}");
    assert_eq!(srv.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_allowlisted_name_override_reaches_the_server() {
    let srv = Server::start().await;
    let data = test_data(20_000, 3);
    srv.route("/f", move |r| file_reply(r, &data, None));
    let dir = TempDir::new("names-ok");
    let mut o = opts(
        format!("http://media.test:{}/f", srv.addr.port()),
        dir.join("out"),
        &["127.0.0.1/32"],
    );
    o.resolve = vec![("media.test".into(), "127.0.0.1".parse().unwrap())];
    assert_eq!(
        download(o, None, CancellationToken::new()).await.unwrap().bytes,
        20_000
    );
}

#[tokio::test]
async fn odd_ip_spellings_of_loopback_are_denied() {
    let srv = Server::start().await;
    let port = srv.addr.port();
    let dir = TempDir::new("odd");
    for host in [
        "0x7f000001",
        "2130706433",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "0.0.0.0",
    ] {
        let url = format!("http://{host}:{port}/f?token=SECRET");
        let e = download(opts(url, dir.join("out"), &[]), None, CancellationToken::new())
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::EgressDenied, "{host}: {e}");
        assert!(!e.to_string().contains("SECRET"));
    }
    assert_eq!(srv.connections.load(Ordering::SeqCst), 0);
    let e = download(
        opts("ftp://example.com/x".into(), dir.join("out"), &[]),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedScheme);
}

#[tokio::test]
async fn a_tls_failure_is_reported_as_such_and_not_retried() {
    // A plain-HTTP listener answering an https URL: the handshake fails.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = l.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let dir = TempDir::new("tls");
    let e = download(
        opts(
            format!("https://127.0.0.1:{port}/f"),
            dir.join("out"),
            &["127.0.0.1/32"],
        ),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceTls, "{e}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
