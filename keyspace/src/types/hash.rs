//! [`Hash`]: Redis's hash encodings. `listpack` (field, value, field, value, ...) while at most
//! `hash-max-listpack-entries` pairs whose fields and values are at most `hash-max-listpack-value`
//! bytes; `hashtable` otherwise (never converting back, as Redis).

use super::elem::{Elem, Needle};
use super::home_scan::scan_page;
use super::listpack::{self, Listpack};
use super::packed::{KeyOf, Table, TableIter};
use super::{AllocError, Limits, Rng};
use allocator_api2::alloc::Allocator;

/// Entries (length prefix + field + value) up to this many bytes live inside the 32-byte slot.
const INLINE_BYTES_MAX: usize = 30;

/// Table entries are `varint(field length) field value`.
pub(crate) struct FieldKey;

impl KeyOf for FieldKey {
    fn key(entry: &[u8]) -> &[u8] {
        split_entry(entry).0
    }
}

/// `(field, value)` of a table entry.
fn split_entry(entry: &[u8]) -> (&[u8], &[u8]) {
    let (mut len, mut shift, mut at) = (0usize, 0u32, 0usize);
    loop {
        let byte = entry[at];
        at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    entry[at..].split_at(len)
}

/// LEB128 of `len` into `buf`; returns the bytes used.
fn write_varint(mut len: usize, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = 0;
    loop {
        let group = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            buf[at] = group;
            return &buf[..=at];
        }
        buf[at] = group | 0x80;
        at += 1;
    }
}

type HashTable<A> = Table<A, INLINE_BYTES_MAX, FieldKey>;

/// The table is boxed so that the common small hash pays only for the listpack inline.
enum Repr<A: Allocator + Copy> {
    Pack(Listpack<A>),
    Table(allocator_api2::boxed::Box<HashTable<A>, A>),
}

/// A map from byte-string fields to byte-string values in the most compact encoding allowed.
pub struct Hash<A: Allocator + Copy> {
    repr: Repr<A>,
    alloc: A,
}

