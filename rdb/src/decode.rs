//! Object decoding: every value encoding Redis 7.0 loads (and 7.2's set listpack / stream v3).

use std::collections::HashSet;
use std::io::Read;

use crate::compact::{intset_decode, ziplist_decode, zipmap_decode};
use crate::error::{ErrorKind, Result};
use crate::input::Input;
use crate::listpack::{self, LpEntry};
use crate::rdb_type as t;
use crate::stream;
use crate::strtod::strtod_prefix;
use crate::value::RdbValue;

/// Reads the value of an object of type `rdb_type`. Empty collections decode as empty values; the
/// caller decides (a file skips such keys as Redis does, RESTORE refuses them).
pub fn read_object<R: Read>(input: &mut Input<R>, rdb_type: u8) -> Result<RdbValue> {
    Ok(match rdb_type {
        t::STRING => RdbValue::String(input.string("string value")?),
        t::LIST => {
            let n = input.count("list length")?;
            let mut items = Vec::with_capacity(n.min(1024) as usize);
            for _ in 0..n {
                items.push(input.string("list element")?);
            }
            RdbValue::List(items)
        }
        t::SET => {
            let n = input.count("set size")?;
            let mut items = Vec::with_capacity(n.min(1024) as usize);
            for _ in 0..n {
                items.push(input.string("set member")?);
            }
            no_duplicates(input, items.iter(), "duplicate set members detected")?;
            RdbValue::Set(items)
        }
        t::ZSET | t::ZSET_2 => {
            let n = input.count("sorted set size")?;
            let mut items = Vec::with_capacity(n.min(1024) as usize);
            for _ in 0..n {
                let member = input.string("sorted set member")?;
                let score = if rdb_type == t::ZSET_2 {
                    input.binary_double("sorted set score")?
                } else {
                    input.text_double("sorted set score")?
                };
                if score.is_nan() {
                    return Err(input.corrupt("zset with NAN score detected"));
                }
                items.push((member, score));
            }
            no_duplicates(
                input,
                items.iter().map(|(m, _)| m),
                "duplicate zset fields detected",
            )?;
            RdbValue::ZSet(items)
        }
        t::HASH => {
            let n = input.count("hash size")?;
            let mut items = Vec::with_capacity(n.min(1024) as usize);
            for _ in 0..n {
                let field = input.string("hash field")?;
                let value = input.string("hash value")?;
                items.push((field, value));
            }
            no_duplicates(
                input,
                items.iter().map(|(f, _)| f),
                "duplicate hash fields detected",
            )?;
            RdbValue::Hash(items)
        }
        t::MODULE | t::MODULE_2 => {
            let id = input.len("module id")?;
            return Err(input.err(ErrorKind::Module(module_type_name(id))));
        }
        t::HASH_ZIPMAP => {
            let start = input.offset();
            let blob = input.string("zipmap")?;
            let pairs = zipmap_decode(&blob).map_err(|e| crate::RdbError::corrupt(start, e))?;
            no_duplicates(
                input,
                pairs.iter().map(|(f, _)| f),
                "duplicate hash fields in zipmap",
            )?;
            RdbValue::Hash(pairs)
        }
        t::LIST_ZIPLIST => RdbValue::List(blob_entries(input, BlobKind::Ziplist, "list ziplist")?),
        t::SET_INTSET => {
            let start = input.offset();
            let blob = input.string("intset")?;
            let values = intset_decode(&blob).map_err(|e| crate::RdbError::corrupt(start, e))?;
            RdbValue::Set(values.iter().map(|v| v.to_string().into_bytes()).collect())
        }
        t::SET_LISTPACK => {
            let items = blob_entries(input, BlobKind::Listpack, "set listpack")?;
            no_duplicates(input, items.iter(), "duplicate set members in listpack")?;
            RdbValue::Set(items)
        }
        t::ZSET_ZIPLIST | t::ZSET_LISTPACK => {
            let kind = if rdb_type == t::ZSET_ZIPLIST {
                BlobKind::Ziplist
            } else {
                BlobKind::Listpack
            };
            let flat = blob_entries(input, kind, "sorted set listpack")?;
            let pairs = pairs(input, flat, "sorted set listpack")?;
            let mut items = Vec::with_capacity(pairs.len());
            for (member, score) in pairs {
                // Redis reads the score text with `strtod` (garbage reads as 0); NaN, which it
                // would keep, is refused: no sorted set here can hold it.
                let score = strtod_prefix(&score);
                if score.is_nan() {
                    return Err(input.corrupt("NaN score in sorted set listpack"));
                }
                items.push((member, score));
            }
            no_duplicates(
                input,
                items.iter().map(|(m, _)| m),
                "duplicate zset members in listpack",
            )?;
            RdbValue::ZSet(items)
        }
        t::HASH_ZIPLIST | t::HASH_LISTPACK => {
            let kind = if rdb_type == t::HASH_ZIPLIST {
                BlobKind::Ziplist
            } else {
                BlobKind::Listpack
            };
            let flat = blob_entries(input, kind, "hash listpack")?;
            let items = pairs(input, flat, "hash listpack")?;
            no_duplicates(
                input,
                items.iter().map(|(f, _)| f),
                "duplicate hash fields in listpack",
            )?;
            RdbValue::Hash(items)
        }
        t::LIST_QUICKLIST | t::LIST_QUICKLIST_2 => RdbValue::List(quicklist(input, rdb_type)?),
        t::STREAM_LISTPACKS | t::STREAM_LISTPACKS_2 | t::STREAM_LISTPACKS_3 => {
            RdbValue::Stream(Box::new(stream::read_stream(input, rdb_type)?))
        }
        other => return Err(input.err(ErrorKind::UnknownType(other))),
    })
}

