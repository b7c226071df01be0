mod common;
use common::*;

use std::path::PathBuf;

use reel_merge::{merge, MergeInput, MergeOptions};

fn inputs(paths: &[PathBuf]) -> Vec<MergeInput> {
    paths
        .iter()
        .map(|p| MergeInput {
            path: p.clone(),
            title: None,
        })
        .collect()
}

#[test]
fn joins_video_only_segments_with_moov_at_the_end_and_no_chapters() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("video-only");
    let paths: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("seg{i}.mp4"))).collect();
    for (p, s) in paths.iter().zip([1.0, 1.24, 0.6]) {
        make_clip(p, s, 0, false, &["-an"]);
    }
    let out = dir.join("out.mp4");
    let mut opts = MergeOptions::new(inputs(&paths), &out);
    opts.faststart = false;
    opts.chapters = false;
    let r = merge(&opts, None, None).unwrap();
    assert_eq!(decode_errors(&out), "");
    assert_eq!(top_boxes(&out), ["ftyp", "mdat", "moov"]);
    let p = probe(&out);
    assert_eq!(p["chapters"].as_array().unwrap().len(), 0);
    assert!(stream(&p, "audio").is_none() && r.audio_codec.is_none());
    let frames: u64 = paths.iter().map(|q| packets(&probe(q), "video")).sum();
    assert_eq!(packets(&p, "video"), frames);
    let d = f(&p["format"]["duration"]);
    assert!(
        (d - frames as f64 / 25.0).abs() < 0.041,
        "duration {d}, {frames} frames"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn joins_hevc_segments() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("hevc");
    let paths: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("seg{i}.mp4"))).collect();
    for p in &paths {
        make_clip(
            p,
            0.8,
            0,
            false,
            &[
                "-an",
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-x265-params",
                "log-level=error",
            ],
        );
    }
    let out = dir.join("out.mp4");
    let r = merge(&MergeOptions::new(inputs(&paths), &out), None, None).unwrap();
    assert_eq!(r.video_codec.as_deref(), Some("hevc"));
    assert_eq!(decode_errors(&out), "");
    let p = probe(&out);
    let frames: u64 = paths.iter().map(|q| packets(&probe(q), "video")).sum();
    assert_eq!(packets(&p, "video"), frames);
    assert_eq!(p["chapters"].as_array().unwrap().len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rewrites an ffmpeg file (ftyp, free, mdat, moov) into the 64-bit forms without moving any
/// sample: the 8-byte `free` plus mdat's 8-byte header become one 16-byte largesize header, and
/// stco tables become co64 in the trailing moov.
fn to_64bit(src: &[u8]) -> Vec<u8> {
    fn boxes(b: &[u8]) -> Vec<(&[u8], &[u8])> {
        let mut out = vec![];
        let mut pos = 0;
        while pos < b.len() {
            let size = u32::from_be_bytes(b[pos..pos + 4].try_into().unwrap()) as usize;
            out.push((&b[pos + 4..pos + 8], &b[pos + 8..pos + size]));
            pos += size;
        }
        out
    }
    fn rewrite(kind: &[u8], payload: &[u8]) -> Vec<u8> {
        let body = match kind {
            b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" => boxes(payload)
                .into_iter()
                .flat_map(|(k, p)| rewrite(k, p))
                .collect(),
            b"stco" => {
                let n = u32::from_be_bytes(payload[4..8].try_into().unwrap()) as usize;
                let mut v = payload[..8].to_vec();
                for i in 0..n {
                    let o = u32::from_be_bytes(payload[8 + 4 * i..12 + 4 * i].try_into().unwrap());
                    v.extend_from_slice(&(o as u64).to_be_bytes());
                }
                return [&((v.len() + 8) as u32).to_be_bytes()[..], b"co64", &v].concat();
            }
            _ => payload.to_vec(),
        };
        [&((body.len() + 8) as u32).to_be_bytes()[..], kind, &body].concat()
    }
    let top = boxes(src);
    let mut out = vec![];
    let mut i = 0;
    while i < top.len() {
        let (k, p) = top[i];
        if k == b"free" && p.is_empty() && top.get(i + 1).is_some_and(|n| n.0 == b"mdat") {
            let data = top[i + 1].1;
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(b"mdat");
            out.extend_from_slice(&(data.len() as u64 + 16).to_be_bytes());
            out.extend_from_slice(data);
            i += 2;
            continue;
        }
        out.extend(rewrite(k, p));
        i += 1;
    }
    out
}

#[test]
fn reads_largesize_mdat_and_co64_inputs() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("co64");
    let plain = dir.join("plain.mp4");
    make_clip(&plain, 1.0, 440, true, &[]);
    let wide = dir.join("wide.mp4");
    std::fs::write(&wide, to_64bit(&std::fs::read(&plain).unwrap())).unwrap();
    assert_eq!(decode_errors(&wide), "", "the rewritten input itself is valid");
    let out = dir.join("out.mp4");
    merge(
        &MergeOptions::new(inputs(&[plain.clone(), wide]), &out),
        None,
        None,
    )
    .unwrap();
    assert_eq!(decode_errors(&out), "");
    let p = probe(&out);
    assert_eq!(packets(&p, "video"), 2 * packets(&probe(&plain), "video"));
    let _ = std::fs::remove_dir_all(&dir);
}
