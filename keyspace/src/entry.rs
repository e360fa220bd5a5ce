//! One key and its value in a single allocation from the KV strategy.
//!
//! Layout (all multi-byte fields read and written unaligned, so no padding is needed):
//!
//! ```text
//! 0   next       6 bytes   the 48-bit address of the next entry in the same hash bucket (0 ends the chain)
//! 6   meta       4 bytes   kind (4 bits) | flags (4 bits) | lru/lfu clock (24 bits)
//! 10  [expire]  12 bytes   only when FLAG_EXPIRE: unix time ms (i64) + index in the db's volatile vector (u32)
//! ..  key_len    varint
//! ..  key        key_len bytes
//! ..  payload    Str: varint len + bytes | Int: i64 | Object: pointer to the collection |
//!                BigStr: pointer to an out-of-line buffer `len u64 | capacity u64 | capacity bytes`
//! ```
//!
//! `BigStr` is a string that grows in place (SETBIT, BITFIELD): growing it reallocates only its buffer,
//! with spare capacity as Redis's `sdsMakeRoomFor` keeps, never the key. Readers see it as [`Payload::Str`];
//! it is never handed over to another entry (copies copy its bytes), so [`EntryPtr::free`] frees it.
//!
//! A 16-byte key with a 32-byte value takes 10 + 1 + 16 + 1 + 32 = 60 bytes: the pool's 60-byte class with
//! compact (4-aligned, the default) entries, or one 64-byte block with 8-aligned ones ([`set_compact_entries`]). Redis 7.0 spends a
//! dictEntry (24), an sds key (24) and an embstr robj (64) on the same pair.
//!
//! Everything here is `unsafe` at the edges: an [`EntryPtr`] is a raw handle whose lifetime the owning
//! [`crate::dict::Dict`] manages. The functions document what they require.

use allocator_api2::alloc::{AllocError, Allocator};
use std::alloc::Layout;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What the payload holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A byte string stored inline.
    Str = 0,
    /// A string that is a canonical 64-bit integer, stored as one (Redis's `int` encoding).
    Int = 1,
    /// A list object (pointer).
    List = 2,
    /// A set object (pointer).
    Set = 3,
    /// A hash object (pointer).
    Hash = 4,
    /// A stream object (pointer). (5 is the sorted set's.)
    Stream = 6,
    /// A sorted set object (pointer).
    ZSet = 5,
    /// A byte string stored out of line with spare capacity (kinds 5 and 6 belong to other types).
    BigStr = 7,
}

impl Kind {
    fn from_bits(bits: u8) -> Kind {
        match bits {
            1 => Kind::Int,
            2 => Kind::List,
            3 => Kind::Set,
            4 => Kind::Hash,
            6 => Kind::Stream,
            5 => Kind::ZSet,
            7 => Kind::BigStr,
            _ => Kind::Str,
        }
    }

    /// Whether the payload is a pointer to a separately allocated collection.
    pub fn is_object(self) -> bool {
        matches!(
            self,
            Kind::List | Kind::Set | Kind::Hash | Kind::ZSet | Kind::Stream
        )
    }
}

/// The entry has an expire block.
const FLAG_EXPIRE: u8 = 1;
/// A string that was modified in place (APPEND, SETRANGE): OBJECT ENCODING says `raw`, as Redis does.
pub const FLAG_RAW: u8 = 2;

/// Bytes of the `next` field: an address below `1 << ADDR_BITS`.
const NEXT_BYTES: usize = 6;
const META: usize = NEXT_BYTES;
const HEADER_BYTES: usize = NEXT_BYTES + 4;
const EXPIRE_BYTES: usize = 12;
/// Entries are allocated with this alignment when compact entries are off ([`set_compact_entries`]).
const ALIGN: usize = 8;
/// The alignment of compact entries (every field is read unaligned), so that a 60-byte entry (a 16-byte
/// key with a 32-byte value) takes the pool's 60-byte class instead of 64 bytes.
const COMPACT_ALIGN: usize = 4;

