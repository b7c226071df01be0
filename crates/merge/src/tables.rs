//! Sample tables expanded to one entry per sample (tables only, never sample data), so that
//! inputs can be rescaled, retimed at joins and concatenated, then run-length encoded again.

use crate::boxes::read::{children, Cursor, ParseResult};
use crate::boxes::write::BoxWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub offset: u64,
    pub samples: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleTable {
    /// Decode durations (stts), one per sample.
    pub durations: Vec<u32>,
    /// Composition offsets (ctts); empty when the track has none.
    pub cts: Vec<i32>,
    pub sizes: Vec<u32>,
    /// 1-based sync sample numbers; `None` means every sample is a sync sample (no stss).
    pub sync: Option<Vec<u32>>,
    pub chunks: Vec<Chunk>,
    /// Sample-to-group runs (sbgp) for the track's single sgpd, if it has exactly one.
    pub groups: Option<Vec<(u32, u32)>>,
}

impl SampleTable {
    pub fn len(&self) -> usize {
        self.sizes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }
    pub fn total_duration(&self) -> u64 {
        self.durations.iter().map(|&d| d as u64).sum()
    }

    /// End of the last presented sample in media time: max(dts + cts + duration). With B-frames
    /// this is past the decode end by the composition shift.
    pub fn presentation_end(&self) -> i64 {
        let mut dts = 0i64;
        let mut end = 0i64;
        for (i, &d) in self.durations.iter().enumerate() {
            let pts = dts + self.cts.get(i).copied().unwrap_or(0) as i64;
            end = end.max(pts + d as i64);
            dts += d as i64;
        }
        end
    }

    /// (offset, byte length) of each chunk, in file order of the table.
    pub fn chunk_spans(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::with_capacity(self.chunks.len());
        let mut s = 0usize;
        for c in &self.chunks {
            let n = c.samples as usize;
            let len: u64 = self.sizes[s..s + n].iter().map(|&x| x as u64).sum();
            out.push((c.offset, len));
            s += n;
        }
        out
    }

    /// Converts durations and composition offsets to another timescale. Positions are rounded
    /// from the running total, so rounding never accumulates into drift.
    pub fn rescale(&mut self, from: u32, to: u32) {
        if from == to {
            return;
        }
        let conv = |t: i128| -> i128 { (t * to as i128 + from as i128 / 2).div_euclid(from as i128) };
        let mut t: i128 = 0;
        let mut prev_out: i128 = 0;
        for i in 0..self.durations.len() {
            let dts = t;
            if let Some(c) = self.cts.get_mut(i) {
                *c = (conv(dts + *c as i128) - conv(dts)) as i32;
            }
            t += self.durations[i] as i128;
            let out = conv(t);
            self.durations[i] = (out - prev_out).max(1) as u32;
            prev_out = out;
        }
    }

    /// Appends `other`, whose chunk offsets are moved by `offset_delta` (its place in the output).
    pub fn append(&mut self, other: &SampleTable, offset_delta: i64) {
        let base = self.len() as u32;
        let had_cts = !self.cts.is_empty();
        if had_cts || !other.cts.is_empty() {
            self.cts.resize(self.len(), 0);
            self.cts
                .extend_from_slice(if other.cts.is_empty() { &[] } else { &other.cts });
            self.cts.resize(self.len() + other.len(), 0);
        }
        match (&mut self.sync, &other.sync) {
            (None, None) => {}
            (mine, theirs) => {
                let mine = mine.get_or_insert_with(|| (1..=base).collect());
                match theirs {
                    Some(t) => mine.extend(t.iter().map(|n| n + base)),
                    None => mine.extend(base + 1..=base + other.len() as u32),
                }
            }
        }
        match (&mut self.groups, &other.groups) {
            (Some(g), Some(o)) => {
                let covered: u64 = g.iter().map(|r| r.0 as u64).sum();
                if covered < base as u64 {
                    g.push((base - covered as u32, 0));
                }
                g.extend_from_slice(o);
            }
            _ => self.groups = None,
        }
        self.durations.extend_from_slice(&other.durations);
        self.sizes.extend_from_slice(&other.sizes);
        self.chunks.extend(other.chunks.iter().map(|c| Chunk {
            offset: (c.offset as i64 + offset_delta) as u64,
            samples: c.samples,
        }));
    }

    /// Moves every chunk by `delta` bytes (the input's place in the output's mdat).
    pub fn shift_chunks(&mut self, delta: i64) {
        for c in &mut self.chunks {
            c.offset = (c.offset as i64 + delta) as u64;
        }
    }

