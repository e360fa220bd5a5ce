//! Streams: listpack nodes keyed by master ID, metadata, consumer groups with their PELs.
//!
//! A node's listpack (as `t_stream.c` builds it):
//! ```text
//! count | deleted | master field count | master fields... | 0
//! per entry: flags | ms-diff | seq-diff | [field count | field value ...] or [values...] | lp-count
//! ```

use std::collections::{HashMap, HashSet};
use std::io::Read;

use crate::encode::{write_len, write_string, EncodingConfig};
use crate::error::Result;
use crate::input::Input;
use crate::listpack::{self, ListpackBuilder, LpEntry};
use crate::numbers::string_to_i64;
use crate::rdb_type as t;
use crate::value::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId};

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Reads an ID as Redis does (`rdbLoadLen` unchecked): an unknown length encoding reads as
/// `u64::MAX` (Redis's `RDB_LENERR`), only a short read fails.
fn id_pair<R: Read>(input: &mut Input<R>, what: &'static str) -> Result<StreamId> {
    Ok(StreamId {
        ms: input.len_unchecked(what)?,
        seq: input.len_unchecked(what)?,
    })
}

/// Reads a stream of type `STREAM_LISTPACKS`, `_2` or `_3`.
pub fn read_stream<R: Read>(input: &mut Input<R>, rdb_type: u8) -> Result<Stream> {
    let node_count = input.count("stream listpack count")?;
    let mut s = Stream::default();
    let mut nodes: Vec<(StreamId, Vec<StreamEntry>)> =
        Vec::with_capacity(node_count.min(1024) as usize);
    for _ in 0..node_count {
        let key = input.string("stream master ID")?;
        let key: [u8; 16] = key
            .try_into()
            .map_err(|_| input.corrupt("stream node key entry is not the size of a stream ID"))?;
        let master = StreamId::from_be_bytes(key);
        let start = input.offset();
        let lp = input.string("stream listpack")?;
        // As `streamValidateListpackIntegrity`: the listpack's element count is not checked.
        let entries = listpack::decode_entries(&lp, false)
            .map_err(|e| crate::RdbError::corrupt(start, format!("stream listpack: {e}")))?;
        if entries.is_empty() {
            return Err(crate::RdbError::corrupt(
                start,
                "empty listpack inside stream",
            ));
        }
        let mut live = Vec::new();
        parse_node(master, &entries, &mut live).map_err(|e| {
            crate::RdbError::corrupt(
                start,
                format!("stream listpack integrity check failed: {e}"),
            )
        })?;
        nodes.push((master, live));
    }
    // Redis keeps nodes in a radix tree: their file order does not matter, a master ID may appear
    // once. The entries, in master ID order, must then ascend.
    nodes.sort_by_key(|(master, _)| *master);
    if nodes.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(input.corrupt("stream listpack re-added with existing key"));
    }
    for (_, entries) in nodes {
        for e in entries {
            if s.entries.last().is_some_and(|last| last.id >= e.id) {
                return Err(input.corrupt("stream entry IDs are not ascending"));
            }
            s.entries.push(e);
        }
    }
    let length = input.len_unchecked("stream length")?;
    s.last_id = id_pair(input, "stream last ID")?;
    if rdb_type == t::STREAM_LISTPACKS {
        s.first_id = s.entries.first().map(|e| e.id).unwrap_or_default();
        s.entries_added = length;
    } else {
        s.first_id = id_pair(input, "stream first ID")?;
        s.max_deleted_id = id_pair(input, "stream max deleted ID")?;
        s.entries_added = input.len_unchecked("stream entries added")?;
    }
    if length != s.entries.len() as u64 {
        return Err(input.corrupt(format!(
            "stream length {length} differs from its {} entries",
            s.entries.len()
        )));
    }
    if s.entries.last().is_some_and(|e| e.id > s.last_id) {
        return Err(input.corrupt("stream entry ID greater than the last ID"));
    }
    let groups = input.count("stream group count")?;
    for _ in 0..groups {
        let mut group = read_group(input, rdb_type)?;
        if rdb_type == t::STREAM_LISTPACKS {
            group.entries_read = legacy_entries_read(&s, group.last_id);
        }
        s.groups.push(group);
    }
    Ok(s)
}

