//! The segment store's part of KEYS, SCAN and RANDOMKEY (see [`crate::seg`]).
//!
//! SCAN walks a database's segment store first, then its tables. A cursor of the store's phase carries
//! [`SEG_PHASE`] (the store's own cursors stay far below it), a plain cursor is the tables' (so with no
//! store, or an empty one at the start, cursors are exactly the tables'). Keys only ever move from the
//! store to the tables (promotion), so a key present for the whole scan is returned: either it was in the
//! store for the whole store phase, or it was in the tables for the whole tables phase.

use crate::{glob, Keyspace};
use zedis_kv_pool::KvAllocator;

/// The bit marking a cursor of the segment-store phase.
pub const SEG_PHASE: u64 = 1 << 63;

/// Index buckets a SCAN call may visit in the store at least (an empty store's initial index whole).
const SCAN_BUCKETS_MIN: usize = 4096;

/// One SCAN step over `db`'s segment store when `cursor` belongs to it: appends live keys (at least
/// `count` slots' worth) to `out` and returns `Some(next)`, where `Some(0)` means the tables' phase starts
/// (from cursor 0). `None`: `cursor` is a tables' cursor.
pub fn scan_step<A: KvAllocator>(
    ks: &Keyspace<A>,
    db: usize,
    cursor: u64,
    count: usize,
    now_ms: i64,
    out: &mut Vec<Vec<u8>>,
) -> Option<u64> {
    let store = ks.db(db).seg();
    let in_store = cursor & SEG_PHASE != 0 || (cursor == 0 && store.is_some_and(|s| !s.is_empty()));
    if !in_store {
        return None;
    }
    let Some(store) = store else {
        return Some(0);
    };
    // Index bucket by bucket until `count` keys, as the tables' scan goes on while it finds too few; a
    // small store is thus scanned whole in one call, as a small Redis dict is.
    let mut next = cursor & !SEG_PHASE;
    let visits_max = count.saturating_mul(10).max(SCAN_BUCKETS_MIN);
    for _ in 0..visits_max {
        next = store.scan(next, 1, now_ms, out);
        if next == 0 || out.len() >= count {
            break;
        }
    }
    Some(if next == 0 { 0 } else { next | SEG_PHASE })
}

/// KEYS over `db`'s segment store: live keys matching `pattern` (`all` for `*`).
pub fn keys<A: KvAllocator>(
    ks: &Keyspace<A>,
    db: usize,
    pattern: &[u8],
    all: bool,
    now_ms: i64,
    out: &mut Vec<Vec<u8>>,
) {
    if let Some(store) = ks.db(db).seg() {
        store.for_each_live(now_ms, |key, _, _| {
            if all || glob::matches(pattern, key) {
                out.push(key.to_vec());
            }
        });
    }
}

/// RANDOMKEY's pick from the segment store, with the store's share of `db`'s keys as probability:
/// `Some(key)` when it picked there.
pub fn random_key<A: KvAllocator>(ks: &mut Keyspace<A>, db: usize, now_ms: i64) -> Option<Vec<u8>> {
    let in_store = ks.db(db).seg_len();
    if in_store == 0 || ks.random() % (ks.db(db).len() as u64) >= in_store as u64 {
        return None;
    }
    ks.db_mut(db).seg.as_deref_mut()?.random_key(now_ms)
}
