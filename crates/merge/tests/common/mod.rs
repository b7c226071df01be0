//! Test media made with ffmpeg at test time, and ffprobe readings of the results.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn have_ffmpeg() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: ffmpeg is not on PATH (CI installs it)");
    }
    ok
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("reel-merge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 320x240 25 fps H.264 (+ 48 kHz AAC unless `audio` is false) clip of `secs` seconds.
pub fn make_clip(path: &Path, secs: f64, freq: u32, audio: bool, extra: &[&str]) {
    let t = secs.to_string();
    let src = "testsrc2=size=320x240:rate=25";
    let sine = format!("sine=frequency={freq}:sample_rate=48000");
    let mut a: Vec<&str> = vec!["-f", "lavfi", "-i", src];
    if audio {
        a.extend(["-f", "lavfi", "-i", &sine]);
    }
    a.extend(["-t", &t, "-pix_fmt", "yuv420p"]);
    if extra.iter().all(|x| *x != "-c:v") {
        a.extend(["-c:v", "libx264", "-preset", "veryfast"]);
    }
    if audio {
        a.extend(["-c:a", "aac"]);
    }
    a.extend(extra);
    a.push(path.to_str().unwrap());
    ffmpeg(&a);
}

pub fn probe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_packets",
            "-show_format",
            "-show_streams",
            "-show_chapters",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn stream<'a>(p: &'a Value, kind: &str) -> Option<&'a Value> {
    p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
}

pub fn packets(p: &Value, kind: &str) -> u64 {
    stream(p, kind)
        .map(|s| s["nb_read_packets"].as_str().unwrap().parse().unwrap())
        .unwrap_or(0)
}

pub fn f(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

/// What `ffmpeg -v error -i out -f null -` prints: must be nothing for a clean file.
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (pts seconds, is_video) of every packet, in file order per stream.
pub fn packet_times(path: &Path) -> Vec<(String, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=codec_type,pts_time",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            Some((
                p["codec_type"].as_str()?.to_string(),
                p["pts_time"].as_str()?.parse().ok()?,
            ))
        })
        .collect()
}

/// Top-level box types, in order.
pub fn top_boxes(path: &Path) -> Vec<String> {
    let d = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 8 <= d.len() {
        let mut size = u32::from_be_bytes(d[pos..pos + 4].try_into().unwrap()) as u64;
        if size == 1 {
            size = u64::from_be_bytes(d[pos + 8..pos + 16].try_into().unwrap());
        }
        out.push(String::from_utf8_lossy(&d[pos + 4..pos + 8]).into_owned());
        if size == 0 {
            break;
        }
        pos += size as usize;
    }
    out
}

/// Writes an SRT file with one cue per (start, end, text).
pub fn write_srt(path: &Path, cues: &[(f64, f64, &str)]) {
    let ts = |t: f64| {
        let ms = (t * 1000.0).round() as u64;
        format!(
            "{:02}:{:02}:{:02},{:03}",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        )
    };
    let body: String = cues
        .iter()
        .enumerate()
        .map(|(i, (s, e, t))| format!("{}\n{} --> {}\n{t}\n\n", i + 1, ts(*s), ts(*e)))
        .collect();
    std::fs::write(path, body).unwrap();
}

/// A 320x240 25 fps H.264 episode of `secs` with one 48 kHz stereo AAC track per (language, tone)
/// and one mov_text track per (language, srt file), languages tagged.
pub fn make_episode(path: &Path, secs: f64, audio: &[(&str, u32)], subs: &[(&str, &Path)], extra: &[&str]) {
    let t = secs.to_string();
    let mut a: Vec<String> = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"]
        .map(String::from)
        .to_vec();
    for (_, freq) in audio {
        a.extend(["-f".into(), "lavfi".into(), "-i".into()]);
        a.push(format!(
            "sine=frequency={freq}:sample_rate=48000,aformat=channel_layouts=stereo"
        ));
    }
    for (_, srt) in subs {
        a.extend(["-i".into(), srt.to_str().unwrap().into()]);
    }
    a.extend(["-map".into(), "0:v".into()]);
    for i in 0..audio.len() + subs.len() {
        a.extend(["-map".into(), format!("{}", i + 1)]);
    }
    for (i, (lang, _)) in audio.iter().enumerate() {
        a.extend([format!("-metadata:s:a:{i}"), format!("language={lang}")]);
    }
    for (i, (lang, _)) in subs.iter().enumerate() {
        a.extend([format!("-metadata:s:s:{i}"), format!("language={lang}")]);
    }
    a.extend(
        [
            "-t", &t, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast",
        ]
        .map(String::from),
    );
    a.extend(["-c:a", "aac", "-c:s", "mov_text"].map(String::from));
    a.extend(extra.iter().map(|x| x.to_string()));
    a.push(path.to_str().unwrap().into());
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    ffmpeg(&refs);
}

/// (stream index, pts seconds, duration seconds, size) of every packet.
pub fn packets_of(path: &Path) -> Vec<(u64, f64, f64, u64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=stream_index,pts_time,duration_time,size",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["stream_index"].as_u64().unwrap(),
                p["pts_time"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(f64::NAN),
                p["duration_time"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0.0),
                p["size"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// What an ffmpeg invocation prints on stdout (e.g. a subtitle track converted to SRT).
pub fn ffmpeg_stdout(args: &[&str]) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
