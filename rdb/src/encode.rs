//! Object encoding the way Redis 7.0 writes it: the same type choice and the same bytes.

use crate::compact::intset_encode;
use crate::decode::{QUICKLIST_PACKED, QUICKLIST_PLAIN};
use crate::listpack::ListpackBuilder;
use crate::lzf;
use crate::numbers::{d2string, double_to_i64, string_to_i64};
use crate::rdb_type as t;
use crate::stream;
use crate::value::RdbValue;

/// Redis's compact-encoding thresholds and `rdbcompression`; the defaults are Redis 7.0's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingConfig {
    /// `list-max-listpack-size`: negative = node byte class (-2 = 8 KiB), positive = entries.
    pub list_max_listpack_size: i64,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: usize,
    /// `hash-max-listpack-entries`.
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value`.
    pub hash_max_listpack_value: usize,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value`.
    pub zset_max_listpack_value: usize,
    /// `stream-node-max-bytes`.
    pub stream_node_max_bytes: usize,
    /// `stream-node-max-entries`.
    pub stream_node_max_entries: usize,
    /// Elements of at least this many bytes get a plain quicklist node (Redis's `packed_threshold`,
    /// 1 GiB, changed only by `DEBUG QUICKLIST-PACKED-THRESHOLD`).
    pub list_packed_threshold_bytes: usize,
    /// `rdbcompression`: LZF for strings over 20 bytes when it saves space.
    pub compression: bool,
}

impl Default for EncodingConfig {
    fn default() -> Self {
        EncodingConfig {
            list_max_listpack_size: -2,
            set_max_intset_entries: 512,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            list_packed_threshold_bytes: 1 << 30,
            compression: true,
        }
    }
}

