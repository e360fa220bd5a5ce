//! One namespace of subscription targets (the channels, the patterns or the shard channels) and, for
//! each target, its subscribers.
//!
//! Targets live in a `Vec` (iterated by `PUBLISH` for patterns, cache-friendly) with a hash index from
//! name to position. Removal is `swap_remove` on both the target list and each subscriber list, so every
//! operation is O(1) expected; the caller keeps, per client, the position of that client in each of its
//! targets' subscriber lists and is told which client moved into a vacated position.

use std::mem::size_of;
use std::rc::Rc;

use hashbrown::HashMap;
use zedis_util::glob;

use crate::ClientId;

/// Estimated bytes of one hash-table entry of `(K, V)`: the slot plus its control byte, at hashbrown's
/// 7/8 maximum load. Tables grow in powers of two, so this is an estimate, charged per entry so that it
/// returns exactly to zero when the entries go.
pub(crate) const fn entry_bytes<K, V>() -> usize {
    (size_of::<(K, V)>() + 1) * 8 / 7
}

/// Bytes of the heap block behind an `Rc<[u8]>` of `len` bytes: strong and weak counts, then the bytes.
pub(crate) const fn name_bytes(len: usize) -> usize {
    2 * size_of::<usize>() + len
}

/// Where a client was put, and the name shared with the client's own set.
pub(crate) struct Added {
    /// The target's name, shared (not copied) with the caller's per-client set.
    pub name: Rc<[u8]>,
    /// Position of the client in the target's subscriber list.
    pub idx: usize,
}

/// A channel (or pattern) and its subscribers.
#[derive(Debug)]
pub(crate) struct Group {
    /// The channel name or glob pattern.
    pub name: Rc<[u8]>,
    /// Length of the leading run of `name` without a glob metacharacter (`*?[\`): a channel must start
    /// with exactly these bytes to match. Equal to `name.len()` for a literal pattern.
    literal_prefix_len: usize,
    /// Invariant: non-empty while the group is in a table; each client at most once.
    pub subscribers: Vec<ClientId>,
}

impl Group {
    fn new(name: Rc<[u8]>) -> Group {
        let literal_prefix_len = name
            .iter()
            .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
            .unwrap_or(name.len());
        Group {
            name,
            literal_prefix_len,
            subscribers: Vec::new(),
        }
    }

    /// Whether `channel` matches this group's name taken as a glob pattern. The literal prefix is
    /// compared with `memcmp` first, so most non-matching patterns cost no glob call at all. Matching
    /// the rest of the pattern against a non-empty rest of the channel is equivalent to matching the
    /// whole, since `stringmatchlen` consumes literal bytes one for one; an empty rest is not (Redis
    /// 7.0: `*` does not match "" but `a*` matches "a"), so that case matches the whole.
    pub fn matches(&self, channel: &[u8]) -> bool {
        let prefix_len = self.literal_prefix_len;
        if prefix_len == self.name.len() {
            return *self.name == *channel;
        }
        if channel.len() < prefix_len || self.name[..prefix_len] != channel[..prefix_len] {
            return false;
        }
        if channel.len() == prefix_len {
            return glob::matches(&self.name, channel);
        }
        glob::matches(&self.name[prefix_len..], &channel[prefix_len..])
    }

    /// Bytes this group holds, table entry excluded.
    fn bytes(&self) -> usize {
        name_bytes(self.name.len()) + self.subscribers.capacity() * size_of::<ClientId>()
    }
}

/// Targets of one kind and their subscribers.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Invariant: every group has at least one subscriber; names are unique.
    groups: Vec<Group>,
    /// Invariant: `index[&groups[i].name] == i` for every `i`, and `index.len() == groups.len()`.
    index: HashMap<Rc<[u8]>, usize>,
    /// Invariant: `bytes == groups.capacity() * size_of::<Group>()
    ///   + sum(g.bytes() + entry_bytes::<Rc<[u8]>, usize>())`.
    bytes: usize,
}

impl Table {
    /// Number of targets (each with at least one subscriber).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Bytes held, as described on the field.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Subscribers of `name`, empty if nobody is subscribed.
    pub fn subscribers(&self, name: &[u8]) -> &[ClientId] {
        match self.index.get(name) {
            Some(&i) => &self.groups[i].subscribers,
            None => &[],
        }
    }

    /// Every target, in table order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Appends `client` to the subscribers of `name`, creating the target if needed. The caller has
    /// checked that `client` is not subscribed yet, and the limits.
    pub fn add(&mut self, name: &[u8], client: ClientId) -> Added {
        let gi = match self.index.get(name) {
            Some(&gi) => gi,
            None => self.insert_group(name),
        };
        let group = &mut self.groups[gi];
        debug_assert!(!group.subscribers.contains(&client));
        self.bytes -= group.bytes();
        group.subscribers.push(client);
        self.bytes += group.bytes();
        Added {
            name: Rc::clone(&group.name),
            idx: group.subscribers.len() - 1,
        }
    }

