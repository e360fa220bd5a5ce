//! ZSCAN over a [`ZSet`]: the whole `listpack` at once (as Redis), the `skiplist` encoding by the member
//! index's reverse-binary cursor.
//!
//! The index holds `(hash, score)` per member, not the member: a page's slots are turned back into members
//! by walking, once per distinct score of the page, the members with that score in the ordered nodes and
//! keeping those whose hash the page holds. That costs the length of the score's run, so a big set whose
//! members share one score (a lexicographic index) pays O(members) per call where Redis pays O(COUNT).

use super::{Repr, ZSet};
use crate::types::elem::{Elem, INT_TEXT_BYTES_MAX};
use crate::types::home_scan::scan_page;
use allocator_api2::alloc::Allocator;

impl<A: Allocator + Copy> ZSet<A> {
    /// One ZSCAN call from `cursor`: hands `visit(member, score)` a page of members and returns the next
    /// cursor, 0 when the iteration is complete. `listpack`: every member, cursor 0. `skiplist`: buckets of
    /// the member index until the page holds `count` items (members and scores, as Redis counts them) or
    /// `10 * count` buckets were visited. A member present from the first call to the last is returned at
    /// least once (SCAN's guarantee, resizes included); one may be returned more than once.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Elem<'_>, f64)) -> u64 {
        let sorted = match &self.repr {
            Repr::Pack(_) => {
                self.iter().for_each(|(member, score)| visit(member, score));
                return 0;
            }
            Repr::Skip(sorted) => sorted,
        };
        let mut page: Vec<(f64, u32)> = Vec::new();
        let next = scan_page(cursor, count, |at| {
            let next = sorted
                .table
                // `+ 0.0` makes -0 the 0 the nodes hold, so equal scores sort together.
                .scan(at, |hash, score| page.push((score + 0.0, hash)));
            (next, page.len().saturating_mul(2))
        });
        page.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        page.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let mut buf = [0u8; INT_TEXT_BYTES_MAX];
        for run in page.chunk_by(|a, b| a.0 == b.0) {
            let score = run[0].0;
            let first = self.count_before(|_, s| s < score);
            for (member, s) in self.range(first, self.len(), false) {
                if s != score {
                    break;
                }
                let hash = sorted.table.hash(member.to_bytes(&mut buf));
                if run.binary_search_by(|probe| probe.1.cmp(&hash)).is_ok() {
                    visit(member, s);
                }
            }
        }
        next
    }
}
