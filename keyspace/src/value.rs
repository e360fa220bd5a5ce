//! What a value is, seen from commands: its type name and encoding, and the collections an entry may point to
//! (creating, reaching, copying, freeing them).

use crate::commands::{reply_oom, Ctx, WRONGTYPE};
use crate::entry::{EntryPtr, Kind, Payload, PayloadInit, FLAG_RAW};
use crate::types::{Hash, Limits, List, Set, Stream, ZSet};
use crate::{notify, Keyspace, Oom};
use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::boxed::Box;
use zedis_kv_pool::KvAllocator;

/// Strings up to this length are `embstr` in Redis 7.0's OBJECT ENCODING.
pub const EMBSTR_BYTES_MAX: usize = 44;

/// TYPE's answer.
pub fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str | Kind::Int | Kind::BigStr => "string",
        Kind::List => "list",
        Kind::Set => "set",
        Kind::Hash => "hash",
        Kind::Stream => "stream",
        Kind::ZSet => "zset",
    }
}

/// OBJECT ENCODING's answer, as Redis 7.0 names it (lists are always `quicklist` there).
pub fn encoding(entry: EntryPtr) -> &'static str {
    match entry.payload() {
        Payload::Int(_) => "int",
        Payload::Str(bytes) if bytes.len() <= EMBSTR_BYTES_MAX && !entry.has_flag(FLAG_RAW) => {
            "embstr"
        }
        Payload::Str(_) => "raw",
        Payload::Object(Kind::List, _) => "quicklist",
        Payload::Object(kind, object) => OBJECT_FNS
            .get()
            .map_or("unknown", |fns| (fns.encoding)(kind, object)),
    }
}

/// Allocator-typed functions over collections for the non-generic entry points ([`encoding`],
/// [`object_bytes`]): registered by the first [`create_in`] (a process runs one KV strategy).
struct ObjectFns {
    encoding: fn(Kind, *mut u8) -> &'static str,
    bytes: fn(Kind, *mut u8) -> usize,
}

static OBJECT_FNS: std::sync::OnceLock<ObjectFns> = std::sync::OnceLock::new();

fn encoding_of<A: Allocator + Copy>(kind: Kind, object: *mut u8) -> &'static str {
    // SAFETY: called only with the live collection of an entry, allocated with the registered `A`.
    unsafe {
        match kind {
            Kind::List => "quicklist",
            Kind::Set => (*(object as *const Set<A>)).encoding(),
            Kind::Hash => (*(object as *const Hash<A>)).encoding(),
            Kind::Stream => "stream",
            Kind::ZSet => (*(object as *const ZSet<A>)).encoding(),
            Kind::Str | Kind::Int | Kind::BigStr => "unknown",
        }
    }
}

fn bytes_of<A: Allocator + Copy>(kind: Kind, object: *mut u8) -> usize {
    // SAFETY: as in `encoding_of`.
    unsafe {
        match kind {
            Kind::List => {
                std::mem::size_of::<List<A>>() + (*(object as *const List<A>)).mem_bytes()
            }
            Kind::Set => std::mem::size_of::<Set<A>>() + (*(object as *const Set<A>)).mem_bytes(),
            Kind::Hash => {
                std::mem::size_of::<Hash<A>>() + (*(object as *const Hash<A>)).mem_bytes()
            }
            Kind::Stream => {
                std::mem::size_of::<Stream<A>>() + (*(object as *const Stream<A>)).mem_bytes()
            }
            Kind::ZSet => {
                std::mem::size_of::<ZSet<A>>() + (*(object as *const ZSet<A>)).mem_bytes()
            }
            Kind::Str | Kind::Int | Kind::BigStr => 0,
        }
    }
}

/// Registers `A` for the non-generic [`encoding`] and [`object_bytes`] (done by [`create_in`]; call it when
/// storing a collection built another way).
pub fn register_for<A: KvAllocator>() {
    OBJECT_FNS.get_or_init(|| ObjectFns {
        encoding: encoding_of::<A>,
        bytes: bytes_of::<A>,
    });
}

/// A collection type an entry may point to.
pub trait Collection<A: Allocator + Copy>: Sized {
    /// The entry kind that points to this type.
    const KIND: Kind;
    /// An empty collection.
    fn empty(alloc: A) -> Self;
    /// Whether it has no elements (its key must then be deleted).
    fn is_empty(&self) -> bool;
    /// Heap bytes held.
    fn mem_bytes(&self) -> usize;
}

impl<A: Allocator + Copy> Collection<A> for List<A> {
    const KIND: Kind = Kind::List;
    fn empty(alloc: A) -> Self {
        List::new_in(alloc)
    }
    fn is_empty(&self) -> bool {
        List::is_empty(self)
    }
    fn mem_bytes(&self) -> usize {
        List::mem_bytes(self)
    }
}

impl<A: Allocator + Copy> Collection<A> for Set<A> {
    const KIND: Kind = Kind::Set;
    fn empty(alloc: A) -> Self {
        Set::new_in(alloc)
    }
    fn is_empty(&self) -> bool {
        Set::is_empty(self)
    }
    fn mem_bytes(&self) -> usize {
        Set::mem_bytes(self)
    }
}

