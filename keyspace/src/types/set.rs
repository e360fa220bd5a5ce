//! [`Set`]: Redis's set encodings. `intset` while every member is an integer and there are at most
//! `set-max-intset-entries`; `listpack` while at most `set-max-listpack-entries` members of at
//! most `set-max-listpack-value` bytes; `hashtable` otherwise. Like Redis, a set never converts
//! back to a smaller encoding.

use super::elem::{int_text_len, Elem, Needle, INT_TEXT_BYTES_MAX};
use super::home_scan::scan_page;
use super::intset::{self, IntSet};
use super::listpack::{self, Listpack};
use super::packed::{KeyOf, Table, TableIter};
use super::{AllocError, Limits, Rng};
use allocator_api2::alloc::Allocator;

/// Members up to this many bytes live inside the 24-byte table slot.
const INLINE_BYTES_MAX: usize = 22;

/// Set members are their own keys.
pub(crate) struct Whole;

impl KeyOf for Whole {
    fn key(entry: &[u8]) -> &[u8] {
        entry
    }
}

type SetTable<A> = Table<A, INLINE_BYTES_MAX, Whole>;

enum Repr<A: Allocator + Copy> {
    Ints(IntSet<A>),
    Pack(Listpack<A>),
    Table(SetTable<A>),
}

/// A set of byte strings in the most compact encoding its contents allow.
pub struct Set<A: Allocator + Copy> {
    repr: Repr<A>,
    alloc: A,
}

