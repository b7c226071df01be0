mod common;
use common::*;

use reel_merge::{merge, MergeInput, MergeOptions};

#[test]
fn joins_h264_aac_clips_with_chapters_continuous_timestamps_and_av_in_sync() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("av");
    // Durations that are neither whole video frames nor whole AAC frames.
    let secs = [1.37, 2.0, 0.93, 1.51];
    let mut inputs = Vec::new();
    for (i, s) in secs.iter().enumerate() {
        let p = dir.join(format!("in{i}.mp4"));
        make_clip(&p, *s, 440 + 100 * i as u32, true, &[]);
        inputs.push(MergeInput {
            path: p,
            title: (i != 2).then(|| format!("Episode {}", i + 1)),
        });
    }
    let out = dir.join("out.mp4");
    let report = merge(&MergeOptions::new(inputs.clone(), &out), None, None).unwrap();

    let probes: Vec<_> = inputs.iter().map(|i| probe(&i.path)).collect();
    let p = probe(&out);
    assert_eq!(decode_errors(&out), "");
    let boxes = top_boxes(&out);
    assert_eq!(&boxes[..3], ["ftyp", "moov", "mdat"], "{boxes:?}");

    let sum = |kind| probes.iter().map(|q| packets(q, kind)).sum::<u64>();
    assert_eq!(packets(&p, "video"), sum("video"));
    assert_eq!(packets(&p, "audio"), sum("audio"));
    let in_dur: f64 = probes.iter().map(|q| f(&q["format"]["duration"])).sum();
    let out_dur = f(&p["format"]["duration"]);
    assert!(
        (out_dur - in_dur).abs() <= 0.08,
        "duration {out_dur} vs inputs {in_dur}"
    );
    assert!((report.duration_secs - out_dur).abs() < 0.01);

    let ch = p["chapters"].as_array().unwrap();
    assert_eq!(ch.len(), 4, "{ch:?}");
    let titles: Vec<&str> = ch.iter().map(|c| c["tags"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Episode 1", "Episode 2", "Chapter 3", "Episode 4"]);
    // Chapter k starts at the sum of the video durations before it.
    let mut start = 0.0;
    for (k, c) in ch.iter().enumerate() {
        assert!(
            (f(&c["start_time"]) - start).abs() < 0.002,
            "chapter {k} starts {} not {start}",
            c["start_time"]
        );
        assert!((report.chapters[k].start_secs - start).abs() < 0.001);
        start += f(&stream(&probes[k], "video").unwrap()["duration"]);
    }

    // At each join, the first audio packet sits where it sat relative to the first frame in its
    // source (ffmpeg AAC: 1024 priming samples early), so no drift builds up across joins.
    let times = packet_times(&out);
    // Index, in each stream, of the first packet that came from input k.
    let (mut v_firsts, mut a_firsts) = (vec![], vec![]);
    let (mut vb, mut ab) = (0u64, 0u64);
    for q in &probes {
        v_firsts.push(vb);
        a_firsts.push(ab);
        vb += packets(q, "video");
        ab += packets(q, "audio");
    }
    let (mut v_seen, mut a_seen) = (0u64, 0u64);
    let mut first_v = [f64::NAN; 4];
    let mut first_a = [f64::NAN; 4];
    for (kind, t) in &times {
        if kind == "video" {
            if let Some(k) = v_firsts.iter().position(|&b| b == v_seen) {
                first_v[k] = *t;
            }
            v_seen += 1;
        } else {
            if let Some(k) = a_firsts.iter().position(|&b| b == a_seen) {
                first_a[k] = *t;
            }
            a_seen += 1;
        }
    }
    let mut dts_sorted_v: Vec<f64> = times.iter().filter(|t| t.0 == "video").map(|t| t.1).collect();
    dts_sorted_v.sort_by(f64::total_cmp);
    dts_sorted_v.dedup();
    assert_eq!(
        dts_sorted_v.len() as u64,
        sum("video"),
        "every frame has its own pts"
    );
    for k in 1..4 {
        // First frame in decode order is the IDR frame presented first.
        let off = first_a[k] - first_v[k];
        assert!(
            (off - (-1024.0 / 48000.0)).abs() < 0.002,
            "join {k}: audio starts {off}s from video"
        );
        assert!(off.abs() < 0.04, "join {k}: more than one frame apart");
    }
    assert!(report.max_av_offset_ms < 40.0, "{}", report.max_av_offset_ms);
    assert_eq!(report.video_codec.as_deref(), Some("h264"));
    assert_eq!(report.audio_codec.as_deref(), Some("aac"));
    let _ = std::fs::remove_dir_all(&dir);
}