/// A group's `entries-read` in a stream of the pre-7.0 layout, which has none: Redis estimates it with
/// `streamEstimateDistanceFromFirstEverEntry`, where such a stream has no tombstones (max deleted ID 0-0) and
/// `entries_added` is its length. -1 (unknown) for an ID inside the stream or after its last one.
fn legacy_entries_read(s: &Stream, id: StreamId) -> i64 {
    let added = s.entries_added as i64;
    let len = s.entries.len() as i64;
    if added == 0 {
        0
    } else if (len == 0 && id <= s.last_id) || id == s.last_id {
        added
    } else if id > s.last_id {
        -1
    } else if id < s.first_id {
        added - len
    } else if id == s.first_id {
        added - len + 1
    } else {
        -1
    }
}

fn read_group<R: Read>(input: &mut Input<R>, rdb_type: u8) -> Result<ConsumerGroup> {
    let name = input.string("consumer group name")?;
    let last_id = id_pair(input, "consumer group last ID")?;
    let entries_read = if rdb_type == t::STREAM_LISTPACKS {
        -1
    } else {
        input.len_unchecked("consumer group entries read")? as i64
    };
    let n = input.count("stream PEL size")?;
    let mut pending = Vec::with_capacity(n.min(1024) as usize);
    let mut owner: HashMap<StreamId, bool> = HashMap::new();
    for _ in 0..n {
        let id = StreamId::from_be_bytes(input.array("stream PEL ID")?);
        let delivery_time_ms = input.millis("stream PEL delivery time")?;
        let delivery_count = input.len_unchecked("stream PEL delivery count")?;
        if owner.insert(id, false).is_some() {
            return Err(input.corrupt("duplicated global PEL entry loading stream consumer group"));
        }
        pending.push(PendingEntry {
            id,
            delivery_time_ms,
            delivery_count,
        });
    }
    let n = input.count("stream consumer count")?;
    let mut consumers: Vec<Consumer> = Vec::with_capacity(n.min(1024) as usize);
    // A set, not a scan of `consumers`: a group of many consumers would be quadratic.
    let mut names: HashSet<Vec<u8>> = HashSet::new();
    for _ in 0..n {
        let name = input.string("stream consumer name")?;
        if !names.insert(name.clone()) {
            return Err(input.corrupt("duplicate stream consumer detected"));
        }
        let seen_time_ms = input.millis("stream consumer seen time")?;
        let active_time_ms = if rdb_type == t::STREAM_LISTPACKS_3 {
            Some(input.millis("stream consumer active time")?)
        } else {
            None
        };
        let k = input.count("stream consumer PEL size")?;
        let mut ids = Vec::with_capacity(k.min(1024) as usize);
        for _ in 0..k {
            let id = StreamId::from_be_bytes(input.array("stream consumer PEL ID")?);
            match owner.get_mut(&id) {
                None => return Err(input.corrupt("consumer entry not found in group global PEL")),
                Some(true) => {
                    return Err(input
                        .corrupt("duplicated consumer PEL entry loading a stream consumer group"))
                }
                Some(owned) => *owned = true,
            }
            ids.push(id);
        }
        consumers.push(Consumer {
            name,
            seen_time_ms,
            active_time_ms,
            pending: ids,
        });
    }
    if owner.values().any(|owned| !owned) {
        return Err(input.corrupt("stream CG PEL entry without consumer"));
    }
    Ok(ConsumerGroup {
        name,
        last_id,
        entries_read,
        pending,
        consumers,
    })
}

