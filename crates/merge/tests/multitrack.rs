mod common;
use common::*;

use std::path::{Path, PathBuf};

use reel_merge::{check_compatible_tracks, merge, MergeInput, MergeOptions, TrackChoice, TrackKind};
use serde_json::Value;

const PRIMING: f64 = 1024.0 / 48000.0;

fn choice(language: &str, default: bool) -> TrackChoice {
    TrackChoice {
        language: language.into(),
        default,
    }
}

/// Raw mono s16 samples of output audio track `track` between `from` and `to` seconds.
fn pcm(path: &Path, track: usize, from: f64, to: f64) -> Vec<i16> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-map", &format!("0:a:{track}"), "-af"])
        .arg(format!("atrim={from}:{to}"))
        .args(["-ac", "1", "-f", "s16le", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn loudest(s: &[i16]) -> i32 {
    s.iter().map(|&x| (x as i32).abs()).max().unwrap_or(0)
}

/// Packets of the input's audio track in `lang` (None when it has none).
fn audio_packets(input: &Value, lang: &str) -> Option<u64> {
    input["streams"].as_array().unwrap().iter().find_map(|s| {
        (s["codec_type"] == "audio" && s["tags"]["language"] == lang)
            .then(|| s["nb_read_packets"].as_str().unwrap().parse().unwrap())
    })
}

/// Three episodes: both languages with subtitles in both, then only Japanese audio and English
/// subtitles, then both again with an English cue at 2.0 s.
fn episodes(dir: &Path) -> Vec<PathBuf> {
    let srt = |name: &str, cues: &[(f64, f64, &str)]| {
        let p = dir.join(name);
        write_srt(&p, cues);
        p
    };
    let (e1, j1) = (
        srt("e1.srt", &[(0.5, 1.0, "one eng")]),
        srt("j1.srt", &[(0.2, 0.6, "one jpn")]),
    );
    let e2 = srt("e2.srt", &[(0.4, 0.9, "two eng")]);
    let (e3, j3) = (
        srt("e3.srt", &[(2.0, 2.4, "three eng")]),
        srt("j3.srt", &[(1.0, 1.5, "three jpn")]),
    );
    let paths: Vec<PathBuf> = (1..=3).map(|i| dir.join(format!("ep{i}.mp4"))).collect();
    let both = [("jpn", 440), ("eng", 660)];
    make_episode(&paths[0], 1.52, &both, &[("eng", &e1), ("jpn", &j1)], &[]);
    make_episode(&paths[1], 1.2, &[("jpn", 440)], &[("eng", &e2)], &[]);
    make_episode(&paths[2], 2.6, &both, &[("eng", &e3), ("jpn", &j3)], &[]);
    paths
}

#[test]
fn joins_two_audio_and_two_subtitle_languages_filling_what_an_episode_lacks() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("multitrack");
    let paths = episodes(&dir);
    let out = dir.join("out.mp4");
    let inputs = paths
        .iter()
        .map(|p| MergeInput {
            path: p.clone(),
            title: None,
        })
        .collect();
    let mut opts = MergeOptions::new(inputs, &out);
    opts.audio_tracks = Some(vec![choice("jpn", true), choice("eng", false)]);
    opts.subtitle_tracks = Some(vec![choice("eng", false), choice("jpn", false)]);
    let report = merge(&opts, None, None).unwrap();

    // Tracks, languages and dispositions as ffprobe reads them.
    let p = probe(&out);
    let streams: Vec<(String, String, i64)> = p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] != "data")
        .map(|s| {
            let lang = s["tags"]["language"].as_str().unwrap_or("").to_string();
            (
                s["codec_name"].as_str().unwrap().to_string(),
                lang,
                s["disposition"]["default"].as_i64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("h264", "und", 1),
        ("aac", "jpn", 1),
        ("aac", "eng", 0),
        // Subtitles are default only when asked: none was.
        ("mov_text", "eng", 0),
        ("mov_text", "jpn", 0),
    ];
    let want: Vec<(String, String, i64)> = want.iter().map(|w| (w.0.into(), w.1.into(), w.2)).collect();
    assert_eq!(streams, want);
    let filled: Vec<(TrackKind, &str, Vec<usize>)> = report
        .tracks
        .iter()
        .map(|t| (t.kind, t.language.as_str(), t.filled.clone()))
        .collect();
    assert_eq!(
        filled,
        [
            (TrackKind::Audio, "jpn", vec![]),
            (TrackKind::Audio, "eng", vec![1]),
            (TrackKind::Subtitle, "eng", vec![]),
            (TrackKind::Subtitle, "jpn", vec![1])
        ]
    );
    let decode = ffmpeg_stdout(&[
        "-i",
        out.to_str().unwrap(),
        "-map",
        "0:v",
        "-map",
        "0:a",
        "-f",
        "null",
        "-",
    ]);
    assert_eq!(decode, "");
    assert_eq!(decode_errors(&out), "");

    // tkhd flags (enabled = default) and alternate groups: audio 1, subtitles 2; the chapter
    // track last, in the movie but not enabled.
    assert_eq!(tkhd_heads(&out), [(3, 0), (3, 1), (2, 1), (2, 2), (2, 2), (2, 0)]);
    let starts: Vec<f64> = p["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| f(&c["start_time"]))
        .collect();
    assert_eq!(starts.len(), 3);
    check_audio_joins(&out, &paths, &starts);
    check_silence_and_tone(&out, &starts);
    check_cues(&out, &starts);
    assert!(report.max_av_offset_ms < 40.0, "{}", report.max_av_offset_ms);
    let _ = std::fs::remove_dir_all(&dir);
}

/// (tkhd flags, alternate group) of every track, in file order (version 0 tkhd boxes).
fn tkhd_heads(path: &Path) -> Vec<(u32, u16)> {
    let file = std::fs::read(path).unwrap();
    assert_eq!(top_boxes(path)[..2], ["ftyp", "moov"]);
    let ftyp = u32::from_be_bytes(file[0..4].try_into().unwrap()) as usize;
    let moov = u32::from_be_bytes(file[ftyp..ftyp + 4].try_into().unwrap()) as usize;
    let d = &file[ftyp..ftyp + moov];
    d.windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"tkhd")
        .map(|(i, _)| {
            let p = i + 4;
            let flags = u32::from_be_bytes(d[p..p + 4].try_into().unwrap()) & 0xff_ffff;
            (flags, u16::from_be_bytes(d[p + 34..p + 36].try_into().unwrap()))
        })
        .collect()
}

/// Every audio track's first packet of each episode sits where it sat relative to that
/// episode's first frame (1024 priming samples early), or at the chapter start for silence.
fn check_audio_joins(out: &Path, paths: &[PathBuf], starts: &[f64]) {
    let probes: Vec<Value> = paths.iter().map(|p| probe(p)).collect();
    let pk = packets_of(out);
    for (track, lang) in [(1u64, "jpn"), (2, "eng")] {
        let pts: Vec<f64> = pk.iter().filter(|p| p.0 == track).map(|p| p.1).collect();
        let real: Vec<Option<u64>> = probes.iter().map(|q| audio_packets(q, lang)).collect();
        let filled_count = pts.len() as u64 - real.iter().flatten().sum::<u64>();
        let mut first = 0usize;
        for (k, n) in real.iter().enumerate() {
            let expected = starts[k] - if n.is_some() { PRIMING } else { 0.0 };
            let got = pts[first];
            assert!(
                (got - expected).abs() < 0.002,
                "{lang} episode {}: first audio at {got}, expected {expected}",
                k + 1
            );
            assert!(
                (got - starts[k]).abs() < 0.04,
                "{lang} episode {}: more than a frame off",
                k + 1
            );
            first += n.unwrap_or(filled_count) as usize;
        }
    }
}

/// English audio is silent over episode 2 (filled) and sounds again in episode 3.
fn check_silence_and_tone(out: &Path, starts: &[f64]) {
    let mid = pcm(out, 1, starts[1] + 0.05, starts[2] - 0.05);
    assert!(mid.len() > 40_000, "{} samples", mid.len());
    assert_eq!(loudest(&mid), 0, "filled English audio is silent");
    assert!(loudest(&pcm(out, 1, starts[2] + 0.05, starts[2] + 1.0)) > 1000);
    assert!(loudest(&pcm(out, 0, starts[1] + 0.05, starts[2] - 0.05)) > 1000);
}

/// Cues land at their chapter's start plus their time in the episode, keep their length, and
/// read back as text; the Japanese track has nothing in episode 2.
fn check_cues(out: &Path, starts: &[f64]) {
    let pk = packets_of(out);
    let cues = |stream: u64| -> Vec<(f64, f64)> {
        pk.iter()
            .filter(|p| p.0 == stream && p.3 > 2)
            .map(|p| (p.1, p.2))
            .collect()
    };
    let want_eng = [
        (starts[0] + 0.5, 0.5),
        (starts[1] + 0.4, 0.5),
        (starts[2] + 2.0, 0.4),
    ];
    let want_jpn = [(starts[0] + 0.2, 0.4), (starts[2] + 1.0, 0.5)];
    for (stream, want) in [(3u64, &want_eng[..]), (4, &want_jpn[..])] {
        let got = cues(stream);
        assert_eq!(got.len(), want.len(), "stream {stream}: {got:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.0 - w.0).abs() < 0.002 && (g.1 - w.1).abs() < 0.002,
                "stream {stream}: {g:?} vs {w:?}"
            );
        }
    }
    let srt = ffmpeg_stdout(&["-i", out.to_str().unwrap(), "-map", "0:s:0", "-f", "srt", "-"]);
    for text in ["one eng", "two eng", "three eng"] {
        assert!(srt.contains(text), "{srt}");
    }
    let ms = ((starts[2] + 2.0) * 1000.0).round() as u64;
    let stamp = format!("00:00:{:02},{:03} --> ", ms / 1000, ms % 1000);
    assert!(
        srt.contains(&stamp),
        "the 2.0 s cue of episode 3 at {stamp}: {srt}"
    );
    let jpn = ffmpeg_stdout(&["-i", out.to_str().unwrap(), "-map", "0:s:1", "-f", "srt", "-"]);
    assert!(jpn.contains("three jpn") && !jpn.contains("two"), "{jpn}");
}

