//! Resume after SIGKILL: a child process (this test binary, re-run on one test) downloads until
//! the control file shows half the file, is killed, and a new run finishes only what was missing.

mod server;

use std::time::{Duration, Instant};

use reel_core::download::{download, DownloadOptions};
use reel_core::EgressPolicy;
use server::{file_reply, sha256, test_data, Reply, Server, TempDir};
use tokio_util::sync::CancellationToken;

const TOTAL: usize = 4 << 20;

fn opts(url: String, dest: std::path::PathBuf) -> DownloadOptions {
    let mut o = DownloadOptions::new(url, dest);
    o.egress = EgressPolicy::with_allow(&["127.0.0.1/32".into()]).unwrap();
    o.connections = 4;
    o.chunk_size = 64 << 10;
    o.min_split_size = 64 << 10;
    o.retry_base_delay = Duration::from_millis(10);
    o
}

/// Runs only inside the child process (the parent sets the environment); a no-op otherwise.
#[test]
fn child_download_entry() {
    let (Ok(url), Ok(dest)) = (std::env::var("REEL_CHILD_URL"), std::env::var("REEL_CHILD_DEST")) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let _ = rt.block_on(download(opts(url, dest.into()), None, CancellationToken::new()));
}

fn ctl_done(path: &std::path::Path) -> u64 {
    let Ok(text) = std::fs::read(path) else { return 0 };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return 0;
    };
    v["done"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r[1].as_u64().unwrap() - r[0].as_u64().unwrap())
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_download_resumes_fetching_only_what_was_in_flight() {
    let srv = Server::start().await;
    let data = test_data(TOTAL, 77);
    let d = data.clone();
    srv.route("/f", move |r| Reply {
        rate: Some(1 << 20),
        ..file_reply(r, &d, Some("\"v\""))
    });
    let dir = TempDir::new("kill");
    let dest = dir.join("out");
    let ctl = dir.join("out.reel-ctl");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_download_entry", "--test-threads=1", "--quiet"])
        .env("REEL_CHILD_URL", srv.url("/f"))
        .env("REEL_CHILD_DEST", &dest)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while ctl_done(&ctl) < (TOTAL / 2) as u64 {
        assert!(t.elapsed() < Duration::from_secs(20), "child made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL: no chance to flush or clean up
    child.wait().unwrap();
    let done_at_kill = ctl_done(&ctl);
    assert!(!dest.exists());

    let o = opts(srv.url("/f"), dest.clone());
    let rep = download(o.clone(), None, CancellationToken::new()).await.unwrap();
    assert_eq!(sha256(&std::fs::read(&dest).unwrap()), sha256(&data));
    assert!(rep.resumed_bytes >= done_at_kill, "{rep:?}");
    let slack = o.connections as u64 * o.chunk_size;
    assert!(
        rep.fetched_bytes <= slack + (TOTAL as u64 - rep.resumed_bytes),
        "{rep:?}"
    );
    assert!(!ctl.exists());
}
