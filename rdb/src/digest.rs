//! Redis 7.0's `DEBUG DIGEST` and `DEBUG DIGEST-VALUE` (`debug.c`): SHA1 digests of values and of a whole
//! dataset, equal to redis-server's for the same data, so two servers (or a server before and after a
//! reload, or the two ends of a MIGRATE in `redis-cli --cluster`) can be compared.
//!
//! Two mixing steps: *xor* (`digest ^= SHA1(data)`, order-free: set members, hash fields, keys) and *mix*
//! (`digest = SHA1(digest ^ SHA1(data))`, ordered: list elements, stream entries). A value's digest mixes
//! its type number (big-endian u32), then its contents, and xors `!!expire!!` when it has a TTL.
//!
//! ```
//! use zedis_rdb::digest::{hex, value_digest};
//! use zedis_rdb::RdbValue;
//!
//! // redis-server: SET k hello; DEBUG DIGEST-VALUE k
//! let d = value_digest(&RdbValue::String(b"hello".to_vec()), false);
//! assert_eq!(hex(&d).len(), 40);
//! ```

use crate::RdbValue;
use sha1::{Digest as _, Sha1};

/// A 20-byte digest.
pub type Digest20 = [u8; 20];

/// `digest ^= SHA1(data)` (Redis's `xorDigest`).
fn xor(digest: &mut Digest20, data: &[u8]) {
    let hash = Sha1::digest(data);
    for (d, h) in digest.iter_mut().zip(hash.iter()) {
        *d ^= h;
    }
}

/// `digest = SHA1(digest ^ SHA1(data))` (Redis's `mixDigest`).
fn mix(digest: &mut Digest20, data: &[u8]) {
    xor(digest, data);
    let next = Sha1::digest(&digest[..]);
    digest.copy_from_slice(&next);
}

/// Redis's type numbers (`OBJ_STRING` ... `OBJ_STREAM`).
fn type_number(value: &RdbValue) -> u32 {
    match value {
        RdbValue::String(_) => 0,
        RdbValue::List(_) => 1,
        RdbValue::Set(_) => 2,
        RdbValue::ZSet(_) => 3,
        RdbValue::Hash(_) => 4,
        RdbValue::Stream(_) => 6,
    }
}

/// Mixes one value into `digest` as `xorObjectDigest` does: its type, its contents, its TTL flag.
pub fn mix_value(digest: &mut Digest20, value: &RdbValue, has_expire: bool) {
    mix(digest, &type_number(value).to_be_bytes());
    match value {
        RdbValue::String(s) => mix(digest, s),
        RdbValue::List(items) => items.iter().for_each(|e| mix(digest, e)),
        RdbValue::Set(members) => members.iter().for_each(|m| xor(digest, m)),
        RdbValue::ZSet(pairs) => {
            let mut score = Vec::with_capacity(32);
            for (member, s) in pairs {
                score.clear();
                zedis_util::double::format_double_g17(&mut score, *s);
                let mut element = [0u8; 20];
                mix(&mut element, member);
                mix(&mut element, &score);
                xor(digest, &element);
            }
        }
        RdbValue::Hash(pairs) => {
            for (field, v) in pairs {
                let mut element = [0u8; 20];
                mix(&mut element, field);
                mix(&mut element, v);
                xor(digest, &element);
            }
        }
        RdbValue::Stream(stream) => {
            for entry in &stream.entries {
                mix(
                    digest,
                    format!("{}.{}", entry.id.ms, entry.id.seq).as_bytes(),
                );
                for (field, v) in &entry.fields {
                    mix(digest, field);
                    mix(digest, v);
                }
            }
        }
    }
    if has_expire {
        xor(digest, b"!!expire!!");
    }
}

/// `DEBUG DIGEST-VALUE` of one key: the value's digest from zero (a missing key is all zeros).
pub fn value_digest(value: &RdbValue, has_expire: bool) -> Digest20 {
    let mut digest = [0; 20];
    mix_value(&mut digest, value, has_expire);
    digest
}

/// `DEBUG DIGEST` of a dataset: call [`DatasetDigest::database`] before the keys of each non-empty
/// database (in ascending order), then [`DatasetDigest::key`] for every key in it (in any order, logically
/// expired keys included, as Redis iterates its dict). An empty dataset is all zeros.
#[derive(Debug, Default, Clone)]
pub struct DatasetDigest {
    digest: Digest20,
}

impl DatasetDigest {
    /// A digest of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts database `index` (only call it for a database that has keys).
    pub fn database(&mut self, index: u32) {
        mix(&mut self.digest, &index.to_be_bytes());
    }

    /// Adds one key and its value.
    pub fn key(&mut self, key: &[u8], value: &RdbValue, has_expire: bool) {
        let mut pair = [0u8; 20];
        mix(&mut pair, key);
        mix_value(&mut pair, value, has_expire);
        xor(&mut self.digest, &pair);
    }

    /// The digest.
    pub fn finish(&self) -> Digest20 {
        self.digest
    }
}

/// The 40 lowercase hex digits Redis replies with.
pub fn hex(digest: &Digest20) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn members() -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 0..8), 1..12)
            .prop_map(|s| s.into_iter().collect())
    }

    proptest! {
        /// Unordered types digest the same in any order; a list's order counts; a TTL changes the digest.
        #[test]
        fn order_rules(items in members(), rotate in 1usize..12) {
            let mut turned = items.clone();
            let by = rotate % turned.len();
            turned.rotate_left(by);
            let pairs = |v: &[Vec<u8>]| v.iter().map(|m| (m.clone(), m.clone())).collect::<Vec<_>>();
            let scored = |v: &[Vec<u8>]| v.iter().map(|m| (m.clone(), m.len() as f64)).collect::<Vec<_>>();
            prop_assert_eq!(value_digest(&RdbValue::Set(items.clone()), false),
                            value_digest(&RdbValue::Set(turned.clone()), false));
            prop_assert_eq!(value_digest(&RdbValue::Hash(pairs(&items)), false),
                            value_digest(&RdbValue::Hash(pairs(&turned)), false));
            prop_assert_eq!(value_digest(&RdbValue::ZSet(scored(&items)), false),
                            value_digest(&RdbValue::ZSet(scored(&turned)), false));
            if by != 0 {
                prop_assert_ne!(value_digest(&RdbValue::List(items.clone()), false),
                                value_digest(&RdbValue::List(turned), false));
            }
            let list = RdbValue::List(items);
            prop_assert_ne!(value_digest(&list, false), value_digest(&list, true));
        }
    }

    #[test]
    fn dataset_digest_depends_on_the_database() {
        let v = RdbValue::String(b"v".to_vec());
        let (mut a, mut b) = (DatasetDigest::new(), DatasetDigest::new());
        a.database(0);
        a.key(b"k", &v, false);
        b.database(1);
        b.key(b"k", &v, false);
        assert_ne!(a.finish(), b.finish());
        assert_eq!(hex(&DatasetDigest::new().finish()), "0".repeat(40));
    }
}
