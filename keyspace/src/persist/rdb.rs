//! Keyspace entries to and from [`RdbValue`] (the `zedis-rdb` codec's value model): DUMP/RESTORE and RDB files.
//!
//! Reading ([`entry_value`], [`key_meta`]) copies a key's data into plain vectors in the order Redis saves
//! it (lists head first, sorted sets ascending, consumer groups and consumers by name). Building
//! ([`store_value`]) allocates the collection from the KV strategy `A` through the type's own insertion
//! paths and the keyspace's configured thresholds, so a loaded value has the encoding a value built by
//! commands would have and converts later exactly like one.

use crate::entry::{EntryPtr, Kind, Payload, PayloadInit};
use crate::types::elem::INT_TEXT_BYTES_MAX;
use crate::types::{AllocError, Elem, Hash, List, Set, Stream, StreamId, ZSet};
use crate::value::{new_object, object, register_for, Collection};
use crate::{Keyspace, KeyspaceConfig, Oom};
use std::collections::HashSet;
use zedis_kv_pool::KvAllocator;
use zedis_rdb::{
    Consumer, ConsumerGroup, EncodingConfig, KeyMeta, PendingEntry, RdbValue, StreamEntry,
};

/// Why an [`RdbValue`] could not become an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The KV strategy or the budget refused an allocation.
    #[error("OOM command not allowed when used memory > 'maxmemory'.")]
    Oom,
    /// The value is inconsistent (duplicates, unordered stream IDs, PEL entries without a consumer...).
    #[error("ERR Bad data format")]
    BadFormat,
}

impl From<AllocError> for BuildError {
    fn from(_: AllocError) -> Self {
        BuildError::Oom
    }
}

impl From<Oom> for BuildError {
    fn from(_: Oom) -> Self {
        BuildError::Oom
    }
}

/// The codec's encoding choices for the keyspace's configured thresholds and `rdbcompression`.
pub fn encoding_config(config: &KeyspaceConfig) -> EncodingConfig {
    let l = &config.limits;
    EncodingConfig {
        list_max_listpack_size: l.list_max_listpack_size,
        set_max_intset_entries: l.set_intset_entries_max,
        hash_max_listpack_entries: l.hash_listpack_entries_max,
        hash_max_listpack_value: l.hash_listpack_value_bytes_max,
        zset_max_listpack_entries: l.zset_listpack_entries_max,
        zset_max_listpack_value: l.zset_listpack_value_bytes_max,
        stream_node_max_bytes: config.stream_limits.node_bytes_max,
        stream_node_max_entries: config.stream_limits.node_entries_max,
        compression: config.rdb_compression,
        ..EncodingConfig::default()
    }
}

/// The metadata Redis saves before a key: its expiry, its idle time under an LRU policy, its frequency
/// under an LFU policy (neither under the others).
pub fn key_meta<A: KvAllocator>(ks: &Keyspace<A>, entry: EntryPtr, now_ms: i64) -> KeyMeta {
    use crate::EvictionPolicy as P;
    let policy = ks.config.policy;
    let lru = matches!(policy, P::AllKeysLru | P::VolatileLru);
    KeyMeta {
        expire_ms: entry.expire(),
        idle_secs: lru.then(|| (crate::commands::keys::idle_ms(entry, now_ms) / 1000) as u64),
        lfu_freq: policy.is_lfu().then(|| ks.lfu_decayed(entry, now_ms)),
    }
}

/// A copy of the entry's value; `None` for a kind the RDB format does not carry.
pub fn entry_value<A: KvAllocator>(entry: EntryPtr) -> Option<RdbValue> {
    let mut buf = [0u8; INT_TEXT_BYTES_MAX];
    let mut buf2 = [0u8; INT_TEXT_BYTES_MAX];
    Some(match entry.payload() {
        Payload::Str(bytes) => RdbValue::String(bytes.to_vec()),
        Payload::Int(n) => RdbValue::String(itoa::Buffer::new().format(n).as_bytes().to_vec()),
        Payload::Object(Kind::List, _) => {
            let list = object::<A, List<A>>(entry)?;
            RdbValue::List(list.iter().map(|e| e.to_bytes(&mut buf).to_vec()).collect())
        }
        Payload::Object(Kind::Set, _) => {
            let set = object::<A, Set<A>>(entry)?;
            RdbValue::Set(set.iter().map(|e| e.to_bytes(&mut buf).to_vec()).collect())
        }
        Payload::Object(Kind::Hash, _) => {
            let hash = object::<A, Hash<A>>(entry)?;
            RdbValue::Hash(
                hash.iter()
                    .map(|(f, v)| {
                        (
                            f.to_bytes(&mut buf).to_vec(),
                            v.to_bytes(&mut buf2).to_vec(),
                        )
                    })
                    .collect(),
            )
        }
        Payload::Object(Kind::ZSet, _) => {
            let zset = object::<A, ZSet<A>>(entry)?;
            RdbValue::ZSet(
                zset.iter()
                    .map(|(m, s)| (m.to_bytes(&mut buf).to_vec(), s))
                    .collect(),
            )
        }
        Payload::Object(Kind::Stream, _) => {
            RdbValue::Stream(Box::new(stream_value(object::<A, Stream<A>>(entry)?)))
        }
        Payload::Object(..) => return None,
    })
}