impl<A: Allocator + Copy> Hash<A> {
    /// An empty hash (`listpack`); allocates nothing.
    pub fn new_in(alloc: A) -> Self {
        Hash {
            repr: Repr::Pack(Listpack::new_in(alloc)),
            alloc,
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(lp) => lp.len() / 2,
            Repr::Table(table) => table.len(),
        }
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING`: `"listpack"` or `"hashtable"`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes held (for MEMORY USAGE).
    pub fn mem_bytes(&self) -> usize {
        match &self.repr {
            Repr::Pack(lp) => lp.mem_bytes(),
            Repr::Table(table) => table.mem_bytes() + core::mem::size_of::<HashTable<A>>(),
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<Elem<'_>> {
        match &self.repr {
            Repr::Pack(lp) => {
                let off = lp.find(&Needle::new(field), 0, 2)?;
                lp.next_off(off).map(|value| lp.get_at(value))
            }
            Repr::Table(table) => table
                .get(field)
                .map(|entry| Elem::from_bytes(split_entry(entry).1)),
        }
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Length of `field`'s value (HSTRLEN), `None` if absent.
    pub fn value_len(&self, field: &[u8]) -> Option<usize> {
        self.get(field).map(|value| value.len_bytes())
    }

    /// Sets `field` to `value`; whether the field is new. On `Err` the hash is unchanged.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> Result<bool, AllocError> {
        let value_max = limits.hash_listpack_value_bytes_max;
        let Repr::Pack(lp) = &mut self.repr else {
            return self.table_set(field, value);
        };
        let found = lp.find(&Needle::new(field), 0, 2);
        if field.len() > value_max || value.len() > value_max {
            return self.convert_and_set(field, value).map(|()| found.is_none());
        }
        if let Some(field_off) = found {
            let value_off = lp.next_off(field_off).ok_or(AllocError)?;
            return lp
                .replace_at(value_off, Elem::from_bytes(value))
                .map(|()| false);
        }
        if lp.len() / 2 >= limits.hash_listpack_entries_max {
            return self.convert_and_set(field, value).map(|()| true);
        }
        let end = lp.bytes_len();
        lp.insert_at(end, Elem::from_bytes(field))?;
        if let Err(error) = lp.insert_at(lp.bytes_len(), Elem::from_bytes(value)) {
            lp.remove_at(end);
            return Err(error);
        }
        Ok(true)
    }

    /// Sets `field` only if absent (HSETNX); whether it was set.
    pub fn set_nx(
        &mut self,
        field: &[u8],
        value: &[u8],
        limits: &Limits,
    ) -> Result<bool, AllocError> {
        if self.contains(field) {
            return Ok(false);
        }
        self.set(field, value, limits)
    }

    fn table_set(&mut self, field: &[u8], value: &[u8]) -> Result<bool, AllocError> {
        let Repr::Table(table) = &mut self.repr else {
            unreachable!("table_set is only called on tables");
        };
        let mut prefix = [0u8; 10];
        table.upsert(&[write_varint(field.len(), &mut prefix), field, value])
    }

    /// Replaces the listpack with a table holding its pairs plus `field` = `value`.
    fn convert_and_set(&mut self, field: &[u8], value: &[u8]) -> Result<(), AllocError> {
        let mut table = HashTable::with_capacity_in(self.len() + 1, self.alloc)?;
        let mut prefix = [0u8; 10];
        let (mut field_buf, mut value_buf) = ([0u8; 20], [0u8; 20]);
        for (f, v) in self.iter() {
            let f = f.to_bytes(&mut field_buf);
            table.upsert(&[
                write_varint(f.len(), &mut prefix),
                f,
                v.to_bytes(&mut value_buf),
            ])?;
        }
        table.upsert(&[write_varint(field.len(), &mut prefix), field, value])?;
        let table =
            allocator_api2::boxed::Box::try_new_in(table, self.alloc).map_err(|_| AllocError)?;
        self.repr = Repr::Table(table);
        Ok(())
    }

    /// Removes `field`; whether it existed. Never fails.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(lp) => match lp.find(&Needle::new(field), 0, 2) {
                Some(off) => {
                    lp.remove_range(off, 2);
                    true
                }
                None => false,
            },
            Repr::Table(table) => table.remove(field),
        }
    }

    /// Every `(field, value)` (insertion order for `listpack`).
    pub fn iter(&self) -> Iter<'_, A> {
        match &self.repr {
            Repr::Pack(lp) => Iter(IterRepr::Pack(lp.iter())),
            Repr::Table(table) => Iter(IterRepr::Table(table.iter())),
        }
    }

    /// One HSCAN call from `cursor`: hands `visit(field, value)` a page of pairs and returns the next cursor,
    /// 0 when the iteration is complete. `listpack`: every pair in order, cursor 0, whatever the cursor (as
    /// Redis). `hashtable`: home buckets in reverse-binary order until the page holds `count` items (fields
    /// and values, as Redis counts them) or `10 * count` buckets were visited; a field present from the first
    /// call to the last is returned at least once (SCAN's guarantee, resizes included).
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(Elem<'_>, Elem<'_>),
    ) -> u64 {
        let Repr::Table(table) = &self.repr else {
            self.iter().for_each(|(field, value)| visit(field, value));
            return 0;
        };
        let mut items = 0;
        scan_page(cursor, count, |at| {
            let next = table.scan(at, |entry| {
                let (field, value) = split_entry(entry);
                items += 2;
                visit(Elem::from_bytes(field), Elem::from_bytes(value));
            });
            (next, items)
        })
    }

    /// A uniformly random `(field, value)` (HRANDFIELD without count), `None` when empty.
    pub fn random_entry(&self, rng: &mut impl Rng) -> Option<(Elem<'_>, Elem<'_>)> {
        if self.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Pack(lp) => {
                let field = lp.offset_of(2 * rng.below(lp.len() / 2))?;
                let value = lp.next_off(field)?;
                Some((lp.get_at(field), lp.get_at(value)))
            }
            Repr::Table(table) => table.random(rng).map(|entry| {
                let (field, value) = split_entry(entry);
                (Elem::from_bytes(field), Elem::from_bytes(value))
            }),
        }
    }
}

/// Iterator over a hash's `(field, value)` pairs.
pub struct Iter<'a, A: Allocator + Copy>(IterRepr<'a, A>);

enum IterRepr<'a, A: Allocator + Copy> {
    Pack(listpack::Iter<'a>),
    Table(TableIter<'a, A, INLINE_BYTES_MAX>),
}

impl<'a, A: Allocator + Copy> Iterator for Iter<'a, A> {
    type Item = (Elem<'a>, Elem<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Pack(iter) => Some((iter.next()?, iter.next()?)),
            IterRepr::Table(iter) => iter.next().map(|entry| {
                let (field, value) = split_entry(entry.as_bytes());
                (Elem::from_bytes(field), Elem::from_bytes(value))
            }),
        }
    }
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
