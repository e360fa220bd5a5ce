//! The command-name index: the lookup every command makes, case-insensitive and allocation-free.
//!
//! A general hash map needed the name lowercased into a buffer, checked as UTF-8 and hashed as a `str` before
//! probing (about 4% of a pipelined GET's CPU). Here the hash folds ASCII case itself and the probe compares
//! with `eq_ignore_ascii_case`, over a small open-addressed array built once at startup.

/// Slots per name, at least (so probes stay short).
const SLOTS_PER_NAME: usize = 4;
/// An empty slot.
const EMPTY: u16 = u16::MAX;

/// Names to their row in the command table. Invariant: `slots.len()` is a power of two larger than the
/// number of names, so every probe sequence reaches an empty slot.
pub struct NameIndex {
    slots: Box<[u16]>,
    mask: usize,
}

impl NameIndex {
    /// Indexes `names` (lowercase, unique): row `i` is `names[i]`.
    pub fn new<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> NameIndex {
        let count = names.len();
        assert!(count < EMPTY as usize, "too many commands for a u16 index");
        let size = (count * SLOTS_PER_NAME).next_power_of_two().max(8);
        let mut index = NameIndex {
            slots: vec![EMPTY; size].into_boxed_slice(),
            mask: size - 1,
        };
        for (row, name) in names.enumerate() {
            let mut slot = hash(name.as_bytes()) & index.mask;
            while index.slots[slot] != EMPTY {
                slot = (slot + 1) & index.mask;
            }
            index.slots[slot] = row as u16;
        }
        index
    }

    /// The row whose name is `name` ignoring ASCII case; `is_name(row, name)` tells whether row `row` is it.
    #[inline]
    pub fn find(&self, name: &[u8], is_name: impl Fn(usize) -> bool) -> Option<usize> {
        let mut slot = hash(name) & self.mask;
        loop {
            match self.slots[slot] {
                EMPTY => return None,
                row if is_name(row as usize) => return Some(row as usize),
                _ => slot = (slot + 1) & self.mask,
            }
        }
    }
}

/// FNV-1a over the bytes with ASCII letters folded to lowercase (`| 0x20` folds other bytes too, which only
/// makes more names share a hash: the probe compares the names themselves).
#[inline]
fn hash(name: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h ^= u64::from(b | 0x20);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // The low bits pick the slot: mix the high ones in.
    (h ^ (h >> 29)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_in_any_case_and_nothing_else() {
        let names = [
            "get",
            "set",
            "getset",
            "client",
            "xautoclaim",
            "zrangebyscore",
            "ping",
        ];
        let index = NameIndex::new(names.iter().copied());
        let find = |query: &[u8]| {
            index.find(query, |row| {
                names[row].as_bytes().eq_ignore_ascii_case(query)
            })
        };
        for (row, name) in names.iter().enumerate() {
            assert_eq!(find(name.as_bytes()), Some(row));
            assert_eq!(find(name.to_ascii_uppercase().as_bytes()), Some(row));
        }
        for absent in [&b"gets"[..], b"", b"ge", b"\xff\xfe", b"GET\0", b"pinG "] {
            assert_eq!(find(absent), None, "{absent:?}");
        }
    }
}