fn rdb_id(id: StreamId) -> zedis_rdb::StreamId {
    zedis_rdb::StreamId {
        ms: id.ms,
        seq: id.seq,
    }
}

fn ks_id(id: zedis_rdb::StreamId) -> StreamId {
    StreamId {
        ms: id.ms,
        seq: id.seq,
    }
}

fn stream_value<A: KvAllocator>(stream: &Stream<A>) -> zedis_rdb::Stream {
    let entries = stream
        .range(StreamId::MIN, StreamId::MAX, false)
        .map(|e| StreamEntry {
            id: rdb_id(e.id),
            fields: e.pairs().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
        })
        .collect();
    let groups = stream
        .groups
        .iter()
        .map(|g| ConsumerGroup {
            name: g.name.to_vec(),
            last_id: rdb_id(g.last_id),
            entries_read: g.entries_read,
            pending: g
                .pel
                .iter()
                .map(|(id, nack)| PendingEntry {
                    id: rdb_id(*id),
                    delivery_time_ms: nack.delivery_ms,
                    delivery_count: nack.delivery_count,
                })
                .collect(),
            consumers: g
                .consumers_by_name()
                .into_iter()
                .filter_map(|slot| g.consumer(slot))
                .map(|c| Consumer {
                    name: c.name.to_vec(),
                    seen_time_ms: c.seen_ms,
                    active_time_ms: None,
                    pending: c.pel.iter().map(|&id| rdb_id(id)).collect(),
                })
                .collect(),
        })
        .collect();
    zedis_rdb::Stream {
        entries,
        last_id: rdb_id(stream.last_id),
        first_id: rdb_id(stream.first_id()),
        max_deleted_id: rdb_id(stream.max_deleted_id),
        entries_added: stream.entries_added,
        groups,
    }
}

/// Stores `value` under `key` in `db` (replacing any value) with `expire`, allocated from `A`, in the
/// encodings the keyspace's thresholds give; returns the new entry (with a fresh access clock).
pub fn store_value<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    db: usize,
    key: &[u8],
    value: &RdbValue,
    expire: Option<i64>,
    now_ms: i64,
) -> Result<EntryPtr, BuildError> {
    let (kind, raw) = match value {
        RdbValue::String(bytes) => {
            let payload = match crate::num::parse_i64_exact(bytes) {
                Some(n) => PayloadInit::Int(n),
                None => PayloadInit::Str(bytes),
            };
            return Ok(ks.set_payload(db, key, payload, expire, false, now_ms)?);
        }
        RdbValue::List(items) => (Kind::List, boxed(build_list::<A>(ks, items)?)?),
        RdbValue::Set(members) => (Kind::Set, boxed(build_set::<A>(ks, members)?)?),
        RdbValue::Hash(pairs) => (Kind::Hash, boxed(build_hash::<A>(ks, pairs)?)?),
        RdbValue::ZSet(pairs) => (Kind::ZSet, boxed(build_zset::<A>(ks, pairs)?)?),
        RdbValue::Stream(s) => (Kind::Stream, boxed(build_stream::<A>(ks, s)?)?),
    };
    register_for::<A>();
    match ks.set_payload(
        db,
        key,
        PayloadInit::Object(kind, raw),
        expire,
        false,
        now_ms,
    ) {
        Ok(entry) => Ok(entry),
        Err(oom) => {
            // SAFETY: `raw` was boxed above with `A` as a collection of `kind` and never stored.
            unsafe { crate::value::free_object(A::default(), kind, raw) };
            Err(oom.into())
        }
    }
}

fn boxed<A: KvAllocator, T: Collection<A>>(value: T) -> Result<*mut u8, BuildError> {
    Ok(new_object::<A, T>(value)?)
}

fn build_list<A: KvAllocator>(ks: &Keyspace<A>, items: &[Vec<u8>]) -> Result<List<A>, BuildError> {
    if items.is_empty() {
        return Err(BuildError::BadFormat);
    }
    let mut list = List::new_in(A::default());
    for item in items {
        list.push_back(item, &ks.config.limits)?;
    }
    Ok(list)
}

fn build_set<A: KvAllocator>(ks: &Keyspace<A>, members: &[Vec<u8>]) -> Result<Set<A>, BuildError> {
    if members.is_empty() {
        return Err(BuildError::BadFormat);
    }
    let mut set = Set::new_in(A::default());
    for m in members {
        if !set.add(m, &ks.config.limits)? {
            return Err(BuildError::BadFormat);
        }
    }
    Ok(set)
}