/// Appends a length (`rdbSaveLen`).
pub fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(((len >> 8) as u8) | 0x40);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Appends a string as `rdbSaveRawString`: integer encoding when it is a canonical integer that
/// fits 32 bits, else LZF when enabled, longer than 20 bytes and at least 4 bytes smaller, else raw.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compression: bool) {
    if s.len() <= 11 {
        if let Some(v) = string_to_i64(s) {
            if let Some(enc) = encode_int(v) {
                out.extend_from_slice(&enc);
                return;
            }
        }
    }
    if compression && s.len() > 20 {
        if let Some(c) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            write_len(out, c.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn encode_int(v: i64) -> Option<Vec<u8>> {
    if let Ok(b) = i8::try_from(v) {
        Some(vec![0xC0, b as u8])
    } else if let Ok(h) = i16::try_from(v) {
        let b = h.to_le_bytes();
        Some(vec![0xC1, b[0], b[1]])
    } else if let Ok(w) = i32::try_from(v) {
        let mut e = vec![0xC2];
        e.extend_from_slice(&w.to_le_bytes());
        Some(e)
    } else {
        None
    }
}

/// The RDB object type Redis 7.0 would use for `value` under `cfg`.
pub fn object_type(value: &RdbValue, cfg: &EncodingConfig) -> u8 {
    match value {
        RdbValue::String(_) => t::STRING,
        RdbValue::List(_) => t::LIST_QUICKLIST_2,
        RdbValue::Set(m) => {
            if m.len() <= cfg.set_max_intset_entries && m.iter().all(|x| string_to_i64(x).is_some())
            {
                t::SET_INTSET
            } else {
                t::SET
            }
        }
        RdbValue::Hash(p) => {
            let fits = |s: &Vec<u8>| s.len() <= cfg.hash_max_listpack_value;
            if p.len() <= cfg.hash_max_listpack_entries && p.iter().all(|(f, v)| fits(f) && fits(v))
            {
                t::HASH_LISTPACK
            } else {
                t::HASH
            }
        }
        RdbValue::ZSet(p) => {
            if p.len() <= cfg.zset_max_listpack_entries
                && p.iter()
                    .all(|(m, _)| m.len() <= cfg.zset_max_listpack_value)
            {
                t::ZSET_LISTPACK
            } else {
                t::ZSET_2
            }
        }
        RdbValue::Stream(_) => t::STREAM_LISTPACKS_2,
    }
}

/// Encodes `value`: returns its RDB type byte and appends its body to `out` (`rdbSaveObject`).
pub fn write_object(out: &mut Vec<u8>, value: &RdbValue, cfg: &EncodingConfig) -> u8 {
    let ty = object_type(value, cfg);
    let z = cfg.compression;
    match value {
        RdbValue::String(s) => write_string(out, s, z),
        RdbValue::List(items) => write_quicklist(out, items, cfg),
        RdbValue::Set(members) if ty == t::SET_INTSET => {
            let ints: Vec<i64> = members.iter().filter_map(|m| string_to_i64(m)).collect();
            write_string(out, &intset_encode(&ints), z);
        }
        RdbValue::Set(members) => {
            write_len(out, members.len() as u64);
            for m in members {
                write_string(out, m, z);
            }
        }
        RdbValue::Hash(pairs) if ty == t::HASH_LISTPACK => {
            let mut lp = ListpackBuilder::new();
            for (f, v) in pairs {
                lp.push_str(f);
                lp.push_str(v);
            }
            write_string(out, &lp.finish(), z);
        }
        RdbValue::Hash(pairs) => {
            write_len(out, pairs.len() as u64);
            for (f, v) in pairs {
                write_string(out, f, z);
                write_string(out, v, z);
            }
        }
        RdbValue::ZSet(pairs) => {
            let mut sorted: Vec<&(Vec<u8>, f64)> = pairs.iter().collect();
            // Redis compares scores with `<` (so -0 == 0), then members bytewise.
            sorted.sort_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            });
            if ty == t::ZSET_LISTPACK {
                let mut lp = ListpackBuilder::new();
                for (m, s) in sorted {
                    lp.push_str(m);
                    // As `zzlInsertAt`: an integral score (-0 included) is an integer entry.
                    match double_to_i64(*s) {
                        Some(v) => lp.push_int(v),
                        None => lp.push_str(d2string(*s).as_bytes()),
                    }
                }
                write_string(out, &lp.finish(), z);
            } else {
                write_len(out, sorted.len() as u64);
                for (m, s) in sorted.into_iter().rev() {
                    write_string(out, m, z);
                    out.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
        RdbValue::Stream(s) => stream::write_stream(out, s, cfg),
    }
    ty
}

/// `SIZE_SAFETY_LIMIT`.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// `SIZE_ESTIMATE_OVERHEAD`.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// `optimization_level`: node byte limits for fill -1..-5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// `_quicklistNodeAllowInsert` for a packed node of `node_bytes` and `node_count` elements.
fn node_allows(node_bytes: usize, node_count: usize, fill: i64, sz: usize) -> bool {
    let new_sz = node_bytes + sz + SIZE_ESTIMATE_OVERHEAD;
    if fill < 0 {
        let level = (-fill - 1) as usize;
        if level < OPTIMIZATION_LEVEL.len() && new_sz <= OPTIMIZATION_LEVEL[level] {
            return true;
        }
    }
    new_sz <= SIZE_SAFETY_LIMIT && (node_count as i64) < fill
}

/// A list as quicklist 2, nodes split exactly as successive RPUSHes split them.
fn write_quicklist(out: &mut Vec<u8>, items: &[Vec<u8>], cfg: &EncodingConfig) {
    enum Node {
        Plain(Vec<u8>),
        Packed(ListpackBuilder),
    }
    let mut nodes: Vec<Node> = Vec::new();
    for item in items {
        if item.len() >= cfg.list_packed_threshold_bytes {
            nodes.push(Node::Plain(item.clone()));
            continue;
        }
        match nodes.last_mut() {
            Some(Node::Packed(lp))
                if node_allows(lp.bytes(), lp.len(), cfg.list_max_listpack_size, item.len()) =>
            {
                lp.push_str(item);
            }
            _ => {
                let mut lp = ListpackBuilder::new();
                lp.push_str(item);
                nodes.push(Node::Packed(lp));
            }
        }
    }
    write_len(out, nodes.len() as u64);
    for node in nodes {
        match node {
            Node::Plain(s) => {
                write_len(out, QUICKLIST_PLAIN);
                write_string(out, &s, cfg.compression);
            }
            Node::Packed(lp) => {
                write_len(out, QUICKLIST_PACKED);
                write_string(out, &lp.finish(), cfg.compression);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_strings() {
        let mut out = Vec::new();
        write_string(&mut out, b"-5", true);
        assert_eq!(out, [0xC0, 0xFB]);
        out.clear();
        write_string(&mut out, b"05", true);
        assert_eq!(out, [2, b'0', b'5']);
        out.clear();
        write_string(&mut out, b"4294967296", true);
        assert_eq!(out[0], 10);
    }

    #[test]
    fn lengths() {
        let mut out = Vec::new();
        write_len(&mut out, 300);
        assert_eq!(out, [0x41, 0x2C]);
    }
}