    fn insert_group(&mut self, name: &[u8]) -> usize {
        let gi = self.groups.len();
        let name: Rc<[u8]> = Rc::from(name);
        let capacity = self.groups.capacity();
        self.groups.push(Group::new(Rc::clone(&name)));
        self.bytes += (self.groups.capacity() - capacity) * size_of::<Group>();
        self.bytes += self.groups[gi].bytes() + entry_bytes::<Rc<[u8]>, usize>();
        self.index.insert(name, gi);
        gi
    }

    /// Removes the subscriber at position `idx` of `name` (which must exist). Returns the client that
    /// was moved into position `idx`, if any, whose recorded position the caller must update.
    pub fn remove(&mut self, name: &[u8], idx: usize) -> Option<ClientId> {
        let gi = *self.index.get(name)?;
        let group = &mut self.groups[gi];
        self.bytes -= group.bytes();
        group.subscribers.swap_remove(idx);
        let moved = group.subscribers.get(idx).copied();
        if group.subscribers.is_empty() {
            self.remove_group(gi);
            return None;
        }
        // Give memory back after mass unsubscription, with hysteresis against push/pop flapping.
        let (len, capacity) = (group.subscribers.len(), group.subscribers.capacity());
        if capacity > 8 && len * 4 <= capacity {
            group.subscribers.shrink_to(len * 2);
        }
        self.bytes += group.bytes();
        moved
    }

    fn remove_group(&mut self, gi: usize) {
        let group = self.groups.swap_remove(gi);
        self.index.remove(&group.name);
        // `group.bytes()` was already subtracted by the caller.
        self.bytes -= entry_bytes::<Rc<[u8]>, usize>();
        if let Some(moved) = self.groups.get(gi) {
            if let Some(slot) = self.index.get_mut(&moved.name) {
                *slot = gi;
            }
        }
        let capacity = self.groups.capacity();
        if self.groups.is_empty() {
            // Hand everything back, so that an idle registry holds (and is charged) nothing.
            self.groups = Vec::new();
            self.index = HashMap::new();
            self.bytes -= capacity * size_of::<Group>();
        } else if capacity > 8 && self.groups.len() * 4 <= capacity {
            self.groups.shrink_to(self.groups.len() * 2);
            self.bytes -= (capacity - self.groups.capacity()) * size_of::<Group>();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(pattern: &[u8]) -> Group {
        Group::new(Rc::from(pattern))
    }

    #[test]
    fn prefix_filter_agrees_with_glob() {
        let patterns: [&[u8]; 11] = [
            b"",
            b"abc",
            b"a*",
            b"ab?d",
            b"*",
            b"a\\*",
            b"a[bc]d",
            b"news.*.x",
            b"ab[^",
            b"a**",
            b"a\\",
        ];
        let channels: [&[u8]; 8] = [
            b"",
            b"a",
            b"abc",
            b"abd",
            b"abcd",
            b"a*",
            b"news.it.x",
            b"ab",
        ];
        for p in patterns {
            for c in channels {
                assert_eq!(group(p).matches(c), glob::matches(p, c), "{p:?} {c:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn prefix_filter_agrees_with_glob_on_random_input(
            pattern in proptest::collection::vec(proptest::sample::select(b"ab*?[]^\\-".to_vec()), 0..8),
            channel in proptest::collection::vec(proptest::sample::select(b"ab*?[]".to_vec()), 0..8),
        ) {
            proptest::prop_assert_eq!(group(&pattern).matches(&channel), glob::matches(&pattern, &channel));
        }
    }

    #[test]
    fn swap_remove_reports_moved_client_and_bytes_return_to_zero() {
        let mut table = Table::default();
        for id in 0..20 {
            assert_eq!(table.add(b"ch", ClientId(id)).idx, id as usize);
        }
        table.add(b"other", ClientId(1));
        assert_eq!(table.len(), 2);
        assert_eq!(table.remove(b"ch", 0), Some(ClientId(19)));
        assert_eq!(table.subscribers(b"ch")[0], ClientId(19));
        // Removing the last one moves nobody.
        assert_eq!(table.remove(b"ch", 18), None);
        while !table.subscribers(b"ch").is_empty() {
            table.remove(b"ch", 0);
        }
        assert_eq!(table.len(), 1);
        assert_eq!(table.subscribers(b"other"), &[ClientId(1)]);
        table.remove(b"other", 0);
        assert_eq!(table.len(), 0);
        assert_eq!(table.bytes(), 0);
    }
}