    /// Appends one sample in a chunk of its own at `offset` (a sample the merge writes itself).
    pub fn push_sample(&mut self, duration: u32, size: u32, offset: u64) {
        if !self.cts.is_empty() {
            self.cts.push(0);
        }
        if let Some(sync) = &mut self.sync {
            sync.push(self.sizes.len() as u32 + 1);
        }
        self.durations.push(duration);
        self.sizes.push(size);
        self.chunks.push(Chunk { offset, samples: 1 });
    }

    /// Changes the track's length by `delta` ticks through its last sample durations: a longer
    /// last sample, or a tail squeezed sample by sample (each kept at half its length or more,
    /// never 0, so DTS stay strictly increasing). Returns the part of `delta` that did not fit.
    pub fn retime_tail(&mut self, delta: i64) -> i64 {
        if delta >= 0 {
            if let Some(last) = self.durations.last_mut() {
                let room = (u32::MAX - *last) as i64;
                let take = delta.min(room);
                *last += take as u32;
                return delta - take;
            }
            return delta;
        }
        let mut need = -delta;
        for d in self.durations.iter_mut().rev() {
            if need == 0 {
                break;
            }
            let floor = (*d / 2).max(1);
            let take = ((*d - floor.min(*d)) as i64).min(need);
            *d -= take as u32;
            need -= take;
        }
        -need
    }
}

/// Reads stts, ctts, stss, stsz/stz2, stsc, stco/co64 and sbgp from an stbl payload.
pub fn parse_stbl(stbl: &[u8]) -> ParseResult<SampleTable> {
    let kids = children(stbl)?;
    let get = |k: &[u8; 4]| kids.iter().find(|b| &b.kind == k).map(|b| b.payload);
    let mut t = SampleTable::default();

    // Sample sizes first: they fix the sample count every other table must agree with.
    if let Some(p) = get(b"stsz") {
        let mut c = Cursor::new(p, "stsz");
        c.full()?;
        let fixed = c.u32()?;
        let n = c.u32()? as u64;
        if fixed != 0 {
            if n > 1 << 32 {
                return Err("stsz sample count is absurd".into());
            }
            t.sizes = vec![fixed; n as usize];
        } else {
            c.expect_table(n, 4)?;
            t.sizes = (0..n).map(|_| c.u32()).collect::<ParseResult<_>>()?;
        }
    } else if let Some(p) = get(b"stz2") {
        let mut c = Cursor::new(p, "stz2");
        c.full()?;
        c.skip(3)?;
        let field = c.u8()?;
        let n = c.u32()? as u64;
        c.expect_table(n * field as u64 / 8, 1)?;
        t.sizes = match field {
            4 => {
                let mut v = Vec::with_capacity(n as usize);
                for i in 0..n {
                    let b = c.rest()[(i / 2) as usize];
                    v.push(if i % 2 == 0 {
                        (b >> 4) as u32
                    } else {
                        (b & 15) as u32
                    });
                }
                v
            }
            8 => (0..n)
                .map(|_| c.u8().map(|x| x as u32))
                .collect::<ParseResult<_>>()?,
            16 => (0..n)
                .map(|_| c.u16().map(|x| x as u32))
                .collect::<ParseResult<_>>()?,
            f => return Err(format!("stz2 field size {f} is invalid")),
        };
    } else {
        return Err("stbl has no stsz or stz2".into());
    }
    let n = t.sizes.len();

    let mut c = Cursor::new(get(b"stts").ok_or("stbl has no stts")?, "stts");
    c.full()?;
    let entries = c.u32()? as u64;
    c.expect_table(entries, 8)?;
    for _ in 0..entries {
        let count = c.u32()? as usize;
        let delta = c.u32()?;
        if t.durations.len() + count > n {
            return Err("stts covers more samples than stsz".into());
        }
        t.durations.extend(std::iter::repeat_n(delta, count));
    }
    if t.durations.len() != n {
        return Err(format!("stts covers {} samples, stsz has {n}", t.durations.len()));
    }

    if let Some(p) = get(b"ctts") {
        let mut c = Cursor::new(p, "ctts");
        // Version 0 offsets are unsigned but ffmpeg and x264 never exceed i32; version 1 is signed.
        c.full()?;
        let entries = c.u32()? as u64;
        c.expect_table(entries, 8)?;
        for _ in 0..entries {
            let count = c.u32()? as usize;
            let off = c.u32()? as i32;
            if t.cts.len() + count > n {
                return Err("ctts covers more samples than stsz".into());
            }
            t.cts.extend(std::iter::repeat_n(off, count));
        }
        t.cts.resize(n, 0);
    }

    if let Some(p) = get(b"stss") {
        let mut c = Cursor::new(p, "stss");
        c.full()?;
        let entries = c.u32()? as u64;
        c.expect_table(entries, 4)?;
        t.sync = Some((0..entries).map(|_| c.u32()).collect::<ParseResult<_>>()?);
    }

    let offsets: Vec<u64> = if let Some(p) = get(b"stco") {
        let mut c = Cursor::new(p, "stco");
        c.full()?;
        let entries = c.u32()? as u64;
        c.expect_table(entries, 4)?;
        (0..entries)
            .map(|_| c.u32().map(|x| x as u64))
            .collect::<ParseResult<_>>()?
    } else if let Some(p) = get(b"co64") {
        let mut c = Cursor::new(p, "co64");
        c.full()?;
        let entries = c.u32()? as u64;
        c.expect_table(entries, 8)?;
        (0..entries).map(|_| c.u64()).collect::<ParseResult<_>>()?
    } else {
        return Err("stbl has no stco or co64".into());
    };

    let mut c = Cursor::new(get(b"stsc").ok_or("stbl has no stsc")?, "stsc");
    c.full()?;
    let entries = c.u32()? as u64;
    c.expect_table(entries, 12)?;
    let mut runs = Vec::with_capacity(entries as usize);
    for _ in 0..entries {
        let first = c.u32()?;
        let per = c.u32()?;
        let sdi = c.u32()?;
        if sdi != 1 {
            return Err("UNSUPPORTED:more than one sample description".into());
        }
        runs.push((first, per));
    }
    let mut assigned = 0usize;
    for (i, &(first, per)) in runs.iter().enumerate() {
        let next = runs.get(i + 1).map(|r| r.0 as usize).unwrap_or(offsets.len() + 1);
        if first == 0 || (first as usize) > next {
            return Err("stsc entries are out of order".into());
        }
        for ch in first as usize..next {
            let off = *offsets
                .get(ch - 1)
                .ok_or("stsc refers to a chunk missing from stco")?;
            if assigned + per as usize > n {
                return Err("stsc assigns more samples than stsz has".into());
            }
            t.chunks.push(Chunk {
                offset: off,
                samples: per,
            });
            assigned += per as usize;
        }
    }
    if assigned != n {
        return Err(format!("chunks hold {assigned} samples, stsz has {n}"));
    }

    if let Some(p) = get(b"sbgp") {
        let several = kids
            .iter()
            .filter(|b| &b.kind == b"sbgp" || &b.kind == b"sgpd")
            .count()
            != 2;
        if !several {
            let mut c = Cursor::new(p, "sbgp");
            let (v, _) = c.full()?;
            c.u32()?;
            if v == 1 {
                c.u32()?;
            }
            let entries = c.u32()? as u64;
            c.expect_table(entries, 8)?;
            t.groups = Some(
                (0..entries)
                    .map(|_| Ok((c.u32()?, c.u32()?)))
                    .collect::<ParseResult<_>>()?,
            );
        }
    }
    Ok(t)
}

