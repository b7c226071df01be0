//! Which output tracks the merge writes besides the video, and which track of each input feeds
//! each of them: audio and subtitle tracks matched by kind and language, in the caller's order
//! (or, without one, in the order the inputs first show them).

use reel_core::{ErrorCode, ReelError, Result};

use crate::input::{Input, Track};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Subtitle,
}

impl TrackKind {
    pub fn name(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Subtitle => "subtitle",
        }
    }
    pub fn of(self, input: &Input) -> &[Track] {
        match self {
            TrackKind::Audio => &input.audio,
            TrackKind::Subtitle => &input.subtitles,
        }
    }
}

/// One asked-for output track: an ISO 639-2 language ("jpn"), and whether players pick it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackChoice {
    pub language: String,
    pub default: bool,
}

/// One output track besides the video.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub kind: TrackKind,
    pub language: String,
    pub default: bool,
    /// How mismatches name it: "audio" when it is the only one of its kind, else "audio[jpn]"
    /// ("audio[jpn#2]" for a second track of the same language).
    pub name: String,
    /// Per input, the index (into that input's tracks of this kind) of the track that feeds it;
    /// `None` where the input has no such track and the gap is filled.
    pub sources: Vec<Option<usize>>,
}

/// The ISO 639-2 code packed in mdhd: three letters, five bits each, minus 0x60.
pub fn pack_language(code: &str) -> Option<u16> {
    let b = code.as_bytes();
    if b.len() != 3 || !b.iter().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    Some(b.iter().fold(0u16, |acc, &c| (acc << 5) | (c - 0x60) as u16))
}

pub fn unpack_language(packed: u16) -> String {
    let s: String = [10, 5, 0]
        .iter()
        .map(|sh| (((packed >> sh) & 31) as u8 + 0x60) as char)
        .collect();
    if pack_language(&s).is_some() {
        s
    } else {
        "und".into()
    }
}

fn lang(t: &Track) -> String {
    unpack_language(t.language)
}

/// The input's n-th track of `kind` in `language` (0-based n).
fn nth(input: &Input, kind: TrackKind, language: &str, n: usize) -> Option<usize> {
    kind.of(input)
        .iter()
        .enumerate()
        .filter(|(_, t)| lang(t) == language)
        .nth(n)
        .map(|(i, _)| i)
}

/// Without a choice: one audio track when no input has more than one (today's single-track
/// merge, languages not compared), else every (language, occurrence) any input has. Subtitles
/// are always matched by language: an English and a Japanese one never share a track.
fn auto(inputs: &[Input], kind: TrackKind) -> Vec<Slot> {
    if kind == TrackKind::Audio && inputs.iter().all(|i| kind.of(i).len() <= 1) {
        let sources: Vec<Option<usize>> = inputs
            .iter()
            .map(|i| (!kind.of(i).is_empty()).then_some(0))
            .collect();
        let Some(first) = inputs.iter().find_map(|i| kind.of(i).first()) else {
            return vec![];
        };
        return vec![slot(kind, lang(first), first.flags & 1 != 0, sources)];
    }
    let mut keys: Vec<(String, usize, bool)> = Vec::new();
    for inp in inputs {
        let mut seen: Vec<String> = Vec::new();
        for t in kind.of(inp) {
            let l = lang(t);
            let occ = seen.iter().filter(|s| **s == l).count();
            seen.push(l.clone());
            if !keys.iter().any(|k| k.0 == l && k.1 == occ) {
                keys.push((l, occ, t.flags & 1 != 0));
            }
        }
    }
    keys.into_iter()
        .map(|(l, occ, default)| {
            let sources = inputs.iter().map(|i| nth(i, kind, &l, occ)).collect();
            slot(kind, l, default, sources)
        })
        .collect()
}

fn slot(kind: TrackKind, language: String, default: bool, sources: Vec<Option<usize>>) -> Slot {
    Slot {
        kind,
        name: String::new(),
        language,
        default,
        sources,
    }
}

/// The caller's order. A lone untagged ("und") track stands for a lone asked-for language.
fn chosen(inputs: &[Input], kind: TrackKind, choices: &[TrackChoice]) -> Result<Vec<Slot>> {
    let mut out = Vec::new();
    for (i, c) in choices.iter().enumerate() {
        if pack_language(&c.language).is_none() {
            return Err(ReelError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "{} track {i}: language '{}' is not an ISO 639-2 code such as 'eng' or 'jpn'",
                    kind.name(),
                    c.language
                ),
            ));
        }
        let occ = choices[..i].iter().filter(|p| p.language == c.language).count();
        let sources = inputs
            .iter()
            .map(|inp| {
                let lone = choices.len() == 1 && kind.of(inp).len() == 1 && lang(&kind.of(inp)[0]) == "und";
                nth(inp, kind, &c.language, occ).or(lone.then_some(0))
            })
            .collect();
        out.push(slot(kind, c.language.clone(), c.default, sources));
    }
    Ok(out)
}

/// At most one default per kind: the first marked one. Audio always has one (the first track when
/// none is marked, as ffmpeg writes); subtitles only when asked, since a default subtitle track is
/// shown without the viewer choosing it.
fn one_default(slots: &mut [Slot], kind: TrackKind) {
    let marked = slots.iter().position(|s| s.default);
    let pick = match kind {
        TrackKind::Audio => marked.or(Some(0)),
        TrackKind::Subtitle => marked,
    };
    for (i, s) in slots.iter_mut().enumerate() {
        s.default = Some(i) == pick;
    }
}

fn name(slots: &mut [Slot]) {
    let single = slots.len() == 1;
    for i in 0..slots.len() {
        let occ = slots[..i]
            .iter()
            .filter(|p| p.language == slots[i].language)
            .count();
        let s = &mut slots[i];
        s.name = match (single, occ) {
            (true, _) => s.kind.name().to_string(),
            (false, 0) => format!("{}[{}]", s.kind.name(), s.language),
            (false, n) => format!("{}[{}#{}]", s.kind.name(), s.language, n + 1),
        };
    }
}

/// Audio slots then subtitle slots, each kind from the caller's choice or from the inputs.
pub fn slots(
    inputs: &[Input],
    audio: Option<&[TrackChoice]>,
    subtitles: Option<&[TrackChoice]>,
) -> Result<Vec<Slot>> {
    let mut out = Vec::new();
    for (kind, choice) in [(TrackKind::Audio, audio), (TrackKind::Subtitle, subtitles)] {
        let mut list = match choice {
            Some(c) => chosen(inputs, kind, c)?,
            None => auto(inputs, kind),
        };
        if choice.is_none() && kind == TrackKind::Subtitle {
            // ffmpeg enables the first subtitle track of every file it writes, so an input's
            // flag does not say anyone asked for it.
            list.iter_mut().for_each(|s| s.default = false);
        }
        one_default(&mut list, kind);
        name(&mut list);
        out.extend(list);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_pack_as_mdhd_stores_them() {
        assert_eq!(pack_language("und"), Some(0x55c4));
        assert_eq!(unpack_language(0x55c4), "und");
        assert_eq!(unpack_language(pack_language("jpn").unwrap()), "jpn");
        assert_eq!(pack_language("EN"), None);
        assert_eq!(unpack_language(0), "und");
    }
}