fn int_of(e: Option<&LpEntry<'_>>) -> std::result::Result<i64, &'static str> {
    match e {
        Some(LpEntry::Int(v)) => Ok(*v),
        Some(LpEntry::Str(s)) => string_to_i64(s).ok_or("expected an integer"),
        None => Err("listpack ends inside an entry"),
    }
}

fn bytes_of(e: Option<&LpEntry<'_>>) -> std::result::Result<Vec<u8>, &'static str> {
    e.map(|e| e.to_bytes())
        .ok_or("listpack ends inside an entry")
}

/// Validates one node listpack and appends its live entries.
fn parse_node(
    master: StreamId,
    lp: &[LpEntry<'_>],
    out: &mut Vec<StreamEntry>,
) -> std::result::Result<(), &'static str> {
    let mut it = lp.iter();
    let count = int_of(it.next())?;
    let deleted = int_of(it.next())?;
    let nfields = int_of(it.next())?;
    if !(0..=lp.len() as i64).contains(&nfields) {
        return Err("bad master field count");
    }
    let mut master_fields = Vec::with_capacity(nfields as usize);
    for _ in 0..nfields {
        master_fields.push(bytes_of(it.next())?);
    }
    if int_of(it.next())? != 0 {
        return Err("master entry not terminated by 0");
    }
    let (mut live, mut dead) = (0i64, 0i64);
    while let Some(flags) = it.next() {
        let flags = int_of(Some(flags))?;
        let id = StreamId {
            ms: master.ms.wrapping_add(int_of(it.next())? as u64),
            seq: master.seq.wrapping_add(int_of(it.next())? as u64),
        };
        let mut fields = Vec::new();
        let pieces = if flags & FLAG_SAMEFIELDS != 0 {
            for f in &master_fields {
                fields.push((f.clone(), bytes_of(it.next())?));
            }
            master_fields.len() as i64 + 3
        } else {
            let n = int_of(it.next())?;
            if !(0..=lp.len() as i64).contains(&n) {
                return Err("bad entry field count");
            }
            for _ in 0..n {
                fields.push((bytes_of(it.next())?, bytes_of(it.next())?));
            }
            n * 2 + 4
        };
        if int_of(it.next())? != pieces {
            return Err("lp-count does not match the entry");
        }
        if flags & FLAG_DELETED != 0 {
            dead += 1;
            continue;
        }
        if out.last().is_some_and(|e| e.id >= id) {
            return Err("entry IDs are not ascending");
        }
        live += 1;
        out.push(StreamEntry { id, fields });
    }
    // As Redis, only the total is checked: the split into live and deleted is not kept.
    if live.checked_add(dead) != count.checked_add(deleted) {
        return Err("entry counts differ from the master entry");
    }
    Ok(())
}

/// One node while it is being filled: its items after the count, and its counters.
struct Node {
    master: StreamId,
    count: i64,
    body: ListpackBuilder,
}

impl Node {
    fn bytes(&self) -> usize {
        let mut one = ListpackBuilder::new();
        one.push_int(self.count);
        self.body.bytes() + one.bytes() - ListpackBuilder::new().bytes()
    }

    fn finish(&self) -> Vec<u8> {
        let mut lp = ListpackBuilder::new();
        lp.push_int(self.count);
        let body = self.body.clone().finish();
        for e in listpack::decode(&body).unwrap_or_default() {
            match e {
                LpEntry::Int(v) => lp.push_int(v),
                LpEntry::Str(s) => lp.push_str(s),
            }
        }
        lp.finish()
    }
}

/// Splits entries into nodes exactly as successive XADDs do (`streamAppendItem`).
fn build_nodes(entries: &[StreamEntry], cfg: &EncodingConfig) -> Vec<Node> {
    let max_bytes = if cfg.stream_node_max_bytes == 0 {
        1 << 30
    } else {
        cfg.stream_node_max_bytes.min(1 << 30)
    };
    let mut nodes: Vec<Node> = Vec::new();
    let mut master_fields: Vec<Vec<u8>> = Vec::new();
    for e in entries {
        let total: usize = e.fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        let full = nodes.last().is_none_or(|n| {
            n.bytes() + total >= max_bytes
                || (cfg.stream_node_max_entries > 0
                    && n.count as usize >= cfg.stream_node_max_entries)
        });
        let mut flags = 0;
        if full {
            let mut body = ListpackBuilder::new();
            body.push_int(0);
            body.push_int(e.fields.len() as i64);
            for (f, _) in &e.fields {
                body.push_str(f);
            }
            body.push_int(0);
            master_fields = e.fields.iter().map(|(f, _)| f.clone()).collect();
            nodes.push(Node {
                master: e.id,
                count: 0,
                body,
            });
            flags = FLAG_SAMEFIELDS;
        } else if master_fields.len() == e.fields.len()
            && master_fields
                .iter()
                .zip(&e.fields)
                .all(|(m, (f, _))| m == f)
        {
            flags = FLAG_SAMEFIELDS;
        }
        let Some(node) = nodes.last_mut() else {
            continue;
        };
        node.count += 1;
        let body = &mut node.body;
        body.push_int(flags);
        body.push_int(e.id.ms.wrapping_sub(node.master.ms) as i64);
        body.push_int(e.id.seq.wrapping_sub(node.master.seq) as i64);
        if flags == 0 {
            body.push_int(e.fields.len() as i64);
        }
        for (f, v) in &e.fields {
            if flags == 0 {
                body.push_str(f);
            }
            body.push_str(v);
        }
        let n = e.fields.len() as i64;
        body.push_int(if flags == 0 { n * 2 + 4 } else { n + 3 });
    }
    nodes
}

/// Writes a stream as `STREAM_LISTPACKS_2` (groups and consumers in name order, PELs by ID, as
/// Redis's radix trees iterate them).
pub fn write_stream(out: &mut Vec<u8>, s: &Stream, cfg: &EncodingConfig) {
    write_stream_as(out, s, cfg, t::STREAM_LISTPACKS_2);
}

/// Writes a stream in the layout of `rdb_type` (`STREAM_LISTPACKS`, `_2` or `_3`).
fn write_stream_as(out: &mut Vec<u8>, s: &Stream, cfg: &EncodingConfig, rdb_type: u8) {
    let z = cfg.compression;
    let nodes = build_nodes(&s.entries, cfg);
    write_len(out, nodes.len() as u64);
    for node in &nodes {
        write_string(out, &node.master.to_be_bytes(), z);
        write_string(out, &node.finish(), z);
    }
    write_len(out, s.entries.len() as u64);
    write_len(out, s.last_id.ms);
    write_len(out, s.last_id.seq);
    if rdb_type != t::STREAM_LISTPACKS {
        for id in [s.first_id, s.max_deleted_id] {
            write_len(out, id.ms);
            write_len(out, id.seq);
        }
        write_len(out, s.entries_added);
    }
    let mut groups: Vec<&ConsumerGroup> = s.groups.iter().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    write_len(out, groups.len() as u64);
    for g in groups {
        write_string(out, &g.name, z);
        write_len(out, g.last_id.ms);
        write_len(out, g.last_id.seq);
        if rdb_type != t::STREAM_LISTPACKS {
            write_len(out, g.entries_read as u64);
        }
        let mut pel = g.pending.clone();
        pel.sort_by_key(|p| p.id);
        write_len(out, pel.len() as u64);
        for p in &pel {
            out.extend_from_slice(&p.id.to_be_bytes());
            out.extend_from_slice(&p.delivery_time_ms.to_le_bytes());
            write_len(out, p.delivery_count);
        }
        let mut consumers: Vec<&Consumer> = g.consumers.iter().collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        write_len(out, consumers.len() as u64);
        for c in consumers {
            write_string(out, &c.name, z);
            out.extend_from_slice(&c.seen_time_ms.to_le_bytes());
            if rdb_type == t::STREAM_LISTPACKS_3 {
                out.extend_from_slice(&c.active_time_ms.unwrap_or(c.seen_time_ms).to_le_bytes());
            }
            let mut ids = c.pending.clone();
            ids.sort();
            write_len(out, ids.len() as u64);
            for id in ids {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Stream {
        let entries: Vec<StreamEntry> = (1..=150u64)
            .map(|i| StreamEntry {
                id: StreamId {
                    ms: 1000 + i,
                    seq: i % 3,
                },
                fields: if i % 4 == 0 {
                    vec![(b"other".to_vec(), i.to_string().into_bytes())]
                } else {
                    vec![
                        (b"a".to_vec(), b"x".repeat(i as usize)),
                        (b"n".to_vec(), i.to_string().into_bytes()),
                    ]
                },
            })
            .collect();
        let pending = vec![PendingEntry {
            id: entries[3].id,
            delivery_time_ms: 17,
            delivery_count: 2,
        }];
        Stream {
            first_id: entries[0].id,
            last_id: entries[149].id,
            max_deleted_id: StreamId::default(),
            entries_added: 150,
            groups: vec![ConsumerGroup {
                name: b"g".to_vec(),
                last_id: entries[10].id,
                entries_read: 11,
                pending,
                consumers: vec![Consumer {
                    name: b"c".to_vec(),
                    seen_time_ms: 5,
                    active_time_ms: Some(6),
                    pending: vec![entries[3].id],
                }],
            }],
            entries,
        }
    }

    fn read(bytes: &[u8], rdb_type: u8) -> Stream {
        let mut input = Input::new(bytes, crate::Limits::default(), false);
        let s = read_stream(&mut input, rdb_type).unwrap();
        assert!(input.into_inner().is_empty());
        s
    }

    #[test]
    fn all_three_layouts_read_back() {
        let s = sample();
        let cfg = EncodingConfig::default();
        for ty in [
            t::STREAM_LISTPACKS,
            t::STREAM_LISTPACKS_2,
            t::STREAM_LISTPACKS_3,
        ] {
            let mut out = Vec::new();
            write_stream_as(&mut out, &s, &cfg, ty);
            let mut want = s.clone();
            if ty != t::STREAM_LISTPACKS_3 {
                want.groups[0].consumers[0].active_time_ms = None;
            }
            if ty == t::STREAM_LISTPACKS {
                // A group inside the stream: Redis cannot estimate it either.
                want.groups[0].entries_read = -1;
            }
            assert_eq!(read(&out, ty), want, "type {ty}");
        }
    }

    #[test]
    fn legacy_groups_get_redis_estimate_of_entries_read() {
        let s = sample();
        let id = |ms, seq| StreamId { ms, seq };
        // As streamEstimateDistanceFromFirstEverEntry with no tombstones and entries_added = length.
        assert_eq!(legacy_entries_read(&s, s.last_id), 150);
        assert_eq!(
            legacy_entries_read(&s, id(1000, 0)),
            0,
            "before the first entry"
        );
        assert_eq!(legacy_entries_read(&s, s.first_id), 1);
        assert_eq!(
            legacy_entries_read(&s, s.entries[10].id),
            -1,
            "inside: unknown"
        );
        assert_eq!(
            legacy_entries_read(&s, id(u64::MAX, 0)),
            -1,
            "after the last ID"
        );
        let empty = Stream {
            entries: Vec::new(),
            entries_added: 0,
            ..s.clone()
        };
        assert_eq!(legacy_entries_read(&empty, s.last_id), 0);
        let mut out = Vec::new();
        let mut at_end = s.clone();
        at_end.groups[0].last_id = s.last_id;
        write_stream_as(
            &mut out,
            &at_end,
            &EncodingConfig::default(),
            t::STREAM_LISTPACKS,
        );
        assert_eq!(read(&out, t::STREAM_LISTPACKS).groups[0].entries_read, 150);
    }

    #[test]
    fn nodes_split_at_entry_and_byte_limits() {
        let s = sample();
        let by_entries = build_nodes(
            &s.entries,
            &EncodingConfig {
                stream_node_max_bytes: 0,
                ..Default::default()
            },
        );
        assert_eq!(
            by_entries.iter().map(|n| n.count).collect::<Vec<_>>(),
            vec![100, 50]
        );
        let by_bytes = build_nodes(
            &s.entries,
            &EncodingConfig {
                stream_node_max_bytes: 512,
                stream_node_max_entries: 0,
                ..Default::default()
            },
        );
        assert!(by_bytes.len() > 2);
        assert!(by_bytes.iter().all(|n| n.finish().len() < 512 + 200));
    }
}