fn build_hash<A: KvAllocator>(
    ks: &Keyspace<A>,
    pairs: &[(Vec<u8>, Vec<u8>)],
) -> Result<Hash<A>, BuildError> {
    if pairs.is_empty() {
        return Err(BuildError::BadFormat);
    }
    let mut hash = Hash::new_in(A::default());
    for (f, v) in pairs {
        if !hash.set(f, v, &ks.config.limits)? {
            return Err(BuildError::BadFormat);
        }
    }
    Ok(hash)
}

fn build_zset<A: KvAllocator>(
    ks: &Keyspace<A>,
    pairs: &[(Vec<u8>, f64)],
) -> Result<ZSet<A>, BuildError> {
    if pairs.is_empty() || pairs.iter().any(|(_, s)| s.is_nan()) {
        return Err(BuildError::BadFormat);
    }
    let mut seen = HashSet::with_capacity(pairs.len());
    if !pairs.iter().all(|(m, _)| seen.insert(m.as_slice())) {
        return Err(BuildError::BadFormat);
    }
    let mut sorted: Vec<(&[u8], f64)> = pairs.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
    sorted.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(b.0))
    });
    let elems: Vec<(Elem<'_>, f64)> = sorted
        .iter()
        .map(|&(m, s)| (Elem::from_bytes(m), s))
        .collect();
    Ok(ZSet::from_sorted(
        elems.iter().copied(),
        &ks.config.limits,
        A::default(),
    )?)
}

fn build_stream<A: KvAllocator>(
    ks: &Keyspace<A>,
    src: &zedis_rdb::Stream,
) -> Result<Stream<A>, BuildError> {
    let mut stream = Stream::new_in(A::default());
    let mut prev: Option<StreamId> = None;
    let mut pairs: Vec<&[u8]> = Vec::new();
    for entry in &src.entries {
        let id = ks_id(entry.id);
        if prev.is_some_and(|p| id <= p) || entry.fields.is_empty() || id > ks_id(src.last_id) {
            return Err(BuildError::BadFormat);
        }
        prev = Some(id);
        pairs.clear();
        for (f, v) in &entry.fields {
            pairs.push(f);
            pairs.push(v);
        }
        stream.append(id, &pairs, &ks.config.stream_limits)?;
    }
    stream.last_id = ks_id(src.last_id);
    stream.max_deleted_id = ks_id(src.max_deleted_id);
    stream.entries_added = src.entries_added;
    for g in &src.groups {
        if stream.find_group(&g.name).is_some() {
            return Err(BuildError::BadFormat);
        }
        let at = stream.create_group(&g.name, ks_id(g.last_id), g.entries_read)?;
        let group = &mut stream.groups[at];
        for c in &g.consumers {
            if group.find_consumer(&c.name).is_some() {
                return Err(BuildError::BadFormat);
            }
            let slot = group.create_consumer(&c.name, c.seen_time_ms)?;
            for &id in &c.pending {
                let Ok(at) = g.pending.binary_search_by(|p| p.id.cmp(&id)) else {
                    return Err(BuildError::BadFormat);
                };
                let nack = &g.pending[at];
                if group.nack(ks_id(id)).is_some() {
                    return Err(BuildError::BadFormat);
                }
                group.assign(ks_id(id), slot, nack.delivery_time_ms, nack.delivery_count)?;
            }
        }
        if group.pel.len() != g.pending.len() {
            return Err(BuildError::BadFormat);
        }
    }
    Ok(stream)
}

/// Sets the entry's access clock as RESTORE's IDLETIME / FREQ (and an RDB file's IDLE / FREQ opcodes) do
/// (`objectSetLRUOrLFU`): the frequency under an LFU policy, else the idle time; the other is ignored.
pub fn apply_clock<A: KvAllocator>(
    ks: &Keyspace<A>,
    entry: EntryPtr,
    idle_secs: Option<u64>,
    lfu_freq: Option<u8>,
    now_ms: i64,
) {
    if ks.config.policy.is_lfu() {
        if let Some(freq) = lfu_freq {
            let minutes = ((now_ms / 60_000) as u32) & 0xffff;
            entry.set_lru((minutes << 8) | u32::from(freq));
        }
    } else if let Some(idle) = idle_secs {
        const CLOCK_MAX: i64 = 0xff_ffff;
        let clock = i64::from(Keyspace::<A>::lru_clock(now_ms));
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        let mut abs = clock.saturating_sub(idle);
        if abs < 0 {
            abs = (clock + CLOCK_MAX / 2) % CLOCK_MAX;
        }
        entry.set_lru(abs as u32);
    }
}
