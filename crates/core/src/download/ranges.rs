//! Which bytes are done and who fetches what: a set of finished ranges and a work-stealing
//! scheduler. Ranges are half-open `[start, end)` in bytes.

/// Sorted, non-overlapping, non-adjacent half-open ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RangeSet {
    ranges: Vec<(u64, u64)>,
}

impl RangeSet {
    pub fn from_ranges(input: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut s = Self::default();
        for (a, b) in input {
            s.insert(a, b);
        }
        s
    }

    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        // Ranges overlapping or touching [start, end) merge into one.
        let first = self.ranges.partition_point(|&(_, e)| e < start);
        let last = self.ranges.partition_point(|&(s, _)| s <= end);
        if first == last {
            self.ranges.insert(first, (start, end));
            return;
        }
        let s = start.min(self.ranges[first].0);
        let e = end.max(self.ranges[last - 1].1);
        self.ranges.splice(first..last, [(s, e)]);
    }

    pub fn covered(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| b - a).sum()
    }

    /// The parts of `[0, total)` not in the set.
    pub fn gaps(&self, total: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = 0;
        for &(a, b) in &self.ranges {
            if a >= total {
                break;
            }
            if a > at {
                out.push((at, a));
            }
            at = at.max(b);
        }
        if at < total {
            out.push((at, total));
        }
        out
    }
}

/// One connection's current assignment: it owns `[pos, end)`; `pos` is reserved before the bytes
/// are written, so a thief never takes bytes already on their way to disk.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    pos: u64,
    end: u64,
}

impl Slot {
    fn remaining(&self) -> u64 {
        self.end.saturating_sub(self.pos)
    }
}

/// Hands out ranges: first the gaps left by an earlier run, then halves of the largest range still
/// being fetched (work stealing), so fast connections keep taking work from slow ones.
#[derive(Debug)]
pub(crate) struct Scheduler {
    pending: Vec<(u64, u64)>,
    slots: Vec<Slot>,
    min_split: u64,
    pub steals: u64,
}

impl Scheduler {
    pub fn new(pending: Vec<(u64, u64)>, workers: usize, min_split: u64) -> Self {
        Self {
            pending,
            slots: vec![Slot::default(); workers],
            min_split: min_split.max(1),
            steals: 0,
        }
    }

    /// Gives `slot` exactly `[start, end)` (the range the first request already asked for).
    pub fn claim(&mut self, slot: usize, start: u64, end: u64) {
        let mut rest = Vec::with_capacity(self.pending.len() + 1);
        for &(a, b) in &self.pending {
            if b <= start || a >= end {
                rest.push((a, b));
            } else {
                if a < start {
                    rest.push((a, start));
                }
                if b > end {
                    rest.push((end, b));
                }
            }
        }
        self.pending = rest;
        self.slots[slot] = Slot { pos: start, end };
    }

    /// The next range for `slot`, or `None` when nothing is left worth splitting.
    pub fn next(&mut self, slot: usize) -> Option<(u64, u64)> {
        self.slots[slot] = Slot::default();
        if !self.pending.is_empty() {
            // Largest gap first: small gaps (chunks in flight when a run stopped) are cheap tails.
            let i = (0..self.pending.len()).max_by_key(|&i| self.pending[i].1 - self.pending[i].0)?;
            let (a, b) = self.pending.swap_remove(i);
            self.slots[slot] = Slot { pos: a, end: b };
            return Some((a, b));
        }
        let (victim, rem) = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.remaining()))
            .max_by_key(|&(i, r)| (r, std::cmp::Reverse(i)))?;
        // Splitting below twice the minimum would trade a few bytes for a new request's latency.
        if rem < 2 * self.min_split {
            return None;
        }
        let v = self.slots[victim];
        let mid = v.pos + rem / 2;
        self.slots[victim].end = mid;
        self.slots[slot] = Slot { pos: mid, end: v.end };
        self.steals += 1;
        Some((mid, v.end))
    }

    /// Reserves up to `n` bytes at the slot's position; fewer (maybe 0) when a thief shortened it.
    /// Returns the offset where they go and how many to keep.
    pub fn reserve(&mut self, slot: usize, n: u64) -> (u64, u64) {
        let s = &mut self.slots[slot];
        let take = n.min(s.remaining());
        let at = s.pos;
        s.pos += take;
        (at, take)
    }

    /// The slot's `(pos, end)`; `end` shrinks when a thief takes the tail.
    pub fn current(&self, slot: usize) -> (u64, u64) {
        (self.slots[slot].pos, self.slots[slot].end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rangeset_merges_and_finds_gaps() {
        let mut s = RangeSet::default();
        s.insert(10, 20);
        s.insert(30, 40);
        s.insert(20, 30);
        assert_eq!(s.ranges(), &[(10, 40)]);
        s.insert(0, 5);
        s.insert(50, 60);
        s.insert(4, 55);
        assert_eq!(s.ranges(), &[(0, 60)]);
        let s = RangeSet::from_ranges([(5, 10), (20, 30)]);
        assert_eq!(s.gaps(40), vec![(0, 5), (10, 20), (30, 40)]);
        assert_eq!(s.covered(), 15);
        assert_eq!(RangeSet::default().gaps(7), vec![(0, 7)]);
    }

    #[test]
    fn idle_workers_steal_half_of_the_largest_range() {
        let mut s = Scheduler::new(vec![], 4, 10);
        s.claim(0, 0, 800);
        assert_eq!(s.next(1), Some((400, 800)));
        assert_eq!(s.next(2), Some((200, 400)));
        assert_eq!(s.next(3), Some((600, 800)));
        // Slot 0 finished its 200 bytes and steals from the first of the equal largest (slot 1).
        assert_eq!(s.reserve(0, 500), (0, 200));
        assert_eq!(s.next(0), Some((500, 600)));
        assert_eq!(s.steals, 4);
    }

    #[test]
    fn never_splits_below_twice_the_minimum() {
        let mut s = Scheduler::new(vec![], 2, 100);
        s.claim(0, 0, 199);
        assert_eq!(s.next(1), None);
        let mut s = Scheduler::new(vec![], 2, 100);
        s.claim(0, 0, 200);
        assert_eq!(s.next(1), Some((100, 200)));
    }

    #[test]
    fn a_stolen_slot_reserves_only_up_to_its_new_end() {
        let mut s = Scheduler::new(vec![], 2, 1);
        s.claim(0, 0, 100);
        assert_eq!(s.next(1), Some((50, 100)));
        assert_eq!(s.reserve(0, 40), (0, 40));
        assert_eq!(s.reserve(0, 40), (40, 10));
        assert_eq!(s.reserve(0, 40), (50, 0));
    }

    #[test]
    fn pending_gaps_are_handed_out_before_stealing() {
        let mut s = Scheduler::new(vec![(0, 10), (50, 1000), (2000, 2100)], 3, 10);
        s.claim(0, 0, 10);
        assert_eq!(s.next(1), Some((50, 1000)));
        assert_eq!(s.next(2), Some((2000, 2100)));
        assert_eq!(s.next(0), Some((525, 1000)));
    }
}
