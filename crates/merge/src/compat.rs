//! Which inputs can be joined by copying: everything a decoder configures itself from must be the
//! same as in the first input (for an audio or subtitle track, the first input that has it).
//! Timescales may differ (tables are rescaled), bitrates may differ. A missing subtitle track is
//! filled with empty samples, a missing AAC-LC track with silence; any other missing track is a
//! mismatch. mov_text styling defaults (font table, colours) are taken from the first input and not
//! compared: cue text and timing are what a join must keep.

use crate::fill::aac_layout;
use crate::input::{Input, SampleEntry};
use crate::tracks::{Slot, TrackKind};
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
    if a.codec == "tx3g" {
        return;
    }
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

/// Every difference between input 0 and the others, in input order, then per output track.
pub fn mismatches(inputs: &[Input], slots: &[Slot]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let Some(first) = inputs.first() else { return out };
    for inp in &inputs[1..] {
        compare_entry(&mut out, inp.index, "video", &first.video.entry, &inp.video.entry);
    }
    for slot in slots {
        let tracks: Vec<Option<&SampleEntry>> = inputs
            .iter()
            .zip(&slot.sources)
            .map(|(inp, s)| s.map(|i| &slot.kind.of(inp)[i].entry))
            .collect();
        let Some(reference) = tracks.iter().flatten().next().copied() else {
            continue;
        };
        let fillable =
            slot.kind == TrackKind::Subtitle || aac_layout(&reference.codec, &reference.config).is_some();
        for (inp, t) in inputs.iter().zip(&tracks) {
            match t {
                Some(e) => compare_entry(&mut out, inp.index, &slot.name, reference, e),
                None if !fillable => out.push(Mismatch {
                    input: inp.index,
                    field: format!("{}.present", slot.name),
                    expected: format!("true ({} silence cannot be written)", reference.codec),
                    found: "false".into(),
                }),
                None => {}
            }
        }
    }
    out.sort_by_key(|m| m.input);
    out
}
