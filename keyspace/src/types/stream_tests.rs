use super::*;
use crate::types::test_alloc::{live_bytes, TestAlloc};
use allocator_api2::alloc::Global;
use proptest::prelude::*;
use std::collections::BTreeMap;

type Fields = std::vec::Vec<(std::vec::Vec<u8>, std::vec::Vec<u8>)>;

fn entries<A: Allocator + Copy>(s: &Stream<A>, rev: bool) -> std::vec::Vec<(StreamId, Fields)> {
    s.range(StreamId::MIN, StreamId::MAX, rev)
        .map(|e| {
            let pairs = e.pairs().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            (e.id, pairs)
        })
        .collect()
}

#[test]
fn ids_parse_and_step() {
    assert_eq!(StreamId::parse(b"5", 0), Some((StreamId::new(5, 0), false)));
    assert_eq!(
        StreamId::parse(b"5-7", 0),
        Some((StreamId::new(5, 7), true))
    );
    assert_eq!(StreamId::parse(b"5-", 0), None);
    assert_eq!(StreamId::parse(b"-5", 0), None);
    assert_eq!(StreamId::parse(b"a", 0), None);
    assert_eq!(StreamId::MAX.incr(), None);
    assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
    assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
    assert_eq!(StreamId::MIN.decr(), None);
}

#[test]
fn nodes_split_and_share_fields() {
    let limits = NodeLimits {
        node_bytes_max: 0,
        node_entries_max: 3,
    };
    let mut s = Stream::new_in(Global);
    for i in 1..=7u64 {
        let v = i.to_string();
        s.append(StreamId::new(i, 0), &[b"f", v.as_bytes()], &limits)
            .unwrap();
    }
    assert_eq!(s.node_count(), 3);
    assert_eq!(s.len(), 7);
    s.append(StreamId::new(9, 0), &[b"other", b"x", b"f", b"y"], &limits)
        .unwrap();
    let all = entries(&s, false);
    assert_eq!(
        all[7].1,
        vec![
            (b"other".to_vec(), b"x".to_vec()),
            (b"f".to_vec(), b"y".to_vec())
        ]
    );
    assert_eq!(all[6].1, vec![(b"f".to_vec(), b"7".to_vec())]);
}

#[test]
fn memory_returns_to_zero() {
    let before = live_bytes();
    {
        let mut s = Stream::new_in(TestAlloc);
        for i in 1..=300u64 {
            s.append(
                StreamId::new(i, 0),
                &[b"a", b"1", b"b", b"2"],
                &NodeLimits::default(),
            )
            .unwrap();
        }
        let g = s.create_group(b"g", StreamId::MIN, 0).unwrap();
        let slot = s.groups[g].create_consumer(b"c", 0).unwrap();
        s.groups[g].assign(StreamId::new(3, 0), slot, 0, 1).unwrap();
        let copy = s.try_clone().unwrap();
        assert_eq!(entries(&copy, false), entries(&s, false));
        s.trim(Trim::MaxLen(10), false, 0);
        assert_eq!(s.len(), 10);
    }
    assert_eq!(live_bytes(), before);
}

#[derive(Debug, Clone)]
enum Op {
    Add(u8, u8),
    Del(u8),
    TrimLen(u8, bool),
    TrimMin(u8, bool),
    Read(u8, u8),
    Ack(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..4, 0u8..3).prop_map(|(gap, shape)| Op::Add(gap, shape)),
        2 => any::<u8>().prop_map(Op::Del),
        1 => (0u8..40, any::<bool>()).prop_map(|(n, a)| Op::TrimLen(n, a)),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(n, a)| Op::TrimMin(n, a)),
        2 => (0u8..2, 1u8..5).prop_map(|(c, n)| Op::Read(c, n)),
        2 => any::<u8>().prop_map(Op::Ack),
    ]
}

fn shape_fields(shape: u8, n: u64) -> std::vec::Vec<std::vec::Vec<u8>> {
    let v = n.to_string().into_bytes();
    match shape {
        0 => vec![b"a".to_vec(), v.clone(), b"b".to_vec(), v],
        1 => vec![b"a".to_vec(), v],
        _ => vec![b"long-field-name".to_vec(), v.repeat(5)],
    }
}

