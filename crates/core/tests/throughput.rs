//! A throughput smoke test against a real server, not part of the normal run:
//! `REEL_SMOKE_URL=http://127.0.0.1:8080/big.bin cargo test --release -p reel-core --test throughput -- --ignored --nocapture`
//! (the benchmark proper, against curl and aria2c, lives in bench/).

use std::time::Duration;

use reel_core::download::{download, DownloadOptions};
use reel_core::EgressPolicy;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a server: set REEL_SMOKE_URL"]
async fn throughput_smoke() {
    let url = std::env::var("REEL_SMOKE_URL").expect("REEL_SMOKE_URL");
    let conns: usize = std::env::var("REEL_SMOKE_CONNECTIONS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(8);
    let dest = std::env::var("REEL_SMOKE_DEST").unwrap_or_else(|_| "/tmp/reel-smoke.bin".into());
    let _ = std::fs::remove_file(&dest);
    let mut o = DownloadOptions::new(url, &dest);
    o.egress = EgressPolicy::with_allow(&["127.0.0.0/8".into()]).unwrap();
    o.connections = conns;
    o.idle_timeout = Duration::from_secs(30);
    let rep = download(o, None, CancellationToken::new()).await.unwrap();
    let mbps = rep.bytes as f64 / (1 << 20) as f64 / (rep.elapsed_ms.max(1) as f64 / 1000.0);
    println!(
        "{} bytes in {} ms = {mbps:.0} MiB/s over {} connections ({} steals)",
        rep.bytes, rep.elapsed_ms, rep.connections_used, rep.steals
    );
    let _ = std::fs::remove_file(&dest);
}
