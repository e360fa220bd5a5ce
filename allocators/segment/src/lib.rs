//! A Segcache-style key-value store (Yang et al., NSDI 2021; Pelikan's `seg` engine) for Zedis strings.
//!
//! Items (key, value, optional absolute expiry) are appended into fixed-size segments (1 MiB by default),
//! each reserved in the thread's [`zedis_budget::Budget`] under `Component::Keyspace` while held. Segments
//! are grouped by TTL into 1025 logarithmic buckets (`ttl.rs`), so the items of one segment expire at about
//! the same time and the whole segment is freed in one step once its last item has expired. A compact
//! bulk-chained hash index (`index.rs`: 8-byte slots holding a 12-bit tag, an 8-bit frequency counter and
//! the item's segment and offset, 8 slots a bucket, three candidate buckets a key) finds items; an item carries only a 2-byte header (8
//! with a TTL) for keys under 31 bytes and values under 128.
//!
//! Writes never update in place: a set appends the new item and marks the old one deleted, leaving a hole;
//! a TTL change re-appends the item into its new bucket. Holes are reclaimed when a segment empties (freed
//! at once), by [`SegStore::compact_step`] (two neighbours whose live items fit one segment are merged),
//! and by merge eviction.
//!
//! # Memory per item
//! An item costs its header (1 byte of flags and a key length under 31, a varint key length after it
//! for longer keys, a varint value length: 1 byte under 128 B, 2 under 16 KiB; +6 with an expiry), its
//! key and value bytes, and one 8-byte index slot. With three candidate buckets per key the index runs
//! at 50% to 100% load before doubling (`index_load_max_percent` 100, the server's setting) with few
//! overflow buckets (68 B each): 8.5 to 17 bytes a key. A 16-byte key with a 32-byte value thus takes 50
//! bytes in its segment (56 with a TTL) and about 59 in all at 1M keys. Shared overhead: the unwritten
//! tail of each TTL bucket's active segment (at most one segment per bucket in use) and the holes not
//! yet merged (`SegStats::dead_bytes`). Segment metadata (about 56 bytes per segment, 0.005% at 1 MiB)
//! is not charged.
//!
//! # What it serves
//! String values (byte strings up to about one segment, and 64-bit integers stored as 8 bytes), with or
//! without an expiry. It does not hold lists, sets, hashes or sorted sets: a keyspace that uses it keeps
//! those in its ordinary tables. Expiry is exact at the item level: each item stores its own expiry, and an
//! expired item is never returned, even while its segment is still held.
//!
//! # Eviction
//! When [`SegStore::set`] returns [`SegError::Full`], the caller evicts one unit with
//! [`SegStore::evict_one_unit`] and retries; every removed key is returned so it can be logged as `DEL` and
//! published. The unit is a segment, not a key:
//! - [`EvictPolicy::Merge`] (Segcache's; what `allkeys-lru` and `allkeys-lfu` map to): the N oldest
//!   segments of one TTL bucket (round-robin over the buckets holding at least two; the active one may be
//!   among them, as the store is single-threaded) are merged into the first; from each, the live items
//!   with the highest access frequency (up to 1/N of a segment) are kept, with their counters halved, the
//!   rest evicted. It is FIFO by segment age refined by frequency, an approximation of LFU rather than
//!   LRU: there is no per-key access clock. With no bucket holding two segments it falls back to FIFO.
//! - [`EvictPolicy::Fifo`]: the oldest segment is freed whole.
//! - [`EvictPolicy::Random`] (`allkeys-random`): a random segment is freed whole.
//! - [`EvictPolicy::NearestExpiry`] (`volatile-ttl`): the segment whose items all expire soonest.
//!
//! With `volatile_only` (the `volatile-*` policies), segments of items without TTL are never chosen.
//!
//! Non-goals: thread safety (one store per thread, like the budget); values larger than a segment;
//! in-place updates.
//!
//! Layout: `item.rs` (item header), `ttl.rs` (TTL buckets), `index.rs` (hash index), `segments.rs`
//! (segment table and chains), `store.rs` ([`SegStore`] reads and writes), `evict.rs` (expiry, eviction,
//! merge and compaction).
//!
//! ```
//! use zedis_budget::Budget;
//! use zedis_segment::{EvictPolicy, SegConfig, SegError, SegStore, ValueRef};
//!
//! let budget = Budget::leak(3 << 16);
//! let config = SegConfig { segment_bytes: 1 << 16, hash_power: 4, ..SegConfig::default() };
//! let mut store = SegStore::with_budget(config, budget).unwrap();
//! store.set(b"greeting", b"hello", None, 0).unwrap();
//! store.set(b"session", b"abc", Some(1_000), 0).unwrap();
//! assert_eq!(store.get(b"greeting", 0), Some(ValueRef::Bytes(b"hello")));
//! assert_eq!(store.get(b"session", 1_000), None); // expired at its instant
//!
//! // Fill the budget, then evict by whole segments.
//! let mut i = 0u32;
//! while store.set(&i.to_be_bytes(), &[7; 100], None, 0) != Err(SegError::Full) {
//!     i += 1;
//! }
//! let removed = store.evict_one_unit(EvictPolicy::Merge, false, 0).unwrap();
//! assert!(!removed.evicted.is_empty());
//! assert!(store.set(&i.to_be_bytes(), &[7; 100], None, 0).is_ok());
//! ```
#![deny(missing_docs)]