impl<A: Allocator + Copy> Collection<A> for Hash<A> {
    const KIND: Kind = Kind::Hash;
    fn empty(alloc: A) -> Self {
        Hash::new_in(alloc)
    }
    fn is_empty(&self) -> bool {
        Hash::is_empty(self)
    }
    fn mem_bytes(&self) -> usize {
        Hash::mem_bytes(self)
    }
}

impl<A: Allocator + Copy> Collection<A> for Stream<A> {
    const KIND: Kind = Kind::Stream;
    fn empty(alloc: A) -> Self {
        Stream::new_in(alloc)
    }
    fn is_empty(&self) -> bool {
        // A stream key stays when its last entry goes (XDEL, XTRIM): never "empty" in this sense.
        false
    }
    fn mem_bytes(&self) -> usize {
        Stream::mem_bytes(self)
    }
}

impl<A: Allocator + Copy> Collection<A> for ZSet<A> {
    const KIND: Kind = Kind::ZSet;
    fn empty(alloc: A) -> Self {
        ZSet::new_in(alloc)
    }
    fn is_empty(&self) -> bool {
        ZSet::is_empty(self)
    }
    fn mem_bytes(&self) -> usize {
        ZSet::mem_bytes(self)
    }
}

/// The collection `entry` points to, if it is a `T`.
///
/// The reference is valid until the entry is deleted or replaced; callers must not hold two references to
/// the same collection (commands reach each key's collection once at a time).
pub fn object<'a, A: Allocator + Copy, T: Collection<A>>(entry: EntryPtr) -> Option<&'a mut T> {
    match entry.payload() {
        // SAFETY: an entry of kind `T::KIND` owns a live `Box<T, A>` raw pointer (see `new_object`).
        Payload::Object(kind, object) if kind == T::KIND => {
            Some(unsafe { &mut *(object as *mut T) })
        }
        _ => None,
    }
}

/// Boxes `value` with `A` and returns the raw pointer an entry stores.
pub fn new_object<A: Allocator + Copy + Default, T>(value: T) -> Result<*mut u8, AllocError> {
    let boxed = Box::try_new_in(value, A::default())?;
    Ok(Box::into_raw(boxed) as *mut u8)
}

/// Frees a boxed `T` made by [`new_object`].
///
/// # Safety
/// `object` must come from `new_object::<A, T>` and not be used afterwards.
unsafe fn drop_object<A: Allocator + Copy, T>(alloc: A, object: *mut u8) {
    drop(Box::from_raw_in(object as *mut T, alloc));
}

/// Frees a collection an entry pointed to.
///
/// # Safety
/// `object` must be the live collection of kind `kind` that an entry owned, allocated from `alloc`.
pub(crate) unsafe fn free_object<A: Allocator + Copy>(alloc: A, kind: Kind, object: *mut u8) {
    match kind {
        Kind::List => drop_object::<A, List<A>>(alloc, object),
        Kind::Set => drop_object::<A, Set<A>>(alloc, object),
        Kind::Hash => drop_object::<A, Hash<A>>(alloc, object),
        Kind::Stream => drop_object::<A, Stream<A>>(alloc, object),
        Kind::ZSet => drop_object::<A, ZSet<A>>(alloc, object),
        Kind::Str | Kind::Int | Kind::BigStr => debug_assert!(false, "free_object on a string"),
    }
}

/// Limits that make a rebuilt collection keep `encoding`: unlimited for the compact encodings, zero (so every
/// insert converts) for `hashtable`.
fn limits_keeping(encoding: &str) -> Limits {
    let compact = encoding != "hashtable";
    let cap = if compact { usize::MAX } else { 0 };
    Limits {
        list_max_listpack_size: -2,
        set_intset_entries_max: if encoding == "intset" { usize::MAX } else { 0 },
        set_listpack_entries_max: if encoding == "listpack" {
            usize::MAX
        } else {
            0
        },
        set_listpack_value_bytes_max: cap,
        hash_listpack_entries_max: cap,
        hash_listpack_value_bytes_max: cap,
        zset_listpack_entries_max: if encoding == "listpack" {
            usize::MAX
        } else {
            0
        },
        zset_listpack_value_bytes_max: cap,
    }
}

