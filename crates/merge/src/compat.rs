//! Which inputs can be joined by copying: everything a decoder configures itself from must be the
//! same as in the first input. Timescales may differ (tables are rescaled), bitrates may differ.

use crate::input::{Input, SampleEntry};
use crate::Mismatch;

fn hex(b: &[u8]) -> String {
    let s: String = b.iter().take(48).map(|x| format!("{x:02x}")).collect();
    if b.len() > 48 {
        format!("{s}… ({} bytes)", b.len())
    } else {
        s
    }
}

fn compare_entry(out: &mut Vec<Mismatch>, input: usize, prefix: &str, a: &SampleEntry, b: &SampleEntry) {
    let mut push = |field: &str, e: String, f: String| {
        if e != f {
            out.push(Mismatch {
                input,
                field: format!("{prefix}.{field}"),
                expected: e,
                found: f,
            });
        }
    };
    push("codec", a.codec.clone(), b.codec.clone());
    if prefix == "video" {
        push("width", a.width.to_string(), b.width.to_string());
        push("height", a.height.to_string(), b.height.to_string());
    } else {
        push(
            "sample_rate",
            a.sample_rate.to_string(),
            b.sample_rate.to_string(),
        );
        push("channels", a.channels.to_string(), b.channels.to_string());
    }
    // A different codec already says it all; config bytes of two codecs are noise.
    if a.codec == b.codec {
        push("config", hex(&a.config), hex(&b.config));
    }
}

/// Every difference between input 0 and the others, in input order.
pub fn mismatches(inputs: &[Input]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let Some(first) = inputs.first() else { return out };
    for inp in &inputs[1..] {
        compare_entry(&mut out, inp.index, "video", &first.video.entry, &inp.video.entry);
        match (&first.audio, &inp.audio) {
            (Some(a), Some(b)) => compare_entry(&mut out, inp.index, "audio", &a.entry, &b.entry),
            (None, None) => {}
            (a, b) => out.push(Mismatch {
                input: inp.index,
                field: "audio.present".into(),
                expected: a.is_some().to_string(),
                found: b.is_some().to_string(),
            }),
        }
    }
    out
}
