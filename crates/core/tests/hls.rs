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

/// Serves `data` at `path` with Range support, recording each request's Range header ("" without).
fn serve_ranged(srv: &Server, path: &str, data: Arc<Vec<u8>>) -> Arc<std::sync::Mutex<Vec<String>>> {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    srv.route(path, move |req| {
        log.lock()
            .unwrap()
            .push(req.header("range").unwrap_or("").to_string());
        server::file_reply(req, &data, Some("\"v1\""))
    });
    seen
}

/// A single-file playlist: `n` segments of `len` bytes from `start` in `uri`. Only the first range
/// has an offset when `offsets` is false (each continues from the one before).
fn single_file(uri: &str, start: u64, n: u64, len: u64, offsets: bool, head: &str) -> String {
    let mut s = format!("#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:4\n{head}");
    for i in 0..n {
        let at = if offsets || i == 0 {
            format!("@{}", start + i * len)
        } else {
            String::new()
        };
        s.push_str(&format!("#EXTINF:4.0,\n#EXT-X-BYTERANGE:{len}{at}\n{uri}\n"));
    }
    s + "#EXT-X-ENDLIST\n"
}

#[tokio::test]
async fn byte_range_segments_of_one_file_come_in_few_parallel_range_requests() {
    let srv = Server::start().await;
    let data = test_data(120_000, 7);
    for (name, offsets) in [("with", true), ("without", false)] {
        let pl = single_file("all.ts", 0, 12, 10_000, offsets, "");
        srv.route(&format!("/{name}.m3u8"), move |_| Reply::text(200, &pl));
    }
    let dir = TempDir::new("hls-ranges");
    for name in ["with", "without"] {
        let seen = serve_ranged(&srv, "/all.ts", data.clone());
        let dest = dir.join(&format!("{name}.ts"));
        let mut o = opts(srv.url(&format!("/{name}.m3u8")), dest.clone());
        // 120,000 bytes over 4 connections: 30,000 a request, three segments each.
        o.max_range_request_bytes = 32_000;
        let last = Arc::new(std::sync::Mutex::new(None));
        let l = last.clone();
        let on_progress: reel_core::download::ProgressFn = Arc::new(move |p| *l.lock().unwrap() = Some(p));
        let rep = download_hls(o, Some(on_progress), CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), *data, "{name}");
        // The ranges say the size up front, so progress has a total.
        let p = last.lock().unwrap().unwrap();
        assert_eq!((p.downloaded, p.total), (120_000, Some(120_000)), "{name}");
        assert_eq!((rep.segments, rep.requests), (12, 4), "{name}");
        let mut ranges = seen.lock().unwrap().clone();
        ranges.sort_by_key(|r| r.len());
        assert_eq!(
            ranges,
            [
                "bytes=0-29999",
                "bytes=30000-59999",
                "bytes=60000-89999",
                "bytes=90000-119999"
            ],
            "{name}"
        );
    }
    assert_eq!(leftovers(&dir).len(), 2);
}

#[tokio::test]
async fn encrypted_byte_ranges_decrypt_segment_by_segment_inside_one_request() {
    let srv = Server::start().await;
    let key = [0x33u8; 16];
    srv.route("/k.key", move |_| Reply::bytes(key.to_vec()));
    let (mut file, mut plain_all, mut pl) = (
        Vec::new(),
        Vec::new(),
        String::from("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-KEY:METHOD=AES-128,URI=\"k.key\"\n"),
    );
    for i in 0..5u64 {
        let plain = test_data(3000 + i as usize * 101, 300 + i);
        let enc = cbc::Encryptor::<aes::Aes128>::new(&key.into(), &((3 + i) as u128).to_be_bytes().into())
            .encrypt_padded_vec_mut::<Pkcs7>(&plain);
        pl.push_str(&format!(
            "#EXTINF:4.0,\n#EXT-X-BYTERANGE:{}@{}\nenc.ts\n",
            enc.len(),
            file.len()
        ));
        file.extend_from_slice(&enc);
        plain_all.extend_from_slice(&plain);
    }
    pl.push_str("#EXT-X-ENDLIST\n");
    srv.route("/e.m3u8", move |_| Reply::text(200, &pl));
    let seen = serve_ranged(&srv, "/enc.ts", Arc::new(file));
    let dir = TempDir::new("hls-ranges-aes");
    let dest = dir.join("out.ts");
    let rep = download_hls(
        opts(srv.url("/e.m3u8"), dest.clone()),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(rep.encrypted);
    assert_eq!((rep.segments, rep.requests), (5, 1));
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(std::fs::read(&dest).unwrap(), plain_all);
}

#[tokio::test]
async fn fmp4_map_byterange_is_the_init_section_of_the_same_file() {
    let srv = Server::start().await;
    let data = test_data(100 + 3 * 2000, 9);
    // The first segment has no offset either: it follows the init section.
    let pl = single_file(
        "f.mp4",
        100,
        3,
        2000,
        false,
        "#EXT-X-MAP:URI=\"f.mp4\",BYTERANGE=\"100@0\"\n",
    )
    .replace("#EXT-X-BYTERANGE:2000@100", "#EXT-X-BYTERANGE:2000");
    srv.route("/f.m3u8", move |_| Reply::text(200, &pl));
    let seen = serve_ranged(&srv, "/f.mp4", data.clone());
    let dir = TempDir::new("hls-ranges-map");
    let dest = dir.join("out.mp4");
    let rep = download_hls(
        opts(srv.url("/f.m3u8"), dest.clone()),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), *data);
    assert_eq!(rep.requests, 1);
    let mut ranges = seen.lock().unwrap().clone();
    ranges.sort();
    assert_eq!(ranges, ["bytes=0-99", "bytes=100-6099"]);
}