fn rle<T: Copy + PartialEq>(v: &[T]) -> Vec<(u32, T)> {
    let mut out: Vec<(u32, T)> = Vec::new();
    for &x in v {
        match out.last_mut() {
            Some((n, y)) if *y == x => *n += 1,
            _ => out.push((1, x)),
        }
    }
    out
}

/// Writes the stbl box: `stsd` and `sgpd` are whole boxes copied from the first input;
/// `chunk_base` is added to every chunk offset; `large` selects co64 over stco.
pub fn write_stbl(
    w: &mut BoxWriter,
    t: &SampleTable,
    stsd: &[u8],
    sgpd: Option<&[u8]>,
    chunk_base: u64,
    large: bool,
) {
    w.open(b"stbl");
    w.bytes(stsd);

    let stts = rle(&t.durations);
    w.open_full(b"stts", 0, 0);
    w.u32(stts.len() as u32);
    for (n, d) in stts {
        w.u32(n);
        w.u32(d);
    }
    w.close();

    if let Some(sync) = &t.sync {
        w.open_full(b"stss", 0, 0);
        w.u32(sync.len() as u32);
        for &s in sync {
            w.u32(s);
        }
        w.close();
    }

    if t.cts.iter().any(|&c| c != 0) {
        let neg = t.cts.iter().any(|&c| c < 0);
        w.open_full(b"ctts", if neg { 1 } else { 0 }, 0);
        let runs = rle(&t.cts);
        w.u32(runs.len() as u32);
        for (n, c) in runs {
            w.u32(n);
            w.i32(c);
        }
        w.close();
    }

    let per_chunk: Vec<u32> = t.chunks.iter().map(|c| c.samples).collect();
    let mut stsc = Vec::new();
    for (i, &n) in per_chunk.iter().enumerate() {
        if stsc.last().map(|&(_, m)| m) != Some(n) {
            stsc.push((i as u32 + 1, n));
        }
    }
    w.open_full(b"stsc", 0, 0);
    w.u32(stsc.len() as u32);
    for (first, n) in stsc {
        w.u32(first);
        w.u32(n);
        w.u32(1);
    }
    w.close();

    w.open_full(b"stsz", 0, 0);
    let fixed = t
        .sizes
        .first()
        .copied()
        .filter(|&s| t.sizes.iter().all(|&x| x == s));
    w.u32(fixed.unwrap_or(0));
    w.u32(t.sizes.len() as u32);
    if fixed.is_none() {
        for &s in &t.sizes {
            w.u32(s);
        }
    }
    w.close();

    w.open_full(if large { b"co64" } else { b"stco" }, 0, 0);
    w.u32(t.chunks.len() as u32);
    for c in &t.chunks {
        if large {
            w.u64(c.offset + chunk_base);
        } else {
            w.u32(u32::try_from(c.offset + chunk_base).expect("stco offset over 4 GiB; caller picks co64"));
        }
    }
    w.close();

    if let (Some(sgpd), Some(groups)) = (sgpd, &t.groups) {
        w.bytes(sgpd);
        // sbgp's grouping_type is the one named in sgpd (payload bytes 4..8 after version/flags).
        w.open_full(b"sbgp", 0, 0);
        w.bytes(&sgpd[12..16]);
        let runs: Vec<(u32, u32)> = groups.iter().copied().filter(|r| r.0 > 0).collect();
        w.u32(runs.len() as u32);
        for (n, g) in runs {
            w.u32(n);
            w.u32(g);
        }
        w.close();
    }
    w.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boxes::read::children;

    fn table() -> SampleTable {
        SampleTable {
            durations: vec![512, 512, 512, 300],
            cts: vec![1024, 2560, 0, 512],
            sizes: vec![100, 20, 20, 20],
            sync: Some(vec![1]),
            chunks: vec![
                Chunk {
                    offset: 48,
                    samples: 3,
                },
                Chunk {
                    offset: 500,
                    samples: 1,
                },
            ],
            groups: None,
        }
    }

    fn round_trip(t: &SampleTable, base: u64, large: bool) -> SampleTable {
        let mut stsd = BoxWriter::default();
        stsd.open_full(b"stsd", 0, 0);
        stsd.u32(0);
        stsd.close();
        let mut w = BoxWriter::default();
        write_stbl(&mut w, t, &stsd.buf, None, base, large);
        let b = w.into_inner();
        parse_stbl(children(&b).unwrap()[0].payload).unwrap()
    }

    #[test]
    fn stbl_round_trips_through_writer_and_reader() {
        let t = table();
        assert_eq!(round_trip(&t, 0, false), t);
        let back = round_trip(&t, 1 << 33, true);
        assert_eq!(back.chunks[1].offset, 500 + (1 << 33));
        assert_eq!(back.durations, t.durations);
    }

    #[test]
    fn append_concatenates_and_shifts_offsets_and_sync_numbers() {
        let mut a = table();
        let mut b = table();
        b.sync = None;
        a.append(&b, 1000);
        assert_eq!(a.len(), 8);
        assert_eq!(a.sync, Some(vec![1, 5, 6, 7, 8]));
        assert_eq!(a.chunks[2].offset, 1048);
        assert_eq!(a.chunk_spans()[2], (1048, 140));
        assert_eq!(a.total_duration(), 2 * 1836);
        assert_eq!(round_trip(&a, 0, false), a);
    }

    #[test]
    fn retime_tail_extends_or_squeezes_without_zero_durations() {
        let mut t = table();
        assert_eq!(t.retime_tail(88), 0);
        assert_eq!(t.durations, vec![512, 512, 512, 388]);
        let mut t = table();
        assert_eq!(t.retime_tail(-400), 0);
        assert_eq!(t.durations, vec![512, 512, 262, 150]);
        let mut t = table();
        let left = t.retime_tail(-10_000);
        assert!(left < 0 && t.durations.iter().all(|&d| d >= 150));
    }

    #[test]
    fn rescale_rounds_from_running_positions() {
        let mut t = table();
        t.durations = vec![1001; 3];
        t.cts = vec![2002, 0, 1001];
        t.rescale(30000, 90000);
        assert_eq!(t.durations, vec![3003; 3]);
        assert_eq!(t.cts, vec![6006, 0, 3003]);
        let mut t = table();
        t.durations = vec![1; 3];
        t.cts.clear();
        t.rescale(3, 10);
        assert_eq!(t.durations.iter().sum::<u32>(), 10);
    }
}
