//! Samples the merge writes itself where an input lacks an output track: silent AAC-LC frames
//! (every channel element with no spectral data, which decodes to exact zeros) and empty mov_text
//! samples (a zero text length).

/// An empty mov_text sample: a 16-bit text length of 0.
pub const EMPTY_TEXT: [u8; 2] = [0, 0];

/// What a silent frame needs from an AAC track: its channel layout and frame length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AacLayout {
    pub channel_config: u8,
    /// Samples per frame: 1024, or 960 when the config says so.
    pub frame_len: u32,
}

/// Reads AAC-LC's channel configuration and frame length from the merge's audio config bytes
/// (objectTypeIndication then AudioSpecificConfig). `None` for anything a silent LC frame cannot
/// stand in for (HE-AAC, Opus, explicit channel layouts).
pub fn aac_layout(codec: &str, config: &[u8]) -> Option<AacLayout> {
    if codec != "mp4a" || config.len() < 3 || config[0] != 0x40 {
        return None;
    }
    let asc = u16::from_be_bytes([config[1], config[2]]);
    let object_type = asc >> 11;
    let freq_index = (asc >> 7) & 15;
    let channel_config = ((asc >> 3) & 15) as u8;
    let short_frames = asc & 4 != 0;
    if object_type != 2 || freq_index == 15 || !(1..=7).contains(&channel_config) {
        return None;
    }
    Some(AacLayout {
        channel_config,
        frame_len: if short_frames { 960 } else { 1024 },
    })
}

struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, bits: u32) {
        for i in (0..bits).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put(0, pad);
        }
        self.out
    }
}

/// individual_channel_stream with no scale factor bands: gain, long window, max_sfb 0, no tools.
fn empty_ics(b: &mut Bits) {
    b.put(100, 8); // global_gain: any value, nothing is scaled by it
    b.put(0, 1); // ics_reserved_bit
    b.put(0, 2); // window_sequence ONLY_LONG
    b.put(0, 1); // window_shape
    b.put(0, 6); // max_sfb
    b.put(0, 1); // predictor_data_present
    b.put(0, 3); // pulse, tns, gain control: absent
}

/// One raw AAC-LC frame of silence for a channel configuration (1 to 7), laid out as ISO 14496-3
/// Table 1.19 orders the elements.
pub fn silent_aac_frame(channel_config: u8) -> Vec<u8> {
    const SCE: u32 = 0;
    const CPE: u32 = 1;
    const LFE: u32 = 3;
    let elements: &[u32] = match channel_config {
        1 => &[SCE],
        2 => &[CPE],
        3 => &[SCE, CPE],
        4 => &[SCE, CPE, SCE],
        5 => &[SCE, CPE, CPE],
        6 => &[SCE, CPE, CPE, LFE],
        _ => &[SCE, CPE, CPE, CPE, LFE],
    };
    let mut b = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    let mut tags = [0u32; 4];
    for &e in elements {
        b.put(e, 3);
        b.put(tags[e as usize], 4);
        tags[e as usize] += 1;
        if e == CPE {
            b.put(0, 1); // common_window: each channel has its own (empty) ics_info
            empty_ics(&mut b);
        }
        empty_ics(&mut b);
    }
    b.put(7, 3); // ID_END
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lc_layouts_and_refuses_what_silence_cannot_match() {
        // ffmpeg's 48 kHz stereo LC: 0x1190.
        let lc = [0x40, 0x11, 0x90];
        assert_eq!(
            aac_layout("mp4a", &lc),
            Some(AacLayout {
                channel_config: 2,
                frame_len: 1024
            })
        );
        assert_eq!(aac_layout("mp4a", &[0x40, 0x2b, 0x92, 0x08, 0x00]), None); // HE-AAC (5)
        assert_eq!(aac_layout("Opus", &lc), None);
        assert_eq!(aac_layout("mp4a", &[0x40, 0x11, 0x80]), None); // channel config 0
    }

    #[test]
    fn silent_frames_are_byte_aligned_and_end_with_id_end() {
        assert_eq!(silent_aac_frame(1), vec![0x00, 0xc8, 0x00, 0x07]);
        assert_eq!(silent_aac_frame(2).len(), 7);
        for c in 1..=7 {
            assert!(!silent_aac_frame(c).is_empty());
        }
    }
}