proptest! {
    #[test]
    fn model(ops in proptest::collection::vec(op(), 1..200), entries_max in 1usize..6) {
        let limits = NodeLimits { node_bytes_max: 64, node_entries_max: entries_max };
        let mut s = Stream::new_in(TestAlloc);
        let mut model: BTreeMap<StreamId, Fields> = BTreeMap::new();
        let mut pel: BTreeMap<StreamId, u32> = BTreeMap::new();
        let mut group_last = StreamId::MIN;
        let g = s.create_group(b"g", StreamId::MIN, 0).unwrap();
        let slots = [s.groups[g].create_consumer(b"c0", 0).unwrap(),
                     s.groups[g].create_consumer(b"c1", 0).unwrap()];
        let mut next_ms = 1u64;
        for op in ops {
            match op {
                Op::Add(gap, shape) => {
                    next_ms += u64::from(gap) - 1;
                    let id = if next_ms > s.last_id.ms { StreamId::new(next_ms, 0) } else { s.last_id.incr().unwrap() };
                    let fields = shape_fields(shape, id.ms);
                    let refs: std::vec::Vec<&[u8]> = fields.iter().map(|f| f.as_slice()).collect();
                    s.append(id, &refs, &limits).unwrap();
                    model.insert(id, fields.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect());
                }
                Op::Del(n) => {
                    let id = model.keys().nth(usize::from(n) % (model.len() + 1)).copied()
                        .unwrap_or(StreamId::new(u64::from(n), 0));
                    prop_assert_eq!(s.delete(id), model.remove(&id).is_some());
                }
                Op::TrimLen(n, approx) => {
                    let before = s.len();
                    let removed = s.trim(Trim::MaxLen(u64::from(n)), approx, 0);
                    prop_assert_eq!(before - removed, s.len());
                    if !approx { prop_assert!(s.len() <= u64::from(n)); }
                    while model.len() as u64 > s.len() { model.pop_first(); }
                }
                Op::TrimMin(n, approx) => {
                    let min = StreamId::new(u64::from(n), 0);
                    s.trim(Trim::MinId(min), approx, 0);
                    if !approx { prop_assert!(s.first_entry().is_none_or(|e| e.id >= min)); }
                    while model.len() as u64 > s.len() { model.pop_first(); }
                }
                Op::Read(c, n) => {
                    let start = group_last.incr().unwrap();
                    let ids: std::vec::Vec<StreamId> = s.range(start, StreamId::MAX, false).take(usize::from(n)).map(|e| e.id).collect();
                    let want: std::vec::Vec<StreamId> = model.range(start..).take(usize::from(n)).map(|(k, _)| *k).collect();
                    prop_assert_eq!(&ids, &want);
                    for id in ids {
                        s.groups[g].assign(id, slots[usize::from(c)], 0, 1).unwrap();
                        pel.insert(id, slots[usize::from(c)]);
                        group_last = id;
                    }
                }
                Op::Ack(n) => {
                    let id = pel.keys().nth(usize::from(n) % (pel.len() + 1)).copied().unwrap_or(StreamId::MAX);
                    prop_assert_eq!(s.groups[g].ack(id), pel.remove(&id).is_some());
                }
            }
            prop_assert_eq!(s.len(), model.len() as u64);
            let got = entries(&s, false);
            let want: std::vec::Vec<_> = model.iter().map(|(k, v)| (*k, v.clone())).collect();
            prop_assert_eq!(&got, &want);
            let mut rev = entries(&s, true);
            rev.reverse();
            prop_assert_eq!(&rev, &want);
            let group = &s.groups[g];
            let gpel: std::vec::Vec<(StreamId, u32)> = group.pel.iter().map(|(k, n)| (*k, n.consumer)).collect();
            let mpel: std::vec::Vec<(StreamId, u32)> = pel.iter().map(|(k, c)| (*k, *c)).collect();
            prop_assert_eq!(gpel, mpel);
            for &slot in &slots {
                let mine: std::vec::Vec<StreamId> = pel.iter().filter(|(_, c)| **c == slot).map(|(k, _)| *k).collect();
                prop_assert_eq!(group.consumer(slot).unwrap().pel.as_slice(), mine.as_slice());
            }
        }
    }
}

#[test]
fn deleted_entries_out_of_order_are_passed_over() {
    // XADD 100-0, XADD MAX, XDEL MAX, XSETID 100-0, XADD 200-0: the node holds 100, MAX (deleted),
    // 200. Redis's iterator skips the deleted entry before comparing ids, so 200 is found.
    let limits = NodeLimits {
        node_bytes_max: 0,
        node_entries_max: 100,
    };
    let mut s = Stream::new_in(Global);
    let pairs: [&[u8]; 2] = [b"f", b"v"];
    s.append(StreamId::new(100, 0), &pairs, &limits).unwrap();
    s.append(StreamId::MAX, &pairs, &limits).unwrap();
    assert!(s.delete(StreamId::MAX));
    s.last_id = StreamId::new(100, 0);
    s.append(StreamId::new(200, 0), &pairs, &limits).unwrap();
    let ids = |s: &Stream<Global>, rev| {
        entries(s, rev)
            .into_iter()
            .map(|e| e.0)
            .collect::<std::vec::Vec<_>>()
    };
    assert_eq!(
        ids(&s, false),
        [StreamId::new(100, 0), StreamId::new(200, 0)]
    );
    assert_eq!(
        ids(&s, true),
        [StreamId::new(200, 0), StreamId::new(100, 0)]
    );
    assert!(s.contains(StreamId::new(200, 0)));
    // The same id as a deleted entry, live again later in the node.
    s.append(StreamId::MAX, &pairs, &limits).unwrap();
    assert!(s.delete(StreamId::MAX));
    assert!(s.delete(StreamId::new(200, 0)));
    assert_eq!(ids(&s, false), [StreamId::new(100, 0)]);
    assert_eq!(s.len(), 1);
}
