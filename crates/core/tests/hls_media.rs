//! Single-file HLS made by ffmpeg (`-hls_flags single_file`, MPEG-TS and fMP4), served on loopback
//! with Range support: downloaded through byte-range requests, then checked with ffprobe and a full
//! decode, as the pipeline would see it.

mod server;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reel_core::{download_hls, EgressPolicy, HlsOptions};
use server::{Server, TempDir};
use tokio_util::sync::CancellationToken;

const SECONDS: f64 = 12.0;

fn ffmpeg(args: &[&str]) -> std::process::Output {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// 12 s of moving test pattern and a tone, one keyframe a second, cut into 1 s segments of one
/// file; `extra` picks the segment type.
fn make_single_file_hls(dir: &Path, name: &str, extra: &[&str]) {
    let pl = dir.join(format!("{name}.m3u8"));
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=25:d=12",
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=12",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "25",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        "-f",
        "hls",
        "-hls_time",
        "1",
        "-hls_list_size",
        "0",
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "single_file",
    ];
    args.extend_from_slice(extra);
    args.push(pl.to_str().unwrap());
    ffmpeg(&args);
}

/// `(duration, "codec_type:codec_name" per stream)` as ffprobe reads them. MPEG-TS lists its
/// streams twice (once inside [PROGRAM]): only the top-level [STREAM] sections count.
fn probe(path: &Path) -> (f64, Vec<String>) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type,codec_name",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut duration, mut streams) = (0.0, Vec::new());
    let (mut in_program, mut name) = (false, String::new());
    for line in text.lines() {
        match line {
            "[PROGRAM]" => in_program = true,
            "[/PROGRAM]" => in_program = false,
            _ if in_program => {}
            _ => match line.split_once('=') {
                Some(("duration", v)) => duration = v.parse().unwrap_or(0.0),
                Some(("codec_name", v)) => name = v.to_string(),
                Some(("codec_type", v)) => streams.push(format!("{v}:{name}")),
                _ => {}
            },
        }
    }
    streams.sort();
    (duration, streams)
}

/// Serves every file of `dir`, Range honoured, logging `(path, Range header)` for each request.
fn serve_dir(srv: &Server, dir: &Path, log: &Arc<Mutex<Vec<(String, String)>>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let route = format!("/{}", path.file_name().unwrap().to_string_lossy());
        let data = Arc::new(std::fs::read(&path).unwrap());
        let log = log.clone();
        let r = route.clone();
        srv.route(&route, move |req| {
            let range = req.header("range").unwrap_or("").to_string();
            log.lock().unwrap().push((r.clone(), range));
            server::file_reply(req, &data, Some("\"1\""))
        });
    }
}

/// Each case: the playlist, the media file it ranges over, and the codecs expected.
async fn download_and_check(
    srv: &Server,
    log: &Arc<Mutex<Vec<(String, String)>>>,
    src: &Path,
    pl: &str,
    media: &str,
) {
    let text = std::fs::read_to_string(src.join(pl)).unwrap();
    let segments = text.matches("#EXTINF").count();
    assert!(segments >= 10, "{pl}: {segments} segments");
    assert_eq!(text.matches("#EXT-X-BYTERANGE").count(), segments, "{pl}");
    let out_dir = TempDir::new("hls-media-out");
    let dest = out_dir.join("source.ts");
    let mut o = HlsOptions::new(srv.url(&format!("/{pl}")), dest.clone());
    o.egress = EgressPolicy::with_allow(&["127.0.0.1/32".into()]).unwrap();
    o.idle_timeout = Duration::from_secs(5);
    o.concurrency = 4;
    // About 50 KB a segment: 128 KiB requests hold two or three of them.
    o.max_range_request_bytes = 128 << 10;
    log.lock().unwrap().clear();
    let rep = download_hls(o, None, CancellationToken::new()).await.unwrap();
    let seen: Vec<(String, String)> = log.lock().unwrap().clone();
    let media_reqs: Vec<&String> = seen
        .iter()
        .filter(|(p, _)| p == &format!("/{media}"))
        .map(|(_, r)| r)
        .collect();
    assert_eq!(rep.segments, segments, "{pl}");
    assert!(
        media_reqs.len() > 1,
        "{pl}: fetched in parallel ranges: {media_reqs:?}"
    );
    assert!(
        media_reqs.len() < segments,
        "{pl}: {} requests for {segments} segments",
        media_reqs.len()
    );
    assert!(
        media_reqs.iter().all(|r| r.starts_with("bytes=")),
        "{pl}: {media_reqs:?}"
    );
    // The ranges cover the file from its first byte to its last: the download is the file.
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(src.join(media)).unwrap(),
        "{pl}"
    );

    let (duration, streams) = probe(&dest);
    assert!((duration - SECONDS).abs() < 0.3, "{pl}: duration {duration}");
    assert_eq!(streams, ["audio:aac", "video:h264"], "{pl}");
    let decode = ffmpeg(&["-i", dest.to_str().unwrap(), "-f", "null", "-"]);
    assert!(
        decode.stderr.is_empty(),
        "{pl}: {}",
        String::from_utf8_lossy(&decode.stderr)
    );
    // Remuxed into MP4, as the pipeline's encode would read it, the timeline holds.
    let mp4 = out_dir.join("remux.mp4");
    ffmpeg(&["-i", dest.to_str().unwrap(), "-c", "copy", mp4.to_str().unwrap()]);
    let (d, s) = probe(&mp4);
    assert!((d - SECONDS).abs() < 0.3, "{pl}: remuxed duration {d}");
    assert_eq!(s, streams);
    eprintln!(
        "{pl}: {segments} segments in {} range requests, {} bytes",
        media_reqs.len(),
        rep.bytes
    );
}

#[tokio::test]
async fn single_file_hls_from_ffmpeg_downloads_through_range_requests_and_decodes() {
    let src = TempDir::new("hls-media-src");
    make_single_file_hls(&src.0, "ts", &[]);
    make_single_file_hls(&src.0, "fm", &["-hls_segment_type", "fmp4"]);
    // The same TS playlist with only the first offset written: each range follows the last.
    let ts = std::fs::read_to_string(src.join("ts.m3u8")).unwrap();
    let mut first = true;
    let no_offsets: String = ts
        .lines()
        .map(|l| match l.strip_prefix("#EXT-X-BYTERANGE:") {
            Some(v) if !std::mem::take(&mut first) => {
                format!("#EXT-X-BYTERANGE:{}\n", v.split('@').next().unwrap())
            }
            _ => format!("{l}\n"),
        })
        .collect();
    assert_ne!(no_offsets, ts);
    std::fs::write(src.join("ts-no-offsets.m3u8"), no_offsets).unwrap();
    let fm = std::fs::read_to_string(src.join("fm.m3u8")).unwrap();
    assert!(fm.contains("#EXT-X-MAP:URI=\"fm.m4s\",BYTERANGE="), "{fm}");

    let srv = Server::start().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    serve_dir(&srv, &src.0, &log);
    download_and_check(&srv, &log, &src.0, "ts.m3u8", "ts.ts").await;
    download_and_check(&srv, &log, &src.0, "ts-no-offsets.m3u8", "ts.ts").await;
    download_and_check(&srv, &log, &src.0, "fm.m3u8", "fm.m4s").await;
}
