//! A source's own chapters placed inside its episode's span (`ChapterMarks::Source` and `Both`),
//! read by ffprobe from sources ffmpeg made with an ffmetadata file.
mod common;
use common::*;

use std::path::{Path, PathBuf};

use reel_merge::{merge, ChapterMarks, MergeInput, MergeOptions, SourceChapter};

/// A 25 fps source of `secs` in Matroska with the chapters (title, start, end) written from an
/// ffmetadata file, and the episode made from it as the encode makes one (no chapters kept).
fn make_chaptered(dir: &Path, name: &str, secs: f64, chapters: &[(&str, f64, f64)]) -> (PathBuf, PathBuf) {
    let meta = dir.join(format!("{name}.ffmeta"));
    let mut text = String::from(";FFMETADATA1\n");
    for (title, start, end) in chapters {
        let (s, e) = ((start * 1000.0) as u64, (end * 1000.0) as u64);
        text += &format!("[CHAPTER]\nTIMEBASE=1/1000\nSTART={s}\nEND={e}\ntitle={title}\n");
    }
    std::fs::write(&meta, text).unwrap();
    let (source, episode) = (dir.join(format!("{name}.mkv")), dir.join(format!("{name}.mp4")));
    let t = secs.to_string();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-f",
        "ffmetadata",
        "-i",
        meta.to_str().unwrap(),
        "-map",
        "0",
        "-map",
        "1",
        "-map_chapters",
        "2",
        "-t",
        &t,
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        source.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        source.to_str().unwrap(),
        "-map",
        "0",
        "-map_chapters",
        "-1",
        "-map_metadata",
        "-1",
        "-c",
        "copy",
        episode.to_str().unwrap(),
    ]);
    (source, episode)
}

/// ffprobe -show_chapters of a source, as the worker reads it: (title, start) relative to its start.
fn source_chapters(path: &Path) -> Vec<SourceChapter> {
    probe(path)["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| SourceChapter {
            title: c["tags"]["title"].as_str().unwrap_or("").to_string(),
            start_secs: f(&c["start_time"]),
        })
        .collect()
}

/// (title, start) of the merged file's chapters as ffprobe reads them.
fn merged_chapters(path: &Path) -> Vec<(String, f64)> {
    probe(path)["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tags"]["title"].as_str().unwrap().to_string(),
                f(&c["start_time"]),
            )
        })
        .collect()
}

#[test]
fn source_chapters_land_inside_their_episode_alone_or_beside_the_episode_chapters() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("source-chapters");
    let (sa, a) = make_chaptered(&dir, "a", 3.0, &[("Intro", 0.0, 1.0), ("Part B", 1.0, 3.0)]);
    let (sb, b) = make_chaptered(&dir, "b", 2.0, &[]);
    let (sc, c) = make_chaptered(&dir, "c", 2.0, &[("Late", 0.6, 2.0)]);
    let mut own: Vec<Vec<SourceChapter>> = [&sa, &sb, &sc].iter().map(|p| source_chapters(p)).collect();
    assert_eq!(own.iter().map(Vec::len).collect::<Vec<_>>(), [2, 0, 1], "{own:?}");
    assert!(
        merged_chapters(&a).is_empty(),
        "the episodes carry no chapters of their own"
    );
    // A chapter past its episode's end (an encode cut the source short) is left out.
    own[2].push(SourceChapter {
        title: "Cut off".into(),
        start_secs: 2.5,
    });
    let out = dir.join("out.mp4");
    let run = |mode| {
        let inputs = [("A", &a), ("B", &b), ("C", &c)]
            .map(|(t, p)| MergeInput {
                path: p.clone(),
                title: Some(t.into()),
            })
            .to_vec();
        let mut opts = MergeOptions::new(inputs, &out);
        opts.chapter_marks = mode;
        opts.source_chapters = own.clone();
        let report = merge(&opts, None, None).unwrap();
        let got = merged_chapters(&out);
        assert_eq!(
            report.chapters.len(),
            got.len(),
            "the result counts the file's chapters"
        );
        got
    };
    // Episode starts: 0, 3, 5 s.
    let check = |got: Vec<(String, f64)>, want: &[(&str, f64)]| {
        let titles: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(titles, want.iter().map(|w| w.0).collect::<Vec<_>>());
        for (g, w) in got.iter().zip(want) {
            assert!((g.1 - w.1).abs() < 0.041, "{} at {} not {}", g.0, g.1, w.1);
        }
    };
    let source = [
        ("Intro", 0.0),
        ("Part B", 1.0),
        ("B", 3.0),
        ("C", 5.0),
        ("Late", 5.6),
    ];
    check(run(ChapterMarks::Source), &source);
    let both = [
        ("A — Intro", 0.0),
        ("A — Part B", 1.0),
        ("B", 3.0),
        ("C", 5.0),
        ("C — Late", 5.6),
    ];
    check(run(ChapterMarks::Both), &both);
    check(run(ChapterMarks::Episodes), &[("A", 0.0), ("B", 3.0), ("C", 5.0)]);
    assert_eq!(decode_errors(&out), "");
    let _ = std::fs::remove_dir_all(&dir);
}
