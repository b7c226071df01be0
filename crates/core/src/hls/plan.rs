//! Which requests fetch a playlist's segments: one per whole-resource segment, and byte-range
//! segments that follow each other in one resource coalesced into one range request, bounded so
//! that a single file still spreads over every connection.

use std::ops::Range;

use super::playlist::ByteRange;

/// A coalesced request never asks for more than this by default (HlsOptions::max_range_request_bytes).
pub(crate) const MAX_RANGE_REQUEST_BYTES: u64 = 8 << 20;

/// One HTTP request: the segments it carries, consecutive in playlist order, and the bytes it asks
/// for (`None`: the whole resource, always a single segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub segments: Range<usize>,
    pub range: Option<ByteRange>,
}

/// The size up to which adjacent ranges are joined: the ranged bytes shared out over the
/// connections, so a small single file is not one serial request, but never below an eighth of
/// `max` (smaller requests cost more in round trips than they win in parallelism) nor above `max`.
pub(crate) fn request_cap(ranged_bytes: u64, concurrency: usize, max: u64) -> u64 {
    let max = max.max(1);
    ranged_bytes
        .div_ceil(concurrency.max(1) as u64)
        .clamp((max / 8).max(1), max)
}

/// Joins a segment to the request before it when both are ranges of the same resource, the
/// segment starts where the request ends, and the sum stays within `cap`. A segment larger than
/// `cap` is still one request: segments are never split.
pub(crate) fn coalesce<K: PartialEq>(segments: &[(K, Option<ByteRange>)], cap: u64) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    for (i, (resource, range)) in segments.iter().enumerate() {
        if let (Some(r), Some(last)) = (range, out.last_mut()) {
            let same = &segments[last.segments.start].0 == resource;
            if let Some(lr) = last.range.as_mut().filter(|lr| same && lr.end() == r.offset) {
                if lr.len + r.len <= cap {
                    lr.len += r.len;
                    last.segments.end = i + 1;
                    continue;
                }
            }
        }
        out.push(Request {
            segments: i..i + 1,
            range: *range,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(offset: u64, len: u64) -> Option<ByteRange> {
        Some(ByteRange { offset, len })
    }

    fn req(segments: Range<usize>, range: Option<ByteRange>) -> Request {
        Request { segments, range }
    }

    #[test]
    fn adjacent_ranges_of_one_file_join_up_to_the_cap() {
        let segs = [
            ("a", r(0, 40)),
            ("a", r(40, 40)),
            ("a", r(80, 40)),
            ("a", r(120, 10)),
        ];
        assert_eq!(
            coalesce(&segs, 80),
            vec![req(0..2, r(0, 80)), req(2..4, r(80, 50))]
        );
        assert_eq!(coalesce(&segs, 1000), vec![req(0..4, r(0, 130))]);
        // A segment bigger than the cap is a request of its own, never split.
        assert_eq!(coalesce(&segs, 10).len(), 4);
    }

    #[test]
    fn gaps_overlaps_other_files_and_whole_resources_break_a_request() {
        let segs = [
            ("a", r(0, 10)),
            ("a", r(20, 10)), // gap
            ("a", r(25, 10)), // overlap
            ("b", r(35, 10)), // another file at the "right" offset
            ("b", r(45, 10)),
            ("c", None), // a whole resource
            ("c", None),
            ("b", r(55, 10)), // b again, after other requests: continues b's bytes but not its request
        ];
        assert_eq!(
            coalesce(&segs, 1000),
            vec![
                req(0..1, r(0, 10)),
                req(1..2, r(20, 10)),
                req(2..3, r(25, 10)),
                req(3..5, r(35, 20)),
                req(5..6, None),
                req(6..7, None),
                req(7..8, r(55, 10)),
            ]
        );
    }

    #[test]
    fn the_cap_shares_a_file_among_connections_within_bounds() {
        let max = 8 << 20;
        // 1 GiB over 8 connections: the max wins.
        assert_eq!(request_cap(1 << 30, 8, max), max);
        // 20 MiB over 8: 2.5 MiB each, so all 8 connections get work.
        assert_eq!(request_cap(20 << 20, 8, max), (20 << 20) / 8);
        // 300 KB: not split below an eighth of the max (1 MiB).
        assert_eq!(request_cap(300_000, 8, max), 1 << 20);
        assert_eq!(request_cap(0, 0, 0), 1);
    }
}
