//! The downloader against a local server that behaves and misbehaves.

mod server;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reel_core::download::{download, DownloadOptions, Progress};
use reel_core::error::ErrorCode;
use reel_core::hash::Checksum;
use reel_core::EgressPolicy;
use server::{file_reply, sha256, test_data, Len, Reply, Server, TempDir};
use tokio_util::sync::CancellationToken;

const KIB: usize = 1024;

fn opts(url: String, dest: std::path::PathBuf) -> DownloadOptions {
    let mut o = DownloadOptions::new(url, dest);
    o.egress = EgressPolicy::with_allow(&["127.0.0.1/32".into()]).unwrap();
    o.connect_timeout = Duration::from_secs(2);
    o.idle_timeout = Duration::from_secs(2);
    o.retry_base_delay = Duration::from_millis(10);
    o.min_split_size = 64 * KIB as u64;
    o.chunk_size = 64 * KIB as u64;
    o.connections = 4;
    o
}

fn file_sha(p: &std::path::Path) -> String {
    sha256(&std::fs::read(p).unwrap())
}

#[tokio::test]
async fn ranged_download_over_several_connections_is_byte_identical() {
    let srv = Server::start().await;
    let data = test_data(3 * 1024 * KIB + 123, 1);
    let d = data.clone();
    srv.route("/f", move |r| file_reply(r, &d, Some("\"v1\"")));
    let dir = TempDir::new("ranged");
    let dest = dir.join("out.bin");
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let cb: reel_core::download::ProgressFn = Arc::new(move |_p: Progress| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    let rep = download(
        opts(srv.url("/f"), dest.clone()),
        Some(cb),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(file_sha(&dest), sha256(&data));
    assert!(rep.ranged);
    assert_eq!(rep.bytes, data.len() as u64);
    assert!(rep.connections_used > 1, "{rep:?}");
    assert_eq!(rep.etag.as_deref(), Some("\"v1\""));
    assert!(
        calls.load(Ordering::SeqCst) >= 1,
        "a final progress call always comes"
    );
    assert!(!dir.join("out.bin.part").exists() && !dir.join("out.bin.reel-ctl").exists());
}

#[tokio::test]
async fn an_empty_source_answering_416_bytes_star_0_downloads_as_an_empty_file() {
    // nginx and most servers answer any range of an empty file with 416 and `bytes */0`.
    let srv = Server::start().await;
    srv.route("/empty", |_| {
        Reply::status(416).header("Content-Range", "bytes */0")
    });
    srv.route("/bad416", |_| {
        Reply::status(416).header("Content-Range", "bytes */100")
    });
    let dir = TempDir::new("empty");
    let dest = dir.join("out");
    let rep = download(
        opts(srv.url("/empty"), dest.clone()),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(rep.bytes, 0);
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), 0);
    assert!(!dir.join("out.reel-ctl").exists());
    // A 416 for a non-empty resource to `bytes=0-` is still an error.
    let err = download(
        opts(srv.url("/bad416"), dir.join("bad")),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::SourceHttp);
}

#[tokio::test]
async fn falls_back_to_one_stream_when_the_server_ignores_range() {
    let srv = Server::start().await;
    let data = test_data(700 * KIB, 2);
    let d = data.clone();
    srv.route("/f", move |_| Reply {
        body: d.clone(),
        range: (0, d.len()),
        ..Reply::status(200)
    });
    let dir = TempDir::new("norange");
    let dest = dir.join("out");
    let rep = download(opts(srv.url("/f"), dest.clone()), None, CancellationToken::new())
        .await
        .unwrap();
    assert!(!rep.ranged);
    assert_eq!(rep.connections_used, 1);
    assert_eq!(file_sha(&dest), sha256(&data));
    assert_eq!(srv.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn falls_back_to_one_stream_without_content_length() {
    let srv = Server::start().await;
    let data = test_data(300 * KIB, 3);
    let d = data.clone();
    srv.route("/f", move |_| Reply {
        body: d.clone(),
        range: (0, d.len()),
        len: Len::Omit,
        ..Reply::status(200)
    });
    let dir = TempDir::new("nolen");
    let dest = dir.join("out");
    let rep = download(opts(srv.url("/f"), dest.clone()), None, CancellationToken::new())
        .await
        .unwrap();
    assert!(!rep.ranged);
    assert_eq!(file_sha(&dest), sha256(&data));
}

#[tokio::test]
async fn max_bytes_caps_an_endless_body() {
    let srv = Server::start().await;
    let data = test_data(600 * KIB, 4);
    let d = data.clone();
    srv.route("/f", move |_| Reply {
        body: d.clone(),
        range: (0, d.len()),
        len: Len::Omit,
        ..Reply::status(200)
    });
    let dir = TempDir::new("cap");
    let mut o = opts(srv.url("/f"), dir.join("out"));
    o.max_bytes = Some(100 * KIB as u64);
    let e = download(o, None, CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceTooLarge);
}

#[tokio::test]
async fn a_wrong_content_range_start_is_a_protocol_error() {
    let srv = Server::start().await;
    let data = test_data(500 * KIB, 5);
    let d = data.clone();
    srv.route("/f", move |r| {
        let mut rep = file_reply(r, &d, Some("\"v\""));
        if rep.status == 206 {
            let (a, b) = rep.range;
            rep.headers.retain(|(k, _)| k != "Content-Range");
            rep.headers.push((
                "Content-Range".into(),
                format!("bytes {}-{}/{}", a + 1, b - 1, d.len()),
            ));
        }
        rep
    });
    let dir = TempDir::new("badcr");
    let dest = dir.join("out");
    let e = download(opts(srv.url("/f"), dest.clone()), None, CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceProtocol, "{e}");
    assert!(!dest.exists());
}

#[tokio::test]
async fn a_wrong_content_length_is_a_protocol_error() {
    let srv = Server::start().await;
    let data = test_data(500 * KIB, 6);
    let d = data.clone();
    srv.route("/f", move |r| {
        let mut rep = file_reply(r, &d, Some("\"v\""));
        rep.len = Len::Value((rep.range.1 - rep.range.0) as u64 + 10);
        rep.close = true;
        rep
    });
    let dir = TempDir::new("badcl");
    let e = download(
        opts(srv.url("/f"), dir.join("out")),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceProtocol, "{e}");
}

#[tokio::test]
async fn a_short_body_is_retried_from_where_it_stopped() {
    let srv = Server::start().await;
    let data = test_data(1024 * KIB, 7);
    let d = data.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    srv.route("/f", move |r| {
        let mut rep = file_reply(r, &d, Some("\"v\""));
        // The first three responses stop after 100 KiB and close the connection.
        if n2.fetch_add(1, Ordering::SeqCst) < 3 {
            rep.send_limit = Some(100 * KIB);
        }
        rep
    });
    let dir = TempDir::new("short");
    let dest = dir.join("out");
    let mut o = opts(srv.url("/f"), dest.clone());
    o.connections = 2;
    let rep = download(o, None, CancellationToken::new()).await.unwrap();
    assert_eq!(file_sha(&dest), sha256(&data));
    assert!(rep.retries >= 1, "{rep:?}");
    // Resumed from where each body stopped: far less than three whole refetches.
    assert!(
        rep.fetched_bytes < data.len() as u64 + 3 * 100 * KIB as u64 + 256 * KIB as u64,
        "{rep:?}"
    );
}

#[tokio::test]
async fn a_stalled_source_fails_with_timeout_quickly() {
    let srv = Server::start().await;
    let data = test_data(64 * KIB, 8);
    let (d1, d2) = (data.clone(), data.clone());
    srv.route("/stall", move |r| Reply {
        stall: Some(Duration::from_secs(20)),
        ..file_reply(r, &d1, None)
    });
    srv.route("/trickle", move |r| Reply {
        trickle: Some(Duration::from_millis(700)),
        ..file_reply(r, &d2, None)
    });
    srv.route("/nohead", |_| Reply {
        stall: Some(Duration::from_secs(20)),
        ..Reply::status(200)
    });
    let dir = TempDir::new("stall");
    for path in ["/stall", "/trickle"] {
        let mut o = opts(srv.url(path), dir.join("out"));
        o.idle_timeout = Duration::from_millis(300);
        o.max_retries = 1;
        let t = Instant::now();
        let e = download(o, None, CancellationToken::new()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::SourceTimeout, "{path}: {e}");
        assert!(e.message.contains("gave up after 1 retry, "), "{path}: {e}");
        assert!(t.elapsed() < Duration::from_secs(5), "{path}: {:?}", t.elapsed());
    }
    // Total timeout bounds even a source that keeps sending a little.
    let mut o = opts(srv.url("/trickle"), dir.join("out2"));
    o.idle_timeout = Duration::from_secs(5);
    o.total_timeout = Some(Duration::from_millis(500));
    let e = download(o, None, CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceTimeout);
}

#[tokio::test]
async fn retries_429_honouring_retry_after_and_503() {
    let srv = Server::start().await;
    let data = test_data(200 * KIB, 9);
    for (path, status) in [("/429", 429u16), ("/503", 503)] {
        let d = data.clone();
        let n = Arc::new(AtomicUsize::new(0));
        srv.route(path, move |r| {
            if n.fetch_add(1, Ordering::SeqCst) < 2 {
                Reply::text(status, "busy").header("Retry-After", "1")
            } else {
                file_reply(r, &d, Some("\"v\""))
            }
        });
    }
    let dir = TempDir::new("retry");
    for path in ["/429", "/503"] {
        let dest = dir.join(&path[1..]);
        let t = Instant::now();
        let rep = download(opts(srv.url(path), dest.clone()), None, CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(file_sha(&dest), sha256(&data));
        assert_eq!(rep.retries, 2, "{path}");
        assert!(
            t.elapsed() >= Duration::from_millis(1900),
            "Retry-After honoured: {:?}",
            t.elapsed()
        );
    }
}

#[tokio::test]
async fn not_found_and_forbidden_fail_at_once() {
    let srv = Server::start().await;
    srv.route("/403", |_| Reply::text(403, "no"));
    let dir = TempDir::new("404");
    let e = download(
        opts(srv.url("/missing?token=SECRET"), dir.join("out")),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceNotFound);
    assert!(!e.to_string().contains("SECRET"), "{e}");
    assert_eq!(srv.requests.load(Ordering::SeqCst), 1, "no retries");
    let e = download(
        opts(srv.url("/403"), dir.join("out")),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceForbidden);
}

#[tokio::test]
async fn a_source_that_changes_mid_download_restarts_cleanly_with_the_new_version() {
    let srv = Server::start().await;
    let old = test_data(2048 * KIB, 10);
    let new = test_data(2048 * KIB, 11);
    let (o2, n2) = (old.clone(), new.clone());
    let count = Arc::new(AtomicUsize::new(0));
    srv.route("/f", move |r| {
        // The first two requests see v1, then the file is replaced by v2.
        if count.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply {
                rate: Some(4 * 1024 * 1024),
                ..file_reply(r, &o2, Some("\"v1\""))
            }
        } else {
            file_reply(r, &n2, Some("\"v2\""))
        }
    });
    let dir = TempDir::new("changed");
    let dest = dir.join("out");
    let rep = download(opts(srv.url("/f"), dest.clone()), None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(file_sha(&dest), sha256(&new), "never a mix of versions");
    assert_eq!(rep.restarts, 1);
    assert_eq!(rep.etag.as_deref(), Some("\"v2\""));
}

#[tokio::test]
async fn a_source_that_keeps_changing_fails_with_source_changed() {
    let srv = Server::start().await;
    let data = test_data(1024 * KIB, 12);
    let count = Arc::new(AtomicUsize::new(0));
    srv.route("/f", move |r| {
        let v = count.fetch_add(1, Ordering::SeqCst);
        Reply {
            rate: Some(8 * 1024 * 1024),
            ..file_reply(r, &data, Some(&format!("\"v{v}\"")))
        }
    });
    let dir = TempDir::new("changing");
    let mut o = opts(srv.url("/f"), dir.join("out"));
    o.max_restarts = 2;
    let e = download(o, None, CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceChanged);
}

#[tokio::test]
async fn idle_connections_steal_work_from_a_slow_one() {
    let srv = Server::start().await;
    let data = test_data(4096 * KIB, 13);
    let d = data.clone();
    srv.route("/f", move |r| {
        // The first connection is slow; the others are fast and must take its work.
        let rate = if r.conn == 0 { 256 * 1024 } else { 16 * 1024 * 1024 };
        Reply {
            rate: Some(rate),
            ..file_reply(r, &d, Some("\"v\""))
        }
    });
    let dir = TempDir::new("steal");
    let dest = dir.join("out");
    let t = Instant::now();
    let rep = download(opts(srv.url("/f"), dest.clone()), None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(file_sha(&dest), sha256(&data));
    // Three steals split the first range four ways; more mean idle connections took work later.
    assert!(rep.steals > 3, "{rep:?}");
    assert!(srv.requests.load(Ordering::SeqCst) > 4);
    // Without stealing the slow connection's quarter alone would take 4 s.
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[tokio::test]
async fn never_splits_below_the_minimum_split_size() {
    let srv = Server::start().await;
    let data = test_data(100 * KIB, 14);
    let d = data.clone();
    srv.route("/f", move |r| file_reply(r, &d, Some("\"v\"")));
    let dir = TempDir::new("minsplit");
    let dest = dir.join("out");
    let mut o = opts(srv.url("/f"), dest.clone());
    o.min_split_size = 64 * KIB as u64; // 100 KiB < 2 x 64 KiB: one range only
    o.connections = 8;
    let rep = download(o, None, CancellationToken::new()).await.unwrap();
    assert_eq!(rep.steals, 0);
    assert_eq!(srv.requests.load(Ordering::SeqCst), 1);
    assert_eq!(file_sha(&dest), sha256(&data));
}

#[tokio::test]
async fn per_host_cap_limits_connections() {
    let srv = Server::start().await;
    let data = test_data(2048 * KIB, 15);
    let d = data.clone();
    srv.route("/f", move |r| Reply {
        rate: Some(4 * 1024 * 1024),
        ..file_reply(r, &d, Some("\"v\""))
    });
    let dir = TempDir::new("cap");
    let mut o = opts(srv.url("/f"), dir.join("out"));
    o.connections = 16;
    o.per_host_connections = 2;
    let peak = Arc::new(AtomicUsize::new(0));
    let p = peak.clone();
    o.progress_interval = Duration::from_millis(5);
    let cb: reel_core::download::ProgressFn = Arc::new(move |pr: Progress| {
        p.fetch_max(pr.active_connections, Ordering::SeqCst);
    });
    let rep = download(o, Some(cb), CancellationToken::new()).await.unwrap();
    assert!(rep.connections_used <= 2, "{rep:?}");
    assert!(peak.load(Ordering::SeqCst) <= 2);
}

#[tokio::test]
async fn a_cancelled_download_resumes_fetching_only_what_was_missing() {
    let srv = Server::start().await;
    let data = test_data(2048 * KIB, 16);
    let d = data.clone();
    srv.route("/f", move |r| Reply {
        rate: Some(1024 * 1024),
        ..file_reply(r, &d, Some("\"v\""))
    });
    let dir = TempDir::new("resume");
    let dest = dir.join("out");
    let total = data.len() as u64;
    let cancel = CancellationToken::new();
    let (c2, at_cancel) = (cancel.clone(), Arc::new(AtomicU64::new(0)));
    let a2 = at_cancel.clone();
    let mut o = opts(srv.url("/f"), dest.clone());
    o.progress_interval = Duration::from_millis(10);
    let cb: reel_core::download::ProgressFn = Arc::new(move |p: Progress| {
        if p.downloaded >= total / 2 && !c2.is_cancelled() {
            a2.store(p.downloaded, Ordering::SeqCst);
            c2.cancel();
        }
    });
    let e = download(o.clone(), Some(cb), cancel).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Cancelled);
    assert!(dir.join("out.reel-ctl").exists() && dir.join("out.part").exists());
    assert!(!dest.exists());

    let rep = download(o.clone(), None, CancellationToken::new()).await.unwrap();
    assert_eq!(file_sha(&dest), sha256(&data));
    let slack = o.connections as u64 * o.chunk_size;
    assert!(
        rep.resumed_bytes + slack >= at_cancel.load(Ordering::SeqCst),
        "{rep:?}"
    );
    assert!(
        rep.fetched_bytes <= slack + (total - rep.resumed_bytes),
        "{rep:?}"
    );
    assert!(rep.fetched_bytes < total * 3 / 4, "{rep:?}");
}

#[tokio::test]
async fn a_stale_or_corrupt_control_file_is_discarded() {
    let srv = Server::start().await;
    let data = test_data(512 * KIB, 17);
    let d = data.clone();
    srv.route("/f", move |r| file_reply(r, &d, Some("\"v\"")));
    let dir = TempDir::new("stale");
    let dest = dir.join("out");
    // Garbage control file next to a .part full of wrong bytes.
    std::fs::write(dir.join("out.part"), vec![0xAAu8; data.len()]).unwrap();
    std::fs::write(dir.join("out.reel-ctl"), b"{\"version\": 1, \"total\": tru").unwrap();
    let rep = download(opts(srv.url("/f"), dest.clone()), None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(rep.resumed_bytes, 0);
    assert_eq!(file_sha(&dest), sha256(&data));
    // A well-formed control file from another version (ETag differs) is not trusted either.
    std::fs::remove_file(&dest).unwrap();
    std::fs::write(dir.join("out.part"), vec![0xAAu8; data.len()]).unwrap();
    let ctl = serde_json::json!({
        "version": 1, "url": "x", "url_sha256": sha256(srv.url("/f").as_bytes()), "total": data.len(),
        "etag": "\"old\"", "last_modified": null, "done": [[0, data.len() / 2]]
    });
    std::fs::write(dir.join("out.reel-ctl"), ctl.to_string()).unwrap();
    let rep = download(opts(srv.url("/f"), dest.clone()), None, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(rep.restarts, 1);
    assert_eq!(rep.resumed_bytes, 0);
    assert_eq!(file_sha(&dest), sha256(&data));
}

#[tokio::test]
async fn checksum_mismatch_leaves_no_destination_file() {
    let srv = Server::start().await;
    let data = test_data(300 * KIB, 18);
    let d = data.clone();
    srv.route("/f", move |r| file_reply(r, &d, Some("\"v\"")));
    let dir = TempDir::new("sum");
    let dest = dir.join("out");
    let mut o = opts(srv.url("/f"), dest.clone());
    o.checksum = Some(Checksum::parse(&format!("sha256:{}", "0".repeat(64))).unwrap());
    let e = download(o.clone(), None, CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::ChecksumMismatch);
    assert!(!dest.exists() && !dir.join("out.part").exists());
    o.checksum = Some(Checksum::parse(&format!("sha256:{}", sha256(&data))).unwrap());
    let rep = download(o, None, CancellationToken::new()).await.unwrap();
    assert_eq!(rep.checksum, Some(format!("sha256:{}", sha256(&data))));
}

#[tokio::test]
async fn cancellation_is_prompt() {
    let srv = Server::start().await;
    let data = test_data(1024 * KIB, 19);
    let d = data.clone();
    srv.route("/f", move |r| Reply {
        trickle: Some(Duration::from_millis(50)),
        ..file_reply(r, &d, Some("\"v\""))
    });
    let dir = TempDir::new("cancel");
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c2.cancel();
    });
    let t = Instant::now();
    let e = download(opts(srv.url("/f"), dir.join("out")), None, cancel)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Cancelled);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_capped_answer_to_an_open_range_is_completed_with_more_ranges() {
    let srv = Server::start().await;
    let data = test_data(1000 * KIB, 20);
    let d = data.clone();
    srv.route("/f", move |r| {
        // Like servers that cap open-ended ranges: `bytes=0-` gets only the first 128 KiB.
        let open = r.header("range").is_some_and(|v| v.ends_with('-'));
        let mut rep = file_reply(r, &d, Some("\"v\""));
        if open && rep.status == 206 {
            let (a, b) = (rep.range.0, rep.range.0 + 128 * KIB);
            rep.range = (a, b);
            rep.headers.retain(|(k, _)| k != "Content-Range");
            rep.headers
                .push(("Content-Range".into(), format!("bytes {a}-{}/{}", b - 1, d.len())));
        }
        rep
    });
    let dir = TempDir::new("capped");
    let dest = dir.join("out");
    let rep = download(opts(srv.url("/f"), dest.clone()), None, CancellationToken::new())
        .await
        .unwrap();
    assert!(rep.ranged);
    assert_eq!(file_sha(&dest), sha256(&data));
}