impl<A: Allocator + Copy> Set<A> {
    /// An empty set (`intset`); allocates nothing.
    pub fn new_in(alloc: A) -> Self {
        Set {
            repr: Repr::Ints(IntSet::new_in(alloc)),
            alloc,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(set) => set.len(),
            Repr::Pack(lp) => lp.len(),
            Repr::Table(table) => table.len(),
        }
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING`: `"intset"`, `"listpack"` or `"hashtable"`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes held (for MEMORY USAGE).
    pub fn mem_bytes(&self) -> usize {
        match &self.repr {
            Repr::Ints(set) => set.mem_bytes(),
            Repr::Pack(lp) => lp.mem_bytes(),
            Repr::Table(table) => table.mem_bytes(),
        }
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        let needle = Needle::new(member);
        match &self.repr {
            Repr::Ints(set) => matches!(needle.elem(), Elem::Int(v) if set.contains(v)),
            Repr::Pack(lp) => lp.find(&needle, 0, 1).is_some(),
            Repr::Table(table) => table.get(member).is_some(),
        }
    }

    /// Adds `member`; `Ok(false)` if it was already there. On `Err` the set is unchanged.
    pub fn add(&mut self, member: &[u8], limits: &Limits) -> Result<bool, AllocError> {
        let needle = Needle::new(member);
        match &mut self.repr {
            Repr::Ints(set) => match needle.elem() {
                Elem::Int(value) if set.contains(value) => Ok(false),
                Elem::Int(value) if set.len() < limits.set_intset_entries_max => set.insert(value),
                Elem::Int(_) => self.convert_to_table(member).map(|()| true),
                Elem::Bytes(_) => {
                    if ints_fit_listpack(set, member, limits) {
                        self.convert_to_listpack(member).map(|()| true)
                    } else {
                        self.convert_to_table(member).map(|()| true)
                    }
                }
            },
            Repr::Pack(lp) => {
                if lp.find(&needle, 0, 1).is_some() {
                    return Ok(false);
                }
                if lp.len() < limits.set_listpack_entries_max
                    && member.len() <= limits.set_listpack_value_bytes_max
                {
                    lp.insert_at(lp.bytes_len(), needle.elem()).map(|()| true)
                } else {
                    self.convert_to_table(member).map(|()| true)
                }
            }
            Repr::Table(table) => {
                if table.get(member).is_some() {
                    return Ok(false);
                }
                table.upsert(&[member])
            }
        }
    }

    /// Replaces the intset with a listpack holding its members and `extra`.
    fn convert_to_listpack(&mut self, extra: &[u8]) -> Result<(), AllocError> {
        let mut lp = Listpack::new_in(self.alloc);
        for elem in self.iter() {
            lp.insert_at(lp.bytes_len(), elem)?;
        }
        lp.push_back(extra)?;
        self.repr = Repr::Pack(lp);
        Ok(())
    }

    /// Replaces the current encoding with a hash table holding every member and `extra`.
    fn convert_to_table(&mut self, extra: &[u8]) -> Result<(), AllocError> {
        let mut table = SetTable::with_capacity_in(self.len() + 1, self.alloc)?;
        let mut buf = [0u8; INT_TEXT_BYTES_MAX];
        for elem in self.iter() {
            table.upsert(&[elem.to_bytes(&mut buf)])?;
        }
        table.upsert(&[extra])?;
        self.repr = Repr::Table(table);
        Ok(())
    }

    /// Removes `member`; whether it was there. Never fails.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let needle = Needle::new(member);
        match &mut self.repr {
            Repr::Ints(set) => matches!(needle.elem(), Elem::Int(v) if set.remove(v)),
            Repr::Pack(lp) => match lp.find(&needle, 0, 1) {
                Some(off) => {
                    lp.remove_at(off);
                    true
                }
                None => false,
            },
            Repr::Table(table) => table.remove(member),
        }
    }

    /// Every member, in encoding order (sorted for `intset`, insertion order for `listpack`).
    pub fn iter(&self) -> Iter<'_, A> {
        match &self.repr {
            Repr::Ints(set) => Iter(IterRepr::Ints(set.iter())),
            Repr::Pack(lp) => Iter(IterRepr::Pack(lp.iter())),
            Repr::Table(table) => Iter(IterRepr::Table(table.iter())),
        }
    }

    /// One SSCAN call from `cursor`: hands `visit` a page of members and returns the next cursor, 0 when the
    /// iteration is complete. `intset` and `listpack`: every member, cursor 0, whatever the cursor (as
    /// Redis). `hashtable`: home buckets in reverse-binary order until the page holds `count` members or
    /// `10 * count` buckets were visited; a member present from the first call to the last is returned at
    /// least once (SCAN's guarantee, resizes included), possibly more than once.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Elem<'_>)) -> u64 {
        let Repr::Table(table) = &self.repr else {
            self.iter().for_each(visit);
            return 0;
        };
        let mut items = 0;
        scan_page(cursor, count, |at| {
            let next = table.scan(at, |member| {
                items += 1;
                visit(Elem::from_bytes(member));
            });
            (next, items)
        })
    }

    /// A uniformly random member (SRANDMEMBER without count), `None` when empty.
    pub fn random_member(&self, rng: &mut impl Rng) -> Option<Elem<'_>> {
        if self.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Ints(set) => set.get(rng.below(set.len())).map(Elem::Int),
            Repr::Pack(lp) => lp.offset_of(rng.below(lp.len())).map(|off| lp.get_at(off)),
            Repr::Table(table) => table.random(rng).map(Elem::from_bytes),
        }
    }

    /// Removes a uniformly random member (SPOP), showing it to `f` before it is freed.
    /// Never fails; `None` when empty.
    pub fn pop_random<R>(
        &mut self,
        rng: &mut impl Rng,
        f: impl FnOnce(Elem<'_>) -> R,
    ) -> Option<R> {
        if self.is_empty() {
            return None;
        }
        match &mut self.repr {
            Repr::Ints(set) => set
                .remove_index(rng.below(set.len()))
                .map(|v| f(Elem::Int(v))),
            Repr::Pack(lp) => {
                let off = lp.offset_of(rng.below(lp.len()))?;
                let result = f(lp.get_at(off));
                lp.remove_at(off);
                Some(result)
            }
            Repr::Table(table) => table.pop_random(rng, |bytes| f(Elem::from_bytes(bytes))),
        }
    }
}

/// Redis 7.2's test for turning an intset into a listpack when a non-integer arrives.
fn ints_fit_listpack<A: Allocator + Copy>(set: &IntSet<A>, member: &[u8], limits: &Limits) -> bool {
    let widest = match (set.iter().next(), set.iter().next_back()) {
        (Some(min), Some(max)) => int_text_len(min).max(int_text_len(max)),
        _ => 0,
    };
    set.len() < limits.set_listpack_entries_max
        && member.len() <= limits.set_listpack_value_bytes_max
        && widest <= limits.set_listpack_value_bytes_max
}

/// Iterator over a set's members.
pub struct Iter<'a, A: Allocator + Copy>(IterRepr<'a, A>);

enum IterRepr<'a, A: Allocator + Copy> {
    Ints(intset::Iter<'a>),
    Pack(listpack::Iter<'a>),
    Table(TableIter<'a, A, INLINE_BYTES_MAX>),
}

impl<'a, A: Allocator + Copy> Iterator for Iter<'a, A> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        match &mut self.0 {
            IterRepr::Ints(iter) => iter.next().map(Elem::Int),
            IterRepr::Pack(iter) => iter.next(),
            IterRepr::Table(iter) => iter.next().map(|e| Elem::from_bytes(e.as_bytes())),
        }
    }
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;
