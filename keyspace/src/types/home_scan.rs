//! SCAN over `hashbrown` arrays by *home* bucket: Redis's reverse-binary cursor
//! ([`crate::dict::scan_buckets`]) applied to open addressing, shared by the `hashtable` encodings of sets and
//! hashes ([`super::packed`]'s `Table`) and the `skiplist` sorted set's member index.
//!
//! An entry's home is the bucket its hash names (`hash & mask`); open addressing may store it a few groups
//! further. The hashes these tables hand `hashbrown` repeat their low 7 bits in their top 7 (hashbrown's tag,
//! [`with_home_tag`]), so in an array of at least 128 buckets every entry of home `b` carries the tag
//! `b % 128` and one tag probe from `b` finds them all (smaller arrays probe each tag congruent to `b`).

use crate::dict::scan_buckets;
use allocator_api2::alloc::Allocator;
use hashbrown::HashTable;

/// Bits of hashbrown's tag (the top bits of the 64-bit hash).
const TAG_BITS: u32 = 7;

/// Bits below the tag: they pick the home bucket.
const HOME_BITS: u32 = u64::BITS - TAG_BITS;

/// Distinct tags.
const TAGS: u64 = 1 << TAG_BITS;

/// `hash` with its top 7 bits replaced by its low 7 (see the module docs). The low bits, which pick the
/// bucket, are unchanged.
#[inline]
pub(crate) fn with_home_tag(hash: u64) -> u64 {
    (hash & ((1 << HOME_BITS) - 1)) | (hash << HOME_BITS)
}

/// Hands `visit` every entry of `array` whose home is bucket `home`; `hash_of` gives an entry's
/// hashbrown hash (built with [`with_home_tag`]).
fn visit_home<T, A: Allocator>(
    array: &HashTable<T, A>,
    home: u64,
    hash_of: &impl Fn(&T) -> u64,
    visit: &mut impl FnMut(&T),
) {
    let mask = array.num_buckets() as u64 - 1;
    // Arrays under 128 buckets: the tags of home `home` are every tag equal to it modulo the size.
    let stride = (mask + 1).min(TAGS);
    for tag in ((home & (stride - 1))..TAGS).step_by(stride as usize) {
        for entry in array.iter_hash((tag << HOME_BITS) | home) {
            if hash_of(entry) & mask == home {
                visit(entry);
            }
        }
    }
}

/// One SCAN step over a table of one array (`old` unallocated) or two during a resize (`table` receiving,
/// `old` being emptied): hands `visit` every entry whose home bucket the cursor names in either array and
/// returns the next cursor, 0 when done. An entry present from the first call to the last is handed over at
/// least once whatever resizes happen between calls (Redis's `dictScan` guarantee), possibly more than once.
pub(crate) fn scan_arrays<T, A: Allocator>(
    table: &HashTable<T, A>,
    old: &HashTable<T, A>,
    cursor: u64,
    hash_of: impl Fn(&T) -> u64,
    mut visit: impl FnMut(&T),
) -> u64 {
    if table.is_empty() && old.is_empty() {
        return 0;
    }
    let mask = |array: &HashTable<T, A>| array.num_buckets() as u64 - 1;
    let masks = if old.capacity() != 0 {
        (mask(table), Some(mask(old)))
    } else {
        (mask(table), None)
    };
    scan_buckets(cursor, masks, |array, home| {
        let array = if array == 0 { table } else { old };
        visit_home(array, home, &hash_of, &mut visit);
    })
}

/// Redis's SCAN loop over one key's table: calls `step(cursor)` (one bucket, returning the next cursor and the
/// reply items gathered so far, a hash counting field and value) until the iteration ends, the page holds
/// `count` items, or `10 * count` buckets were visited (`maxiterations`); returns the next cursor.
pub(crate) fn scan_page(
    mut cursor: u64,
    count: usize,
    mut step: impl FnMut(u64) -> (u64, usize),
) -> u64 {
    let mut buckets_left = count.saturating_mul(10);
    loop {
        let (next, items) = step(cursor);
        cursor = next;
        buckets_left = buckets_left.saturating_sub(1);
        if cursor == 0 || buckets_left == 0 || items >= count {
            return cursor;
        }
    }
}

#[cfg(test)]
#[path = "home_scan_tests.rs"]
mod tests;