#[derive(Clone, Copy)]
enum BlobKind {
    Listpack,
    Ziplist,
}

/// Reads a string holding a listpack or ziplist and returns its elements as bytes.
fn blob_entries<R: Read>(
    input: &mut Input<R>,
    kind: BlobKind,
    what: &'static str,
) -> Result<Vec<Vec<u8>>> {
    let start = input.offset();
    let blob = input.string(what)?;
    let entries = match kind {
        BlobKind::Listpack => listpack::decode(&blob),
        BlobKind::Ziplist => ziplist_decode(&blob),
    }
    .map_err(|e| crate::RdbError::corrupt(start, format!("{what}: {e}")))?;
    Ok(entries.into_iter().map(LpEntry::to_bytes).collect())
}

fn pairs<R: Read>(
    input: &Input<R>,
    flat: Vec<Vec<u8>>,
    what: &str,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if flat.len() % 2 != 0 {
        return Err(input.corrupt(format!("{what} has an odd number of elements")));
    }
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn no_duplicates<'a, R: Read>(
    input: &Input<R>,
    items: impl Iterator<Item = &'a Vec<u8>>,
    what: &str,
) -> Result<()> {
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item.as_slice()) {
            return Err(input.corrupt(what.to_string()));
        }
    }
    Ok(())
}

fn quicklist<R: Read>(input: &mut Input<R>, rdb_type: u8) -> Result<Vec<Vec<u8>>> {
    let nodes = input.count("quicklist node count")?;
    let mut items = Vec::new();
    for _ in 0..nodes {
        let container = if rdb_type == t::LIST_QUICKLIST_2 {
            input.len("quicklist container")?
        } else {
            QUICKLIST_PACKED
        };
        match container {
            QUICKLIST_PLAIN => items.push(input.string("quicklist plain node")?),
            QUICKLIST_PACKED => {
                let kind = if rdb_type == t::LIST_QUICKLIST_2 {
                    BlobKind::Listpack
                } else {
                    BlobKind::Ziplist
                };
                // Redis skips empty nodes when loading.
                items.extend(blob_entries(input, kind, "quicklist node")?);
            }
            other => {
                return Err(input.corrupt(format!(
                    "quicklist integrity check failed: container {other}"
                )))
            }
        }
    }
    Ok(items)
}

/// `QUICKLIST_NODE_CONTAINER_PLAIN`: one element stored as a plain string.
pub const QUICKLIST_PLAIN: u64 = 1;
/// `QUICKLIST_NODE_CONTAINER_PACKED`: a listpack of elements.
pub const QUICKLIST_PACKED: u64 = 2;

/// Redis's `moduleTypeNameByID`: the 9-character type name encoded in a module type ID.
pub fn module_type_name(id: u64) -> String {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut name = [0u8; 9];
    let mut id = id >> 10;
    for slot in name.iter_mut().rev() {
        *slot = CHARSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// True when a decoded value is an empty collection (Redis skips such keys when loading).
pub fn is_empty(value: &RdbValue) -> bool {
    match value {
        RdbValue::String(_) | RdbValue::Stream(_) => false,
        RdbValue::List(v) | RdbValue::Set(v) => v.is_empty(),
        RdbValue::Hash(v) => v.is_empty(),
        RdbValue::ZSet(v) => v.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::write_string;
    use crate::listpack::ListpackBuilder;
    use crate::Limits;

    fn decode(ty: u8, body: &[u8]) -> Result<RdbValue> {
        let mut input = Input::new(body, Limits::default(), false);
        read_object(&mut input, ty)
    }

    #[test]
    fn set_listpack_of_redis_7_2() {
        let mut lp = ListpackBuilder::new();
        for m in [&b"a"[..], b"17", b"-3"] {
            lp.push_str(m);
        }
        let mut body = Vec::new();
        write_string(&mut body, &lp.finish(), false);
        let want = RdbValue::Set(vec![b"a".to_vec(), b"17".to_vec(), b"-3".to_vec()]);
        assert_eq!(decode(t::SET_LISTPACK, &body).unwrap(), want);
    }

    #[test]
    fn duplicates_and_modules_are_refused() {
        let mut lp = ListpackBuilder::new();
        for m in [&b"f"[..], b"1", b"f", b"2"] {
            lp.push_str(m);
        }
        let mut body = Vec::new();
        write_string(&mut body, &lp.finish(), false);
        let e = decode(t::HASH_LISTPACK, &body).unwrap_err();
        assert!(e.to_string().contains("duplicate hash fields"), "{e}");
        // Module type ID of "ABCDEFGHI" version 3.
        let mut id: u64 = 0;
        for c in 0..9u64 {
            id = (id << 6) | c;
        }
        let id = (id << 10) | 3;
        let mut body = vec![0x81];
        body.extend_from_slice(&id.to_be_bytes());
        let e = decode(t::MODULE_2, &body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "module data can't be loaded: no matching module type 'ABCDEFGHI' at byte 9"
        );
    }
}