#[test]
fn names_the_track_and_field_that_cannot_be_joined() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("multitrack-mismatch");
    let a = dir.join("a.mp4");
    let b = dir.join("b.mp4");
    make_episode(&a, 0.5, &[("jpn", 440), ("eng", 660)], &[], &[]);
    make_episode(&b, 0.5, &[("jpn", 440), ("eng", 660)], &[], &["-ar:a:1", "44100"]);
    let list = check_compatible_tracks(&[a.clone(), b.clone()], None, None).unwrap();
    let fields: Vec<(usize, &str)> = list.iter().map(|m| (m.input, m.field.as_str())).collect();
    assert!(fields.contains(&(1, "audio[eng].sample_rate")), "{fields:?}");
    assert!(
        !fields.iter().any(|f| f.1.starts_with("audio[jpn]")),
        "{fields:?}"
    );
    // Asking for Japanese only leaves nothing to refuse.
    let jpn = [choice("jpn", true)];
    assert!(check_compatible_tracks(&[a, b], Some(&jpn), None)
        .unwrap()
        .is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn joins_an_episode_whose_subtitle_track_holds_no_cue_without_choices() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("multitrack-nocue");
    let cue = dir.join("cue.srt");
    let late = dir.join("late.srt");
    write_srt(&cue, &[(0.3, 0.8, "first")]);
    write_srt(&late, &[(9.0, 9.5, "after the end")]); // ffmpeg keeps one empty sample
    let (a, b) = (dir.join("a.mp4"), dir.join("b.mp4"));
    make_episode(&a, 1.0, &[("eng", 440)], &[("eng", &late)], &[]);
    make_episode(&b, 1.2, &[("eng", 440)], &[("eng", &cue)], &[]);
    let out = dir.join("out.mp4");
    let inputs = [&a, &b]
        .map(|p| MergeInput {
            path: p.clone(),
            title: None,
        })
        .to_vec();
    let report = merge(&MergeOptions::new(inputs, &out), None, None).unwrap();
    assert_eq!(report.tracks.len(), 2, "{:?}", report.tracks);
    assert_eq!(decode_errors(&out), "");
    let start = report.chapters[1].start_secs;
    let cues: Vec<f64> = packets_of(&out)
        .iter()
        .filter(|p| p.0 == 2 && p.3 > 2)
        .map(|p| p.1)
        .collect();
    assert_eq!(cues.len(), 1, "{cues:?}");
    assert!(
        (cues[0] - (start + 0.3)).abs() < 0.002,
        "cue at {} not {}",
        cues[0],
        start + 0.3
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_choices_subtitles_of_two_languages_stay_two_tracks() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("multitrack-sublangs");
    let (e, j) = (dir.join("e.srt"), dir.join("j.srt"));
    write_srt(&e, &[(0.2, 0.6, "hello")]);
    write_srt(&j, &[(0.2, 0.6, "konnichiwa")]);
    let (a, b) = (dir.join("a.mp4"), dir.join("b.mp4"));
    make_episode(&a, 0.8, &[("eng", 440)], &[("eng", &e)], &[]);
    make_episode(&b, 0.8, &[("jpn", 440)], &[("jpn", &j)], &[]);
    let out = dir.join("out.mp4");
    let inputs = [&a, &b]
        .map(|p| MergeInput {
            path: p.clone(),
            title: None,
        })
        .to_vec();
    let report = merge(&MergeOptions::new(inputs, &out), None, None).unwrap();
    let tracks: Vec<(TrackKind, &str, Vec<usize>)> = report
        .tracks
        .iter()
        .map(|t| (t.kind, t.language.as_str(), t.filled.clone()))
        .collect();
    // One audio track as before (languages not compared), one subtitle track per language.
    assert_eq!(
        tracks,
        [
            (TrackKind::Audio, "eng", vec![]),
            (TrackKind::Subtitle, "eng", vec![1]),
            (TrackKind::Subtitle, "jpn", vec![0])
        ]
    );
    assert_eq!(decode_errors(&out), "");
    // ffmpeg enabled each input's subtitle track; without a choice none is default in the output.
    assert_eq!(subtitle_defaults(&out), [0, 0]);

    // Asked: only the asked language is default.
    let mut opts = MergeOptions::new(
        [&a, &b]
            .map(|p| MergeInput {
                path: p.clone(),
                title: None,
            })
            .to_vec(),
        &out,
    );
    opts.subtitle_tracks = Some(vec![choice("eng", false), choice("jpn", true)]);
    merge(&opts, None, None).unwrap();
    assert_eq!(subtitle_defaults(&out), [0, 1]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// ffprobe's default disposition of each subtitle track, in order.
fn subtitle_defaults(path: &Path) -> Vec<i64> {
    probe(path)["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] == "subtitle")
        .map(|s| s["disposition"]["default"].as_i64().unwrap())
        .collect()
}