mod check;
mod evict;
mod index;
mod item;
mod segments;
mod store;
mod ttl;

pub use index::{Loc, OFFSET_MAX, SEGMENTS_MAX, SLOTS_PER_BUCKET};
pub use item::{header_len, item_len, EXPIRE_AT_MS_MAX};
pub use store::SegStore;
pub use ttl::{bucket_for, NO_TTL_BUCKET, TTL_BUCKETS};

/// Default segment size.
pub const SEGMENT_BYTES_DEFAULT: usize = 1 << 20;
/// Smallest segment size accepted.
pub const SEGMENT_BYTES_MIN: usize = 256;

/// Store settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegConfig {
    /// Segment size, `SEGMENT_BYTES_MIN..=OFFSET_MAX`.
    pub segment_bytes: usize,
    /// Initial primary index buckets, as a power of two (the index doubles as it fills).
    pub hash_power: u32,
    /// Segments merged into one by merge eviction (N >= 2).
    pub merge_segments: usize,
    /// The index's primary table doubles when more than this percentage of its slots would be used
    /// (25..=100). Higher saves index bytes (8 / load per key) at the cost of more overflow buckets.
    pub index_load_max_percent: u8,
}

impl Default for SegConfig {
    fn default() -> Self {
        SegConfig {
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            hash_power: 10,
            merge_segments: 4,
            index_load_max_percent: 75,
        }
    }
}

/// Why an operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SegError {
    /// No segment or index memory fits the budget: evict and retry.
    #[error("segment store full")]
    Full,
    /// The item cannot fit in one segment.
    #[error("item of {len} bytes does not fit a {segment_bytes}-byte segment")]
    TooLarge {
        /// Item bytes (header, key and value).
        len: usize,
        /// Segment size.
        segment_bytes: usize,
    },
    /// The expiry is later than an item can store ([`EXPIRE_AT_MS_MAX`]): the caller keeps the key
    /// elsewhere.
    #[error("expiry {0} ms is later than an item stores")]
    ExpiryOutOfRange(i64),
    /// There is nothing the policy may evict.
    #[error("nothing to evict")]
    NothingToEvict,
    /// The configuration is out of range.
    #[error("invalid segment store configuration")]
    BadConfig,
}

/// Which segments eviction frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictPolicy {
    /// Merge the oldest segments of a TTL bucket, keeping the most frequently read items.
    Merge,
    /// Free the oldest segment.
    Fifo,
    /// Free a random segment.
    Random,
    /// Free the segment that would expire soonest.
    NearestExpiry,
}

/// A stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRef<'a> {
    /// Bytes, borrowed from the segment.
    Bytes(&'a [u8]),
    /// An integer stored with [`SegStore::set_int`].
    Int(i64),
}

impl ValueRef<'_> {
    /// Appends the value's bytes (an integer in decimal) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            ValueRef::Bytes(bytes) => out.extend_from_slice(bytes),
            ValueRef::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        }
    }

    /// The value's bytes (an integer in decimal).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// The result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Found and not expired.
    Hit(ValueRef<'a>),
    /// Not found.
    Miss,
    /// Found expired, and removed now: the caller propagates it as an expiry (`DEL`, `expired` event).
    Expired,
}

/// The result of [`SegStore::lookup_at`]: a lookup that does not borrow the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Found and not expired, at this location (valid until the next write to the store).
    Hit(Loc),
    /// Not found.
    Miss,
    /// Found expired, and removed now (as [`Lookup::Expired`]).
    Expired,
}

/// What [`SegStore::set_replacing`] replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// The key was absent.
    Nothing,
    /// A live item.
    Live,
    /// An item expired at the write's instant (the caller announces the expiry, as a lookup would).
    Expired,
}

/// Keys removed by expiry or eviction, for the caller to log as `DEL` and publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// Keys evicted while live.
    pub evicted: Vec<Vec<u8>>,
    /// Keys that had expired.
    pub expired: Vec<Vec<u8>>,
}

/// Figures for `INFO allocator`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegStats {
    /// Segment size.
    pub segment_bytes: usize,
    /// Segments held.
    pub segments: usize,
    /// Bytes charged to the budget: segments plus index.
    pub charged_bytes: usize,
    /// Of which the index.
    pub index_bytes: usize,
    /// Indexed items (expired ones not yet removed included).
    pub items: usize,
    /// Bytes of those items (headers, keys, values).
    pub live_bytes: usize,
    /// Holes left by deletes and overwrites.
    pub dead_bytes: usize,
    /// Bytes not yet written in held segments.
    pub unwritten_bytes: usize,
    /// TTL buckets holding at least one segment.
    pub ttl_buckets_used: usize,
    /// Primary and overflow index buckets.
    pub index_buckets: (usize, usize),
    /// Items evicted since start.
    pub evicted_items: u64,
    /// Items removed as expired since start.
    pub expired_items: u64,
    /// Segments freed whole because all their items expired.
    pub expired_segments: u64,
    /// Merges (by eviction or compaction).
    pub merges: u64,
}