/// The alignment entries are allocated with: [`COMPACT_ALIGN`] (the default), or [`ALIGN`] once compact
/// entries are turned off.
static ENTRY_ALIGN: AtomicUsize = AtomicUsize::new(COMPACT_ALIGN);

/// Set by the first entry allocation: the alignment can no longer change (a block must be freed with the
/// layout it was allocated with).
static ENTRY_ALIGN_FROZEN: AtomicBool = AtomicBool::new(false);

/// Entries were allocated already: their alignment can no longer change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("compact entries can only be chosen before the first key is stored")]
pub struct EntriesAllocated;

/// Chooses compact entries (4-aligned, the default: the pool packs 60-byte entries in a 60-byte class;
/// entries then straddle cache lines more often, which [`EntryPtr::prefetch_tail`] hides on lookups) or
/// 8-aligned ones, for the whole process. Only before the first entry is allocated; idempotent.
pub fn set_compact_entries(on: bool) -> Result<(), EntriesAllocated> {
    let align = if on { COMPACT_ALIGN } else { ALIGN };
    if ENTRY_ALIGN_FROZEN.load(Ordering::Acquire) && ENTRY_ALIGN.load(Ordering::Relaxed) != align {
        return Err(EntriesAllocated);
    }
    ENTRY_ALIGN.store(align, Ordering::Relaxed);
    Ok(())
}

/// The alignment of the entries allocated from now on, freezing it.
#[inline]
fn entry_align_for_new() -> usize {
    if !ENTRY_ALIGN_FROZEN.load(Ordering::Relaxed) {
        ENTRY_ALIGN_FROZEN.store(true, Ordering::Release);
    }
    ENTRY_ALIGN.load(Ordering::Relaxed)
}

/// How a new entry's payload is written.
pub enum PayloadInit<'a> {
    /// Bytes copied in.
    Str(&'a [u8]),
    /// `len` bytes filled by the closure (APPEND, SETRANGE, INCRBYFLOAT build their result in place).
    StrWith(usize, &'a mut dyn FnMut(&mut [u8])),
    /// An integer.
    Int(i64),
    /// An out-of-line string of `len` bytes filled by the closure, with room for `capacity` (≥ `len`).
    BigStrWith {
        /// Bytes.
        len: usize,
        /// Bytes the buffer can hold.
        capacity: usize,
        /// Writes the `len` bytes.
        fill: &'a mut dyn FnMut(&mut [u8]),
    },
    /// A collection pointer of the given kind (ownership moves into the entry).
    Object(Kind, *mut u8),
}

/// The payload of an existing entry.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// Inline bytes.
    Str(&'a [u8]),
    /// An integer.
    Int(i64),
    /// A collection.
    Object(Kind, *mut u8),
}

/// A raw handle to an entry. Copyable; validity is managed by the dict that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPtr(NonNull<u8>);

/// Every entry's address is below `1 << ADDR_BITS` ([`EntryPtr::new`] refuses others), so the key index
/// stores it in 6 bytes. User-space addresses on x86-64 (4-level paging) and aarch64 (48-bit VA) are below
/// 2^48; the kernel hands out higher ones only to an `mmap` that asks for them.
pub const ADDR_BITS: u32 = 48;

const _: () = assert!(ADDR_BITS as usize <= NEXT_BYTES * 8);

/// Reads a 6-byte little-endian entry address (0: none).
///
/// # Safety
/// `src` must be readable for 6 bytes holding 0 or an address written by [`write_addr48`] of an entry still
/// allocated when the result is used.
#[inline]
pub(crate) unsafe fn read_addr48(src: *const u8) -> Option<EntryPtr> {
    let mut raw = [0u8; 8];
    ptr::copy_nonoverlapping(src, raw.as_mut_ptr(), NEXT_BYTES);
    EntryPtr::from_exposed(u64::from_le_bytes(raw) as usize)
}

/// Writes an entry's address (or 0) in 6 bytes.
///
/// # Safety
/// `dst` must be writable for 6 bytes.
#[inline]
pub(crate) unsafe fn write_addr48(dst: *mut u8, entry: Option<EntryPtr>) {
    let addr = entry.map_or(0, EntryPtr::expose) as u64;
    debug_assert!(addr >> ADDR_BITS == 0);
    ptr::copy_nonoverlapping(addr.to_le_bytes().as_ptr(), dst, NEXT_BYTES);
}

pub(crate) fn varint_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

/// Writes `value` as LEB128 at `dst`; returns the bytes written.
///
/// # Safety
/// `dst` must be valid for `varint_len(value)` bytes.
unsafe fn write_varint(dst: *mut u8, mut value: u64) -> usize {
    let mut i = 0;
    while value >= 0x80 {
        *dst.add(i) = (value as u8) | 0x80;
        value >>= 7;
        i += 1;
    }
    *dst.add(i) = value as u8;
    i + 1
}

/// Reads a LEB128 value at `src`; returns it and its length.
///
/// # Safety
/// `src` must point at a varint written by [`write_varint`].
unsafe fn read_varint(src: *const u8) -> (u64, usize) {
    let mut value = 0u64;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let byte = *src.add(i);
        value |= u64::from(byte & 0x7f) << shift;
        i += 1;
        if byte < 0x80 {
            return (value, i);
        }
        shift += 7;
    }
}