#[tokio::test]
async fn a_range_cut_off_mid_body_resumes_from_its_last_byte() {
    let srv = Server::start().await;
    let data = test_data(40_000, 11);
    let pl = single_file("all.ts", 0, 4, 10_000, true, "");
    srv.route("/p.m3u8", move |_| Reply::text(200, &pl));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (log, d) = (seen.clone(), data.clone());
    srv.route("/all.ts", move |req| {
        let mut log = log.lock().unwrap();
        log.push(req.header("range").unwrap_or("").to_string());
        let r = server::file_reply(req, &d, Some("\"v1\""));
        // The first answer closes after 25,000 of its 40,000 bytes.
        if log.len() == 1 {
            Reply {
                send_limit: Some(25_000),
                ..r
            }
        } else {
            r
        }
    });
    let dir = TempDir::new("hls-ranges-resume");
    let dest = dir.join("out.ts");
    let rep = download_hls(
        opts(srv.url("/p.m3u8"), dest.clone()),
        None,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), *data);
    assert_eq!(rep.retries, 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], "bytes=0-39999");
    let resumed_at: u64 = seen[1]
        .strip_prefix("bytes=")
        .and_then(|s| s.split_once('-'))
        .and_then(|(a, _)| a.parse().ok())
        .unwrap();
    assert!((1..=25_000).contains(&resumed_at), "{seen:?}");
    assert_eq!(seen[1], format!("bytes={resumed_at}-39999"));
}

#[tokio::test]
async fn byte_ranges_refused_cleanly_over_the_cap_without_range_support_or_when_the_file_changes() {
    let srv = Server::start().await;
    let data = test_data(40_000, 13);
    // One file per case: a request of a failed case still in the server's queue must not reach
    // the next case's handler.
    for name in ["cap", "plain", "changed"] {
        let pl = single_file(&format!("{name}.ts"), 0, 4, 10_000, true, "");
        srv.route(&format!("/{name}.m3u8"), move |_| Reply::text(200, &pl));
    }
    let hits = Arc::new(AtomicUsize::new(0));
    let dir = TempDir::new("hls-ranges-bad");
    let run = |name: &str, max_bytes: Option<u64>| {
        let mut o = opts(srv.url(&format!("/{name}.m3u8")), dir.join("out"));
        o.max_bytes = max_bytes;
        o.max_range_request_bytes = 10_000;
        o.max_retries = 1;
        download_hls(o, None, CancellationToken::new())
    };
    // Ranges adding up to 40,000 bytes against a 30,000-byte cap: refused before any segment.
    let (h, d) = (hits.clone(), data.clone());
    srv.route("/cap.ts", move |req| {
        h.fetch_add(1, Ordering::SeqCst);
        server::file_reply(req, &d, None)
    });
    let e = run("cap", Some(30_000)).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceTooLarge, "{e}");
    assert!(e.message.contains("add up to 40000 bytes"), "{e}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    // A server that ignores Range answers 200 with the whole file.
    let d = data.clone();
    srv.route("/plain.ts", move |_| Reply::bytes(d.to_vec()));
    let e = run("plain", None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceProtocol, "{e}");
    assert!(e.message.contains("honours Range"), "{e}");
    // The file changes between requests: another ETag after the first answer.
    let (n, d) = (AtomicUsize::new(0), data.clone());
    srv.route("/changed.ts", move |req| {
        let etag = if n.fetch_add(1, Ordering::SeqCst) == 0 {
            "\"v1\""
        } else {
            "\"v2\""
        };
        server::file_reply(req, &d, Some(etag))
    });
    let e = run("changed", None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceChanged, "{e}");
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[tokio::test]
async fn byte_ranges_and_their_init_section_go_through_the_egress_guard() {
    let srv = Server::start().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let data = test_data(20_000, 17);
    srv.route("/ok.ts", move |req| {
        h.fetch_add(1, Ordering::SeqCst);
        server::file_reply(req, &data, None)
    });
    let segment = "#EXTM3U\n#EXTINF:4,\n#EXT-X-BYTERANGE:10000@0\nok.ts\n\
        #EXTINF:4,\n#EXT-X-BYTERANGE:10000@0\nhttp://169.254.169.254/latest/meta-data/\n#EXT-X-ENDLIST\n";
    srv.route("/seg.m3u8", move |_| Reply::text(200, segment));
    let map = "#EXTM3U\n#EXT-X-MAP:URI=\"http://10.0.0.1/init.mp4\",BYTERANGE=\"100@0\"\n\
        #EXTINF:4,\n#EXT-X-BYTERANGE:10000@0\nok.ts\n#EXT-X-ENDLIST\n";
    srv.route("/map.m3u8", move |_| Reply::text(200, map));
    let dir = TempDir::new("hls-ranges-egress");
    for path in ["/seg.m3u8", "/map.m3u8"] {
        let e = download_hls(
            opts(srv.url(path), dir.join("out")),
            None,
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::EgressDenied, "{path}: {e}");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "refused before any range is fetched"
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}