/// A deep copy of a collection (COPY), in the same encoding.
///
/// # Safety
/// `object` must be a live collection of kind `kind` allocated from `alloc`.
pub(crate) unsafe fn clone_object<A: Allocator + Copy>(
    alloc: A,
    kind: Kind,
    object: *mut u8,
) -> Result<*mut u8, AllocError> {
    let mut buf = [0u8; crate::types::elem::INT_TEXT_BYTES_MAX];
    let mut buf2 = [0u8; crate::types::elem::INT_TEXT_BYTES_MAX];
    match kind {
        Kind::List => {
            let src = &*(object as *const List<A>);
            let limits = Limits::default();
            let mut copy = List::new_in(alloc);
            for elem in src.iter() {
                copy.push_back(elem.to_bytes(&mut buf), &limits)?;
            }
            box_in(alloc, copy)
        }
        Kind::Set => {
            let src = &*(object as *const Set<A>);
            let limits = limits_keeping(src.encoding());
            let mut copy = Set::new_in(alloc);
            for elem in src.iter() {
                copy.add(elem.to_bytes(&mut buf), &limits)?;
            }
            box_in(alloc, copy)
        }
        Kind::Hash => {
            let src = &*(object as *const Hash<A>);
            let limits = limits_keeping(src.encoding());
            let mut copy = Hash::new_in(alloc);
            for (field, value) in src.iter() {
                copy.set(field.to_bytes(&mut buf), value.to_bytes(&mut buf2), &limits)?;
            }
            box_in(alloc, copy)
        }
        Kind::Stream => box_in(alloc, (*(object as *const Stream<A>)).try_clone()?),
        Kind::ZSet => {
            let src = &*(object as *const ZSet<A>);
            let mut copy = if src.encoding() == "listpack" {
                ZSet::new_in(alloc)
            } else {
                ZSet::new_skiplist_in(src.len(), alloc)?
            };
            copy.extend_sorted(src.iter())?;
            box_in(alloc, copy)
        }
        Kind::Str | Kind::Int | Kind::BigStr => Err(AllocError),
    }
}

fn box_in<A: Allocator + Copy, T>(alloc: A, value: T) -> Result<*mut u8, AllocError> {
    Ok(Box::into_raw(Box::try_new_in(value, alloc)?) as *mut u8)
}

/// Bytes a collection holds (MEMORY USAGE).
pub fn object_bytes(kind: Kind, object: *mut u8) -> usize {
    OBJECT_FNS.get().map_or(0, |fns| (fns.bytes)(kind, object))
}

/// A key's collection looked up by a command.
pub enum Found<'a, T> {
    /// No such key.
    Missing,
    /// The key holds another type (`-WRONGTYPE` was replied).
    WrongType,
    /// The collection.
    Some(&'a mut T),
}

fn classify<'a, A: KvAllocator, T: Collection<A>>(
    ctx: &mut Ctx<'_>,
    entry: Option<EntryPtr>,
) -> Found<'a, T> {
    match entry {
        None => Found::Missing,
        Some(e) => match object::<A, T>(e) {
            Some(obj) => Found::Some(obj),
            None => {
                ctx.error(WRONGTYPE);
                Found::WrongType
            }
        },
    }
}

/// Looks `key` up for reading (hit/miss counted); replies WRONGTYPE for another type.
pub fn read_obj<'a, A: KvAllocator, T: Collection<A>>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Found<'a, T> {
    let entry = ks.lookup_read(ctx.db, key, ctx.now_ms, ctx.fx);
    classify::<A, T>(ctx, entry)
}

/// Looks `key` up for writing; replies WRONGTYPE for another type.
pub fn write_obj<'a, A: KvAllocator, T: Collection<A>>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Found<'a, T> {
    let entry = ks.lookup(ctx.db, key, ctx.now_ms, ctx.fx);
    classify::<A, T>(ctx, entry)
}

/// Stores a new empty `T` under `key` (which must be absent) in `db`.
pub fn create_in<'a, A: KvAllocator, T: Collection<A>>(
    ks: &mut Keyspace<A>,
    db: usize,
    key: &[u8],
    now_ms: i64,
) -> Result<&'a mut T, Oom> {
    register_for::<A>();
    let raw = new_object::<A, T>(T::empty(A::default())).map_err(|_| Oom)?;
    match ks.set_payload(
        db,
        key,
        PayloadInit::Object(T::KIND, raw),
        None,
        false,
        now_ms,
    ) {
        // SAFETY: `raw` is the live `Box<T, A>` just stored.
        Ok(_) => Ok(unsafe { &mut *(raw as *mut T) }),
        Err(oom) => {
            // SAFETY: not stored anywhere.
            unsafe { drop_object::<A, T>(A::default(), raw) };
            Err(oom)
        }
    }
}

/// [`create_in`] in the client's db, replying `-OOM` on failure.
pub fn create<'a, A: KvAllocator, T: Collection<A>>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Option<&'a mut T> {
    match create_in::<A, T>(ks, ctx.db, key, ctx.now_ms) {
        Ok(obj) => Some(obj),
        Err(oom) => {
            reply_oom(ctx, oom);
            None
        }
    }
}

/// The collection at `key` for writing, created if missing; `None` after replying WRONGTYPE or OOM.
pub fn write_or_create<'a, A: KvAllocator, T: Collection<A>>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Option<&'a mut T> {
    match write_obj::<A, T>(ks, ctx, key) {
        Found::Some(obj) => Some(obj),
        Found::WrongType => None,
        Found::Missing => create::<A, T>(ks, ctx, key),
    }
}

/// Deletes `key` in `db` if its collection is empty (as Redis does), with a `del` event; whether it did.
pub fn delete_if_empty<A: KvAllocator, T: Collection<A>>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    db: usize,
    key: &[u8],
    obj: &T,
) -> bool {
    if !obj.is_empty() {
        return false;
    }
    ks.db_mut(db).remove(key);
    ctx.fx.notify(notify::GENERIC, "del", db, key);
    true
}