fn payload_bytes(init: &PayloadInit<'_>) -> usize {
    match init {
        PayloadInit::Str(bytes) => varint_len(bytes.len() as u64) + bytes.len(),
        PayloadInit::StrWith(len, _) => varint_len(*len as u64) + len,
        PayloadInit::Int(_) | PayloadInit::Object(..) | PayloadInit::BigStrWith { .. } => 8,
    }
}

/// Bytes an entry with this key and payload occupies (before allocator rounding).
pub fn entry_bytes(key_len: usize, has_expire: bool, payload_len: usize) -> usize {
    HEADER_BYTES
        + if has_expire { EXPIRE_BYTES } else { 0 }
        + varint_len(key_len as u64)
        + key_len
        + varint_len(payload_len as u64)
        + payload_len
}

impl EntryPtr {
    /// Allocates and writes a new entry (its `next` is null, its lru clock `lru`).
    pub fn new<A: Allocator>(
        alloc: A,
        key: &[u8],
        expire: Option<i64>,
        payload: PayloadInit<'_>,
        lru: u32,
    ) -> Result<EntryPtr, AllocError> {
        let has_expire = expire.is_some();
        let size = HEADER_BYTES
            + if has_expire { EXPIRE_BYTES } else { 0 }
            + varint_len(key.len() as u64)
            + key.len()
            + payload_bytes(&payload);
        let layout =
            Layout::from_size_align(size, entry_align_for_new()).map_err(|_| AllocError)?;
        let big = match &payload {
            PayloadInit::BigStrWith { len, capacity, .. } => {
                Some(big_alloc(&alloc, *len, (*capacity).max(*len))?)
            }
            _ => None,
        };
        let base = match alloc.allocate(layout) {
            Ok(base) if (base.as_ptr().cast::<u8>() as usize) >> ADDR_BITS != 0 => {
                // SAFETY: allocated just above with this layout, never used.
                unsafe { alloc.deallocate(base.cast(), layout) };
                if let (Some(buf), PayloadInit::BigStrWith { len, capacity, .. }) = (big, &payload)
                {
                    // SAFETY: allocated just above with this layout.
                    unsafe { big_free(&alloc, buf, (*capacity).max(*len)) };
                }
                return Err(AllocError);
            }
            Ok(base) => base.cast::<u8>(),
            Err(e) => {
                if let (Some(buf), PayloadInit::BigStrWith { len, capacity, .. }) = (big, &payload)
                {
                    // SAFETY: allocated just above with this layout.
                    unsafe { big_free(&alloc, buf, (*capacity).max(*len)) };
                }
                return Err(e);
            }
        };
        let kind = match payload {
            PayloadInit::Str(_) | PayloadInit::StrWith(..) => Kind::Str,
            PayloadInit::BigStrWith { .. } => Kind::BigStr,
            PayloadInit::Int(_) => Kind::Int,
            PayloadInit::Object(kind, _) => kind,
        };
        // SAFETY: `base` is a fresh allocation of `size` bytes and every write below stays within the
        // sizes summed above.
        unsafe {
            let p = base.as_ptr();
            write_addr48(p, None);
            let flags = if has_expire { FLAG_EXPIRE } else { 0 };
            let meta = (kind as u32) | (u32::from(flags) << 4) | ((lru & 0xff_ffff) << 8);
            ptr::write_unaligned(p.add(META).cast::<u32>(), meta);
            let mut at = HEADER_BYTES;
            if let Some(when) = expire {
                ptr::write_unaligned(p.add(at).cast::<i64>(), when);
                ptr::write_unaligned(p.add(at + 8).cast::<u32>(), u32::MAX);
                at += EXPIRE_BYTES;
            }
            at += write_varint(p.add(at), key.len() as u64);
            ptr::copy_nonoverlapping(key.as_ptr(), p.add(at), key.len());
            at += key.len();
            match payload {
                PayloadInit::Str(bytes) => {
                    at += write_varint(p.add(at), bytes.len() as u64);
                    ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(at), bytes.len());
                    at += bytes.len();
                }
                PayloadInit::StrWith(len, fill) => {
                    at += write_varint(p.add(at), len as u64);
                    fill(std::slice::from_raw_parts_mut(p.add(at), len));
                    at += len;
                }
                PayloadInit::Int(value) => {
                    ptr::write_unaligned(p.add(at).cast::<i64>(), value);
                    at += 8;
                }
                PayloadInit::Object(_, object) => {
                    ptr::write_unaligned(p.add(at).cast::<*mut u8>(), object);
                    at += 8;
                }
                PayloadInit::BigStrWith { len, fill, .. } => {
                    let buf = big.unwrap_or(ptr::null_mut());
                    fill(std::slice::from_raw_parts_mut(
                        buf.add(BIG_HEADER_BYTES),
                        len,
                    ));
                    ptr::write_unaligned(p.add(at).cast::<*mut u8>(), buf);
                    at += 8;
                }
            }
            debug_assert_eq!(at, size);
        }
        Ok(EntryPtr(base))
    }

    fn base(self) -> *mut u8 {
        self.0.as_ptr()
    }

    /// The entry's address (its identity while it is linked), below `1 << ADDR_BITS`.
    pub fn addr(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The address as [`EntryPtr::from_exposed`] takes it back (exposing the pointer's provenance).
    pub(crate) fn expose(self) -> usize {
        self.0.as_ptr().expose_provenance()
    }

    /// The entry at an address [`EntryPtr::expose`] gave; `None` for 0.
    ///
    /// # Safety
    /// `addr` must be 0 or come from `expose` of an entry that is still allocated when the result is used.
    pub(crate) unsafe fn from_exposed(addr: usize) -> Option<EntryPtr> {
        NonNull::new(ptr::with_exposed_provenance_mut(addr)).map(EntryPtr)
    }

    fn meta(self) -> u32 {
        // SAFETY: every live entry has a 12-byte header.
        unsafe { ptr::read_unaligned(self.base().add(META).cast::<u32>()) }
    }

    fn set_meta(self, meta: u32) {
        // SAFETY: as in `meta`.
        unsafe { ptr::write_unaligned(self.base().add(META).cast::<u32>(), meta) }
    }

    /// Asks the CPU for the entry's first cache line and the one holding its byte 56 (see
    /// [`EntryPtr::prefetch_tail`]): a batch of lookups warms its entries before running them.
    #[inline(always)]
    pub fn prefetch(self) {
        prefetch_addr(self.base());
        self.prefetch_tail();
    }

    /// Asks the CPU for the cache line holding the entry's byte 56 along with its first line. A compact
    /// (4-aligned) 60-byte entry straddles two 64-byte lines in 14 of its 16 positions; without this, the
    /// key comparison or the value read of a lookup takes the second line's miss only after the first one.
    /// Within one line (a 64-aligned entry of the 64-byte class) it costs one instruction.
    #[inline(always)]
    pub fn prefetch_tail(self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch never faults and has no effect beyond the cache, whatever the address.
        unsafe {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.base().wrapping_add(56).cast::<i8>());
        }
    }

    /// The next entry in the bucket chain.
    #[inline]
    pub fn next(self) -> Option<EntryPtr> {
        // One 8-byte load (the link and the first meta bytes; every entry has its 10-byte header), masked.
        // SAFETY: in bounds and initialised; the low 6 bytes are the chain link, written by `set_next` (or 0
        // by `new`) with an entry the dict keeps linked, so allocated.
        unsafe {
            let raw = ptr::read_unaligned(self.base().cast::<u64>()) & ((1 << ADDR_BITS) - 1);
            EntryPtr::from_exposed(raw as usize)
        }
    }

    /// Sets the next entry in the bucket chain.
    #[inline]
    pub fn set_next(self, next: Option<EntryPtr>) {
        // SAFETY: as in `next`.
        unsafe { write_addr48(self.base(), next) }
    }

    /// The payload kind.
    pub fn kind(self) -> Kind {
        Kind::from_bits((self.meta() & 0xf) as u8)
    }

    fn flags(self) -> u8 {
        ((self.meta() >> 4) & 0xf) as u8
    }

    /// Whether `flag` (e.g. [`FLAG_RAW`]) is set.
    pub fn has_flag(self, flag: u8) -> bool {
        self.flags() & flag != 0
    }

    /// Sets `flag`.
    pub fn set_flag(self, flag: u8) {
        self.set_meta(self.meta() | (u32::from(flag) << 4));
    }

    /// The 24-bit LRU/LFU clock.
    pub fn lru(self) -> u32 {
        self.meta() >> 8
    }

    /// Sets the 24-bit LRU/LFU clock.
    pub fn set_lru(self, lru: u32) {
        self.set_meta((self.meta() & 0xff) | ((lru & 0xff_ffff) << 8));
    }

    /// Whether the entry has an expire block.
    pub fn has_expire(self) -> bool {
        self.flags() & FLAG_EXPIRE != 0
    }

    /// The expire time in unix ms, if any.
    pub fn expire(self) -> Option<i64> {
        if !self.has_expire() {
            return None;
        }
        // SAFETY: FLAG_EXPIRE means the 12-byte expire block follows the header.
        Some(unsafe { ptr::read_unaligned(self.base().add(HEADER_BYTES).cast::<i64>()) })
    }

    /// Changes the expire time of an entry that has an expire block.
    pub fn set_expire(self, when_ms: i64) {
        assert!(self.has_expire());
        // SAFETY: checked above.
        unsafe { ptr::write_unaligned(self.base().add(HEADER_BYTES).cast::<i64>(), when_ms) }
    }

    /// The entry's index in its db's volatile vector.
    pub fn volatile_idx(self) -> u32 {
        debug_assert!(self.has_expire());
        // SAFETY: only called on entries with an expire block.
        unsafe { ptr::read_unaligned(self.base().add(HEADER_BYTES + 8).cast::<u32>()) }
    }

    /// Records the entry's index in its db's volatile vector.
    pub fn set_volatile_idx(self, idx: u32) {
        debug_assert!(self.has_expire());
        // SAFETY: only called on entries with an expire block.
        unsafe { ptr::write_unaligned(self.base().add(HEADER_BYTES + 8).cast::<u32>(), idx) }
    }

    fn key_offset(self) -> usize {
        HEADER_BYTES + if self.has_expire() { EXPIRE_BYTES } else { 0 }
    }

    /// The key bytes. The returned slice is valid while the entry is.
    pub fn key<'a>(self) -> &'a [u8] {
        // SAFETY: the key varint and bytes follow the header (and expire block).
        unsafe {
            let at = self.key_offset();
            let (len, n) = read_varint(self.base().add(at));
            std::slice::from_raw_parts(self.base().add(at + n), len as usize)
        }
    }

    fn payload_offset(self) -> usize {
        let key = self.key();
        self.key_offset() + varint_len(key.len() as u64) + key.len()
    }

    /// The payload. Byte slices are valid while the entry is.
    pub fn payload<'a>(self) -> Payload<'a> {
        let at = self.payload_offset();
        // SAFETY: the payload follows the key and its shape is given by `kind`.
        unsafe {
            let p = self.base().add(at);
            match self.kind() {
                Kind::Str => {
                    let (len, n) = read_varint(p);
                    Payload::Str(std::slice::from_raw_parts(p.add(n), len as usize))
                }
                Kind::Int => Payload::Int(ptr::read_unaligned(p.cast::<i64>())),
                Kind::BigStr => {
                    let buf = ptr::read_unaligned(p.cast::<*mut u8>());
                    let (len, _) = big_header(buf);
                    Payload::Str(std::slice::from_raw_parts(buf.add(BIG_HEADER_BYTES), len))
                }
                kind => Payload::Object(kind, ptr::read_unaligned(p.cast::<*mut u8>())),
            }
        }
    }

    /// A string payload for writing in place (SETRANGE within the current length).
    pub fn str_mut<'a>(self) -> Option<&'a mut [u8]> {
        if let Some(buf) = self.big_buffer() {
            // SAFETY: a live out-of-line buffer; the caller holds the only handle in use.
            unsafe {
                let (len, _) = big_header(buf);
                return Some(std::slice::from_raw_parts_mut(
                    buf.add(BIG_HEADER_BYTES),
                    len,
                ));
            }
        }
        if self.kind() != Kind::Str {
            return None;
        }
        let at = self.payload_offset();
        // SAFETY: as in `payload`; the caller holds the only handle in use.
        unsafe {
            let p = self.base().add(at);
            let (len, n) = read_varint(p);
            Some(std::slice::from_raw_parts_mut(p.add(n), len as usize))
        }
    }

    /// Overwrites an integer payload in place.
    pub fn set_int(self, value: i64) {
        assert_eq!(self.kind(), Kind::Int);
        let at = self.payload_offset();
        // SAFETY: Int payloads are 8 bytes.
        unsafe { ptr::write_unaligned(self.base().add(at).cast::<i64>(), value) }
    }

    /// The entry's allocation size.
    pub fn size(self) -> usize {
        // A big string's payload is its 8-byte buffer pointer: the buffer itself is not read.
        if self.kind() == Kind::BigStr {
            return self.payload_offset() + 8;
        }
        let payload = match self.payload() {
            Payload::Str(bytes) => varint_len(bytes.len() as u64) + bytes.len(),
            Payload::Int(_) | Payload::Object(..) => 8,
        };
        self.payload_offset() + payload
    }

    /// Frees the entry's own allocation (not a collection it points to).
    ///
    /// # Safety
    /// The entry must have come from `alloc` and must not be used afterwards.
    pub unsafe fn free<A: Allocator>(self, alloc: A) {
        // The size before the buffer goes: `size` used to read a big string's payload, the header
        // of its out-of-line buffer, after `big_free` (a use after free the `command_argv` fuzz
        // target found under ASan).
        let size = self.size();
        if let Some(buf) = self.big_buffer() {
            big_free(&alloc, buf, big_header(buf).1);
        }
        let layout = Layout::from_size_align_unchecked(size, ENTRY_ALIGN.load(Ordering::Relaxed));
        alloc.deallocate(self.0, layout);
    }
}

mod big;
use big::{big_alloc, big_free, big_header, BIG_HEADER_BYTES};

#[cfg(test)]
#[path = "entry_tests.rs"]
mod tests;

/// Asks the CPU to bring the cache line holding `addr` into its caches: a hint, never a read (any address is
/// harmless: a prefetch does not fault). A no-op off x86_64.
#[inline(always)]
pub(crate) fn prefetch_addr(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and has no effect beyond the cache, whatever the address.
    unsafe {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(addr.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}
