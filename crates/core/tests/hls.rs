//! HLS VOD download against the local test server.

mod server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aes::cipher::{block_padding::Pkcs7, BlockEncryptMut, KeyIvInit};
use reel_core::error::ErrorCode;
use reel_core::{download_hls, EgressPolicy, HlsOptions};
use server::{sha256, test_data, Len, Reply, Server, TempDir};
use tokio_util::sync::CancellationToken;

fn opts(url: String, dest: std::path::PathBuf) -> HlsOptions {
    let mut o = HlsOptions::new(url, dest);
    o.egress = EgressPolicy::with_allow(&["127.0.0.1/32".into()]).unwrap();
    o.idle_timeout = Duration::from_secs(2);
    o.retry_base_delay = Duration::from_millis(10);
    o.concurrency = 4;
    o
}

fn media(segments: &[String], extra_head: &str, ended: bool) -> String {
    let mut s = format!("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n{extra_head}");
    for seg in segments {
        s.push_str(&format!("#EXTINF:4.0,\n{seg}\n"));
    }
    if ended {
        s.push_str("#EXT-X-ENDLIST\n");
    }
    s
}

/// Serves `n` segments under `prefix`; earlier segments answer later, so in-order output proves
/// the writer reorders. Returns their contents.
fn serve_segments(srv: &Server, prefix: &str, n: usize, seed: u64) -> Vec<Arc<Vec<u8>>> {
    let mut all = Vec::new();
    for i in 0..n {
        let data = test_data(10_000 + i * 1_000, seed + i as u64);
        all.push(data.clone());
        let delay = Duration::from_millis(((n - i) * 15) as u64);
        srv.route(&format!("{prefix}{i}.ts"), move |_| Reply {
            stall: Some(delay),
            body: data.clone(),
            range: (0, data.len()),
            ..Reply::status(200)
        });
    }
    all
}

#[tokio::test]
async fn picks_the_variant_for_the_target_height_and_writes_segments_in_order() {
    let srv = Server::start().await;
    srv.route("/master.m3u8", |_| {
        Reply::text(
            200,
            "#EXTM3U\n\
             #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nv360/index.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720,CODECS=\"avc1.4d401f,mp4a.40.2\"\nv720/index.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080\nv1080/index.m3u8\n",
        )
    });
    let names: Vec<String> = (0..12).map(|i| format!("seg{i}.ts")).collect();
    let pl = media(&names, "", true);
    srv.route("/v720/index.m3u8", move |_| Reply::text(200, &pl));
    let segs = serve_segments(&srv, "/v720/seg", 12, 100);
    let dir = TempDir::new("hls");
    let dest = dir.join("out.ts");
    let mut o = opts(srv.url("/master.m3u8"), dest.clone());
    o.target_height = Some(700);
    let rep = download_hls(o, None, CancellationToken::new()).await.unwrap();
    assert_eq!(rep.variant_height, Some(720));
    assert_eq!(rep.variant_bandwidth, Some(2_800_000));
    assert_eq!(rep.segments, 12);
    let expected: Vec<u8> = segs.iter().flat_map(|s| s.iter().copied()).collect();
    assert_eq!(sha256(&std::fs::read(&dest).unwrap()), sha256(&expected));
    assert_eq!(rep.bytes, expected.len() as u64);
    assert!(
        srv.connections.load(Ordering::SeqCst) > 1,
        "segments fetched in parallel"
    );
    assert!(!rep.encrypted);
}

