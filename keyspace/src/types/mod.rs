//! Memory-compact collection types (Redis 7 encodings), generic over the KV allocator.
//!
//! Pure data structures: no commands, no RESP. Every operation that may allocate returns
//! `Result<_, AllocError>` and leaves the structure unchanged (same logical content, still valid)
//! on `Err`, so a full memory budget surfaces as an error reply instead of an abort.
//!
//! - [`listpack`]: a contiguous byte encoding of a sequence of integers and strings.
//! - [`intset`]: a sorted integer array with 16/32/64-bit width upgrade.
//! - [`list`]: [`List`], a quicklist of listpack nodes (`listpack` / `quicklist`).
//! - [`set`]: [`Set`] (`intset` / `listpack` / `hashtable`).
//! - [`hash`]: [`Hash`] (`listpack` / `hashtable`).
//! - [`stream`]: [`Stream`], nodes of delta-encoded entries, with consumer groups ([`stream_cg`]).
//! - [`zset`]: [`ZSet`] (`listpack` / `skiplist`).
//!
//! Elements are read as [`Elem`]: integers stored as integers, other strings as bytes; strings
//! are recognised as integers exactly as Redis's `string2ll` does ([`parse_int`]).
//! Thresholds come from [`Limits`], which the caller passes to every mutating call.

pub mod elem;
pub mod hash;
pub mod hll;
mod home_scan;
pub mod intset;
pub mod list;
pub mod listpack;
mod packed;
pub mod set;
pub mod stream;
pub mod stream_cg;
mod stream_node;
#[cfg(test)]
pub(crate) mod test_alloc;
pub mod zset;

pub use allocator_api2::alloc::AllocError;
pub use elem::{parse_int, Elem, Needle};
pub use hash::Hash;
pub use intset::IntSet;
pub use list::List;
pub use listpack::Listpack;
pub use set::Set;
pub use stream::{NodeLimits, Stream, StreamId};
pub use zset::{Upsert, ZSet};

use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

/// Encoding thresholds (Redis config names in each field's doc). `Default` is Redis's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `list-max-listpack-size`: positive = entries per node, -1..=-5 = node bytes 4/8/16/32/64 KiB.
    pub list_max_listpack_size: i64,
    /// `set-max-intset-entries`.
    pub set_intset_entries_max: usize,
    /// `set-max-listpack-entries` (0 gives Redis 7.0's behaviour: no listpack sets).
    pub set_listpack_entries_max: usize,
    /// `set-max-listpack-value`.
    pub set_listpack_value_bytes_max: usize,
    /// `hash-max-listpack-entries`.
    pub hash_listpack_entries_max: usize,
    /// `hash-max-listpack-value`.
    pub hash_listpack_value_bytes_max: usize,
    /// `zset-max-listpack-entries`.
    pub zset_listpack_entries_max: usize,
    /// `zset-max-listpack-value`.
    pub zset_listpack_value_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            list_max_listpack_size: -2,
            set_intset_entries_max: 512,
            set_listpack_entries_max: 128,
            set_listpack_value_bytes_max: 64,
            hash_listpack_entries_max: 512,
            hash_listpack_value_bytes_max: 64,
            zset_listpack_entries_max: 128,
            zset_listpack_value_bytes_max: 64,
        }
    }
}

/// Smallest capacity a growing byte buffer gets.
const BUF_BYTES_MIN: usize = 16;

/// Buffers up to this size grow to the next multiple of 8 only (reallocating small buffers is
/// cheap, and 100k small hashes should not carry 25% slack).
const BUF_EXACT_BYTES_MAX: usize = 256;

/// Makes room for `additional` bytes, growing by at most 25% beyond the need and never past
/// `ceiling_bytes` unless the need itself is larger (compactness over amortisation; Redis
/// reallocates exactly and relies on jemalloc's ~25% size classes).
pub(crate) fn reserve_bytes<A: Allocator>(
    buf: &mut Vec<u8, A>,
    additional: usize,
    ceiling_bytes: usize,
) -> Result<(), AllocError> {
    let need = buf.len().checked_add(additional).ok_or(AllocError)?;
    if need <= buf.capacity() {
        return Ok(());
    }
    let target = if need <= BUF_EXACT_BYTES_MAX {
        need.next_multiple_of(8).max(BUF_BYTES_MIN)
    } else {
        (buf.capacity() + buf.capacity() / 4)
            .min(ceiling_bytes)
            .max(need)
    };
    buf.try_reserve_exact(target - buf.len())
        .map_err(|_| AllocError)
}

/// Random number source for random-member operations (e.g. a xorshift the caller owns).
pub trait Rng {
    /// A uniformly random `u64`.
    fn next_u64(&mut self) -> u64;

    /// A uniformly random index below `bound` (`bound > 0`).
    fn below(&mut self, bound: usize) -> usize {
        debug_assert!(bound > 0);
        // Multiply-shift: bias is negligible for collection sizes.
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

impl<F: FnMut() -> u64> Rng for F {
    fn next_u64(&mut self) -> u64 {
        self()
    }
}
