//! A first episode whose video starts after its other tracks (TS and HLS sources: 40 ms here):
//! the merge trims what comes before the first frame from every track, and players must still read
//! each cue where it was.
mod common;
use common::*;

use std::path::Path;

use reel_merge::{merge, MergeInput, MergeOptions, TrackChoice};

/// An MP4 whose video starts `delay` seconds after its audio and subtitles (an empty edit), as
/// ffmpeg writes a remuxed TS; one eng cue from the SRT; a tone from 1.0 s, silence before.
fn make_late(path: &Path, srt: &Path, delay: f64) {
    let d = delay.to_string();
    ffmpeg(&[
        "-copyts",
        "-itsoffset",
        &d,
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=if(gte(t\\,1)\\,0.5*sin(2*PI*440*t)\\,0):s=48000:c=stereo",
        "-i",
        srt.to_str().unwrap(),
        "-map",
        "0:v",
        "-map",
        "1",
        "-map",
        "2",
        "-metadata:s:s:0",
        "language=eng",
        "-t",
        "3",
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-c:s",
        "mov_text",
        path.to_str().unwrap(),
    ]);
}

/// Milliseconds of the first cue's start in `ffmpeg -i out -map 0:s:0 -f srt -`.
fn first_srt_cue_ms(out: &Path, extra: &[&str]) -> i64 {
    let mut args = extra.to_vec();
    args.extend(["-i", out.to_str().unwrap(), "-map", "0:s:0", "-f", "srt", "-"]);
    let srt = ffmpeg_stdout(&args);
    let line = srt
        .lines()
        .find(|l| l.contains(" --> "))
        .unwrap_or_else(|| panic!("no cue: {srt}"));
    let t: Vec<i64> = line[..12].split([':', ',']).map(|x| x.parse().unwrap()).collect();
    ((t[0] * 60 + t[1]) * 60 + t[2]) * 1000 + t[3]
}

#[test]
fn a_cue_of_an_episode_whose_video_starts_late_is_read_where_it_was() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("late-video");
    let srt = dir.join("cue.srt");
    write_srt(&srt, &[(2.0, 2.4, "late cue")]);
    let (a, b) = (dir.join("a.mp4"), dir.join("b.mp4"));
    make_late(&a, &srt, 0.04);
    make_episode(&b, 1.0, &[("eng", 660)], &[("eng", &srt)], &[]);
    let out = dir.join("out.mp4");
    let inputs = [&a, &b]
        .map(|p| MergeInput {
            path: p.clone(),
            title: None,
        })
        .to_vec();
    let mut opts = MergeOptions::new(inputs, &out);
    opts.subtitle_tracks = Some(vec![TrackChoice {
        language: "eng".into(),
        default: false,
    }]);
    merge(&opts, None, None).unwrap();
    assert_eq!(decode_errors(&out), "");

    // The cue sits 2.0 s into the source, whose first frame is at 0.04 s: 1.96 s into chapter 1.
    let want = 1960;
    for extra in [&[][..], &["-ignore_editlist", "1"][..]] {
        let got = first_srt_cue_ms(&out, extra);
        eprintln!("{extra:?}: cue at {got} ms");
        assert!(
            (got - want).abs() <= 40,
            "{extra:?}: cue at {got} ms, not {want} ms"
        );
    }
    let cue = packets_of(&out)
        .into_iter()
        .find(|p| p.0 == 2 && p.3 > 2)
        .expect("a cue packet");
    assert!((cue.1 - 1.96).abs() <= 0.04, "packet at {}", cue.1);

    // The audio edit that trims the same 40 ms (and the AAC priming) is honoured to the sample:
    // the tone that starts 1.0 s into the source starts 0.96 s into chapter 1.
    let onset = tone_onset(&out);
    eprintln!("tone onset {onset:.4} s");
    assert!(
        (onset - 0.96).abs() < 0.003,
        "tone starts at {onset} s, not 0.96 s"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Seconds to the first decoded sample of the first audio track above half the tone's peak.
fn tone_onset(out: &Path) -> f64 {
    let pcm = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(out)
        .args(["-map", "0:a:0", "-ac", "1", "-f", "s16le", "-"])
        .output()
        .unwrap()
        .stdout;
    let first = pcm
        .chunks(2)
        .position(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs() > 8000)
        .expect("a tone");
    first as f64 / 48000.0
}