#[tokio::test]
async fn without_a_target_the_highest_bandwidth_wins_and_above_all_the_tallest() {
    let srv = Server::start().await;
    srv.route("/m.m3u8", |_| {
        Reply::text(
            200,
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900,RESOLUTION=1920x1080\nhi.m3u8\n\
             #EXT-X-STREAM-INF:BANDWIDTH=5000,RESOLUTION=1280x720\nbig.m3u8\n",
        )
    });
    for name in ["hi", "big"] {
        let pl = media(&[format!("{name}-0.ts")], "", true);
        srv.route(&format!("/{name}.m3u8"), move |_| Reply::text(200, &pl));
        srv.route(&format!("/{name}-0.ts"), move |_| Reply::text(200, name));
    }
    let dir = TempDir::new("hls-choice");
    let rep = download_hls(
        opts(srv.url("/m.m3u8"), dir.join("a")),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(rep.variant_bandwidth, Some(5000));
    assert_eq!(std::fs::read(dir.join("a")).unwrap(), b"big");
    let mut o = opts(srv.url("/m.m3u8"), dir.join("b"));
    o.target_height = Some(2160);
    let rep = download_hls(o, None, CancellationToken::new()).await.unwrap();
    assert_eq!(rep.variant_height, Some(1080));
}

#[tokio::test]
async fn decrypts_aes_128_segments_with_tag_and_sequence_ivs() {
    let srv = Server::start().await;
    let key1 = [0x11u8; 16];
    let key2 = [0x22u8; 16];
    let tag_iv = [0xA5u8; 16];
    let key_hits = Arc::new(AtomicUsize::new(0));
    for (path, key) in [("/k1.key", key1), ("/k2.key", key2)] {
        let hits = key_hits.clone();
        srv.route(path, move |_| {
            hits.fetch_add(1, Ordering::SeqCst);
            Reply::bytes(key.to_vec())
        });
    }
    let mut plain_all = Vec::new();
    let mut pl = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-KEY:METHOD=AES-128,URI=\"k1.key\"\n");
    for i in 0..6u64 {
        if i == 3 {
            pl.push_str(&format!(
                "#EXT-X-KEY:METHOD=AES-128,URI=\"k2.key\",IV=0x{}\n",
                hex::encode(tag_iv)
            ));
        }
        pl.push_str(&format!("#EXTINF:4.0,\ns{i}.ts\n"));
        let plain = test_data(5000 + i as usize * 37, 200 + i);
        let (key, iv) = if i < 3 {
            (key1, ((5 + i) as u128).to_be_bytes())
        } else {
            (key2, tag_iv)
        };
        let enc = cbc::Encryptor::<aes::Aes128>::new(&key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(&plain);
        plain_all.extend_from_slice(&plain);
        srv.route(&format!("/s{i}.ts"), move |_| Reply::bytes(enc.clone()));
    }
    pl.push_str("#EXT-X-ENDLIST\n");
    srv.route("/enc.m3u8", move |_| Reply::text(200, &pl));
    let dir = TempDir::new("hls-aes");
    let dest = dir.join("out.ts");
    let rep = download_hls(
        opts(srv.url("/enc.m3u8"), dest.clone()),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(rep.encrypted);
    assert_eq!(std::fs::read(&dest).unwrap(), plain_all);
    assert_eq!(
        key_hits.load(Ordering::SeqCst),
        2,
        "each distinct key fetched once"
    );
}

#[tokio::test]
async fn fmp4_init_segment_is_written_first() {
    let srv = Server::start().await;
    let pl = media(
        &["a.m4s".into(), "b.m4s".into()],
        "#EXT-X-MAP:URI=\"init.mp4\"\n",
        true,
    );
    srv.route("/f.m3u8", move |_| Reply::text(200, &pl));
    srv.route("/init.mp4", |_| Reply::text(200, "INIT"));
    srv.route("/a.m4s", |_| Reply::text(200, "AAAA"));
    srv.route("/b.m4s", |_| Reply::text(200, "BBBB"));
    let dir = TempDir::new("hls-fmp4");
    let dest = dir.join("out.mp4");
    download_hls(
        opts(srv.url("/f.m3u8"), dest.clone()),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"INITAAAABBBB");
}

#[tokio::test]
async fn refuses_live_looping_bad_uri_oversized_and_sample_aes_playlists() {
    let srv = Server::start().await;
    let live = media(&["a.ts".into()], "", false);
    srv.route("/live.m3u8", move |_| Reply::text(200, &live));
    srv.route("/self.m3u8", |_| {
        Reply::text(200, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nself.m3u8\n")
    });
    srv.route("/a.m3u8", |_| {
        Reply::text(200, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nb.m3u8\n")
    });
    srv.route("/b.m3u8", |_| {
        Reply::text(200, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n")
    });
    let segself = media(&["segself.m3u8".into()], "", true);
    srv.route("/segself.m3u8", move |_| Reply::text(200, &segself));
    let passwd = media(&["ok.ts".into(), "file:///etc/passwd".into()], "", true);
    srv.route("/passwd.m3u8", move |_| Reply::text(200, &passwd));
    let data = media(&["ok.ts".into(), "data:video/mp2t;base64,AAAA".into()], "", true);
    srv.route("/data.m3u8", move |_| Reply::text(200, &data));
    let key = media(
        &["ok.ts".into()],
        "#EXT-X-KEY:METHOD=AES-128,URI=\"ftp://example.com/k\"\n",
        true,
    );
    srv.route("/ftpkey.m3u8", move |_| Reply::text(200, &key));
    let many = media(&(0..6).map(|i| format!("{i}.ts")).collect::<Vec<_>>(), "", true);
    srv.route("/many.m3u8", move |_| Reply::text(200, &many));
    let sample = media(
        &["ok.ts".into()],
        "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"k\"\n",
        true,
    );
    srv.route("/sample.m3u8", move |_| Reply::text(200, &sample));
    let ok_hits = Arc::new(AtomicUsize::new(0));
    let h = ok_hits.clone();
    srv.route("/ok.ts", move |_| {
        h.fetch_add(1, Ordering::SeqCst);
        Reply::text(200, "x")
    });

    let dir = TempDir::new("hls-bad");
    for (path, code) in [
        ("/live.m3u8", ErrorCode::HlsLive),
        ("/self.m3u8", ErrorCode::HlsLoop),
        ("/a.m3u8", ErrorCode::HlsLoop),
        ("/segself.m3u8", ErrorCode::HlsLoop),
        ("/passwd.m3u8", ErrorCode::HlsBadUri),
        ("/data.m3u8", ErrorCode::HlsBadUri),
        ("/ftpkey.m3u8", ErrorCode::HlsBadUri),
        ("/many.m3u8", ErrorCode::HlsTooManySegments),
        ("/sample.m3u8", ErrorCode::HlsUnsupported),
    ] {
        let dest = dir.join("out");
        let mut o = opts(srv.url(path), dest.clone());
        o.max_segments = 5;
        let e = download_hls(o, None, CancellationToken::new()).await.unwrap_err();
        assert_eq!(e.code, code, "{path}: {e}");
        assert!(!dest.exists() && !dir.join("out.part").exists(), "{path}");
    }
    assert_eq!(
        ok_hits.load(Ordering::SeqCst),
        0,
        "nothing is fetched before every URI is checked"
    );
}

#[tokio::test]
async fn segments_go_through_the_egress_guard() {
    let srv = Server::start().await;
    let pl = media(&["http://169.254.169.254/latest/meta-data/".into()], "", true);
    srv.route("/p.m3u8", move |_| Reply::text(200, &pl));
    let dir = TempDir::new("hls-egress");
    let e = download_hls(
        opts(srv.url("/p.m3u8"), dir.join("out")),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::EgressDenied);
}

#[tokio::test]
async fn a_failing_segment_is_retried() {
    let srv = Server::start().await;
    let pl = media(&["s.ts".into()], "", true);
    srv.route("/p.m3u8", move |_| Reply::text(200, &pl));
    let n = AtomicUsize::new(0);
    srv.route("/s.ts", move |_| {
        if n.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::text(503, "busy")
        } else {
            Reply::text(200, "segment")
        }
    });
    let dir = TempDir::new("hls-retry");
    let rep = download_hls(
        opts(srv.url("/p.m3u8"), dir.join("out")),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(rep.retries, 1);
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), b"segment");
}

/// Every file `download_hls` may leave beside `dest`: none after a failure.
fn leftovers(dir: &TempDir) -> Vec<String> {
    std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn the_whole_stream_counts_against_max_bytes_and_leaves_nothing() {
    let srv = Server::start().await;
    let segs: Vec<String> = (0..4).map(|i| format!("s{i}.ts")).collect();
    let pl = media(&segs, "", true);
    srv.route("/p.m3u8", move |_| Reply::text(200, &pl));
    // 10,000 + 11,000 + 12,000 + 13,000 bytes: each under the cap, the stream over it.
    serve_segments(&srv, "/s", 4, 40);
    let dir = TempDir::new("hls-cap");
    let mut o = opts(srv.url("/p.m3u8"), dir.join("out"));
    o.max_bytes = Some(30_000);
    let e = download_hls(o, None, CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceTooLarge, "{e}");
    assert!(e.message.contains("byte cap of 30000"), "{e}");
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    // Under the cap the same stream downloads whole.
    let mut o = opts(srv.url("/p.m3u8"), dir.join("out"));
    o.max_bytes = Some(46_000);
    let rep = download_hls(o, None, CancellationToken::new()).await.unwrap();
    assert_eq!(rep.bytes, 46_000);
    assert_eq!(leftovers(&dir), vec!["out".to_string()]);
}

#[tokio::test]
async fn a_segment_claiming_100_gb_is_refused_before_its_body() {
    let srv = Server::start().await;
    let pl = media(&["big.ts".into()], "", true);
    srv.route("/p.m3u8", move |_| Reply::text(200, &pl));
    srv.route("/big.ts", |_| Reply {
        len: Len::Value(100_000_000_000),
        stall: Some(Duration::from_secs(20)),
        ..Reply::text(200, "x")
    });
    let dir = TempDir::new("hls-claim");
    let mut o = opts(srv.url("/p.m3u8"), dir.join("out"));
    o.max_bytes = Some(1 << 30);
    let t = std::time::Instant::now();
    let e = download_hls(o, None, CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceTooLarge, "{e}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[tokio::test]
async fn a_stalled_segment_says_how_often_and_how_long_it_was_tried() {
    let srv = Server::start().await;
    let pl = media(&["s.ts".into()], "", true);
    srv.route("/p.m3u8", move |_| Reply::text(200, &pl));
    srv.route("/s.ts", |_| Reply {
        stall: Some(Duration::from_secs(20)),
        ..Reply::text(200, "segment")
    });
    let dir = TempDir::new("hls-stall");
    let mut o = opts(srv.url("/p.m3u8"), dir.join("out"));
    o.idle_timeout = Duration::from_millis(300);
    o.max_retries = 2;
    let e = download_hls(o, None, CancellationToken::new()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceTimeout, "{e}");
    assert!(e.message.contains("gave up after 2 retries, "), "{e}");
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}
