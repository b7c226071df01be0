mod common;
use common::*;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use reel_merge::{check_compatible, merge, ErrorCode, MergeInput, MergeOptions};

fn opts(paths: &[PathBuf], out: PathBuf) -> MergeOptions {
    MergeOptions::new(
        paths
            .iter()
            .map(|p| MergeInput {
                path: p.clone(),
                title: None,
            })
            .collect(),
        out,
    )
}

#[test]
fn refuses_other_resolution_and_codec_naming_each_field() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("mismatch");
    let a = dir.join("a.mp4");
    let b = dir.join("b.mp4");
    let c = dir.join("c.mp4");
    make_clip(&a, 0.5, 440, true, &[]);
    make_clip(&b, 0.5, 440, true, &["-s", "160x120"]);
    make_clip(
        &c,
        0.5,
        440,
        true,
        &[
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
        ],
    );
    let paths = [a, b, c];
    let list = check_compatible(&paths).unwrap();
    let fields: Vec<(usize, &str)> = list.iter().map(|m| (m.input, m.field.as_str())).collect();
    assert!(
        fields.contains(&(1, "video.width")) && fields.contains(&(1, "video.height")),
        "{fields:?}"
    );
    assert!(fields.contains(&(1, "video.config")), "{fields:?}");
    assert!(fields.contains(&(2, "video.codec")), "{fields:?}");
    assert!(!fields.iter().any(|f| f.1.starts_with("audio")), "{fields:?}");
    let e = merge(&opts(&paths, dir.join("out.mp4")), None, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::MergeMismatch);
    assert!(
        e.message.contains("video.width") && e.message.contains("video.codec"),
        "{}",
        e.message
    );
    assert!(!dir.join("out.mp4").exists() && !dir.join("out.mp4.tmp").exists());
    assert!(check_compatible(&paths[..1]).unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_empty_text_and_truncated_files_as_invalid_input() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("invalid");
    let good = dir.join("good.mp4");
    make_clip(&good, 1.0, 440, true, &[]);
    let fast = dir.join("fast.mp4");
    make_clip(&fast, 1.0, 440, true, &["-movflags", "+faststart"]);
    let data = std::fs::read(&good).unwrap();
    let fast_data = std::fs::read(&fast).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.mp4", vec![]),
        ("text.mp4", b"this is not a video, just some text\n".to_vec()),
        ("half.mp4", data[..data.len() / 2].to_vec()), // moov at the end: lost
        ("fasthalf.mp4", fast_data[..fast_data.len() / 2].to_vec()), // moov kept, mdat cut short
    ];
    for (name, bytes) in cases {
        let bad = dir.join(name);
        std::fs::write(&bad, bytes).unwrap();
        let e = merge(
            &opts(&[good.clone(), bad.clone()], dir.join("out.mp4")),
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::MergeInvalidInput, "{name}: {e}");
        assert!(
            e.message.contains("input 1") && e.message.contains(name),
            "{name}: {}",
            e.message
        );
        assert_eq!(
            check_compatible(&[bad]).unwrap_err().code,
            ErrorCode::MergeInvalidInput
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_fragmented_mp4_as_unsupported() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("frag");
    let good = dir.join("good.mp4");
    let frag = dir.join("frag.mp4");
    make_clip(&good, 0.5, 440, true, &[]);
    make_clip(&frag, 0.5, 440, true, &["-movflags", "frag_keyframe+empty_moov"]);
    let e = merge(&opts(&[good, frag], dir.join("out.mp4")), None, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::MergeUnsupported, "{e}");
    assert!(e.message.contains("input 1"), "{}", e.message);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cancel_between_copies_leaves_no_output() {
    if !have_ffmpeg() {
        return;
    }
    let dir = temp_dir("cancel");
    let paths: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("in{i}.mp4"))).collect();
    for p in &paths {
        make_clip(p, 0.5, 440, true, &[]);
    }
    let out = dir.join("out.mp4");
    let cancel = AtomicBool::new(false);
    let calls = std::sync::atomic::AtomicU64::new(0);
    let progress = |done: u64, total: u64| {
        assert!(done <= total);
        calls.fetch_add(1, Ordering::Relaxed);
        cancel.store(true, Ordering::Relaxed);
    };
    let e = merge(&opts(&paths, out.clone()), Some(&progress), Some(&cancel)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Cancelled);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(!out.exists());
    assert!(!dir.join("out.mp4.tmp").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
