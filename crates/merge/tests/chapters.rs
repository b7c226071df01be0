mod common;
use common::*;

use reel_merge::{merge, MergeInput, MergeOptions};

#[test]
fn five_hundred_inputs_give_five_hundred_chapters_read_back_from_the_file() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("chapters500");
    let clip = dir.join("clip.mp4");
    make_clip(&clip, 0.2, 0, false, &["-an"]);
    let inputs: Vec<MergeInput> = (0..500)
        .map(|i| MergeInput {
            path: clip.clone(),
            title: Some(format!("Episode {}", i + 1)),
        })
        .collect();
    let out = dir.join("out.mp4");
    let report = merge(&MergeOptions::new(inputs, &out), None, None).unwrap();
    assert_eq!(report.chapters.len(), 500);
    assert_eq!(report.chapters[499].title, "Episode 500");

    let p = probe(&out);
    let ch = p["chapters"].as_array().unwrap();
    assert_eq!(ch.len(), 500, "ffprobe reads every chapter, not chpl's 255");
    for k in [0usize, 254, 255, 299, 499] {
        assert_eq!(ch[k]["tags"]["title"], format!("Episode {}", k + 1));
        let start = f(&ch[k]["start_time"]);
        assert!(
            (start - k as f64 * 0.2).abs() < 0.002,
            "chapter {k} starts at {start}"
        );
        assert!((report.chapters[k].start_secs - start).abs() < 0.001);
    }
    assert_eq!(packets(&p, "video"), 500 * packets(&probe(&clip), "video"));
    assert_eq!(decode_errors(&out), "");
    let _ = std::fs::remove_dir_all(&dir);
}
