use super::*;
use crate::types::test_alloc::{fail_every, live_bytes, TestAlloc};
use allocator_api2::alloc::Global;
use proptest::prelude::*;
use std::collections::VecDeque;

type Model = VecDeque<std::vec::Vec<u8>>;

fn contents<A: Allocator + Copy>(list: &List<A>) -> std::vec::Vec<std::vec::Vec<u8>> {
    list.iter().map(|e| e.to_vec()).collect()
}

fn limits(fill: i64) -> Limits {
    Limits {
        list_max_listpack_size: fill,
        ..Limits::default()
    }
}

/// Redis's LRANGE/LTRIM index clamping, on the model.
fn model_range(len: usize, start: i64, stop: i64) -> (usize, usize) {
    let len = len as i64;
    let start = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        stop + len
    } else {
        stop.min(len - 1)
    };
    if start > stop || start >= len {
        (0, 0)
    } else {
        (start as usize, stop as usize + 1)
    }
}

fn check_invariants<A: Allocator + Copy>(list: &List<A>, limits: &Limits) {
    assert!(list.nodes.iter().all(|node| !node.is_empty()));
    assert_eq!(
        list.nodes.iter().map(node::Node::len).sum::<usize>(),
        list.len()
    );
    if list.nodes.len() > 1 {
        assert_eq!(list.encoding(), "quicklist");
    }
    if let [_] = &list.nodes[..] {
        if exceeds(limits, list.lp(0).bytes_len(), list.nodes[0].len()) {
            assert_eq!(list.encoding(), "quicklist");
        }
    }
}

#[test]
fn encodings_at_thresholds() {
    let limits = limits(4);
    let mut list = List::new_in(Global);
    for i in 0..4 {
        list.push_back(format!("v{i}").as_bytes(), &limits).unwrap();
    }
    assert_eq!((list.encoding(), list.node_count()), ("listpack", 1));
    list.push_back(b"v4", &limits).unwrap();
    assert_eq!((list.encoding(), list.node_count()), ("quicklist", 2));
    // Shrinks back only to half the limit.
    for _ in 0..2 {
        list.pop_back_with(&limits, |_| ()).unwrap();
    }
    assert_eq!((list.encoding(), list.node_count()), ("quicklist", 1));
    list.pop_back_with(&limits, |_| ()).unwrap();
    assert_eq!((list.encoding(), list.len()), ("listpack", 2));

    // Default -2: 8 KiB nodes.
    let limits = Limits::default();
    let mut list = List::new_in(Global);
    list.push_back(&[b'x'; 8000], &limits).unwrap();
    assert_eq!(list.encoding(), "listpack");
    list.push_back(&[b'x'; 200], &limits).unwrap();
    assert_eq!(list.encoding(), "quicklist");
    let mut list = List::new_in(Global);
    list.push_back(&[b'x'; 9000], &limits).unwrap();
    assert_eq!(list.encoding(), "quicklist");
}

#[test]
fn index_insert_and_ranges() {
    let limits = limits(3);
    let mut list = List::new_in(Global);
    for i in 0..10 {
        list.push_back(i.to_string().as_bytes(), &limits).unwrap();
    }
    assert_eq!(list.get(-1), Some(Elem::Int(9)));
    assert_eq!(list.get(10), None);
    assert!(list.insert(b"4", b"x", true, &limits).unwrap());
    assert!(!list.insert(b"nope", b"x", true, &limits).unwrap());
    assert_eq!(list.get(5), Some(Elem::Bytes(b"x")));
    let back: std::vec::Vec<_> = list.range(-3, -1).rev().map(|e| e.to_vec()).collect();
    assert_eq!(back, [b"9".to_vec(), b"8".to_vec(), b"7".to_vec()]);
    assert_eq!(list.range(5, 2).count(), 0);
    assert!(list.set(-1, b"last", &limits).unwrap());
    assert!(!list.set(11, b"x", &limits).unwrap());
    assert_eq!(list.get(-1), Some(Elem::Bytes(b"last")));
}

/// Bytes per element measured with `Global` (x86-64, release): 1M `"element:<i>"` 15.96 B
/// (Redis 7.0.15: 16 B); 1M integers 0..1M 5.0 B.
#[test]
fn bytes_per_element() {
    let limits = Limits::default();
    let mut list = List::new_in(Global);
    let count = 200_000;
    for i in 0..count {
        list.push_back(format!("element:{i}").as_bytes(), &limits)
            .unwrap();
    }
    let per_element = list.mem_bytes() as f64 / count as f64;
    assert!(per_element < 22.0, "{per_element} bytes per element");
}

#[derive(Debug, Clone)]
enum Op {
    PushFront(std::vec::Vec<u8>),
    PushBack(std::vec::Vec<u8>),
    PopFront,
    PopBack,
    Set(i64, std::vec::Vec<u8>),
    Insert(usize, std::vec::Vec<u8>, bool),
    Remove(i64, usize),
    Trim(i64, i64),
    Range(i64, i64),
}

fn value() -> impl Strategy<Value = std::vec::Vec<u8>> {
    prop_oneof![
        8 => (-5i64..5).prop_map(|v| v.to_string().into_bytes()),
        8 => proptest::collection::vec(b'a'..b'd', 0..3),
        3 => proptest::collection::vec(any::<u8>(), 0..100),
        1 => (1000usize..3000).prop_map(|n| vec![b'z'; n]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => value().prop_map(Op::PushFront),
        4 => value().prop_map(Op::PushBack),
        1 => Just(Op::PopFront),
        1 => Just(Op::PopBack),
        1 => (-20i64..20, value()).prop_map(|(i, v)| Op::Set(i, v)),
        2 => (any::<usize>(), value(), any::<bool>()).prop_map(|(i, v, a)| Op::Insert(i, v, a)),
        1 => (-3i64..4, any::<usize>()).prop_map(|(c, i)| Op::Remove(c, i)),
        1 => (-25i64..25, -25i64..25).prop_map(|(a, b)| Op::Trim(a, b)),
        1 => (-25i64..25, -25i64..25).prop_map(|(a, b)| Op::Range(a, b)),
    ]
}

fn apply(list: &mut List<TestAlloc>, model: &mut Model, op: Op, limits: &Limits) {
    match op {
        Op::PushFront(v) => {
            if list.push_front(&v, limits).is_ok() {
                model.push_front(v);
            }
        }
        Op::PushBack(v) => {
            if list.push_back(&v, limits).is_ok() {
                model.push_back(v);
            }
        }
        Op::PopFront => assert_eq!(
            list.pop_front_with(limits, |e| e.to_vec()),
            model.pop_front()
        ),
        Op::PopBack => assert_eq!(list.pop_back_with(limits, |e| e.to_vec()), model.pop_back()),
        Op::Set(i, v) => {
            let index = list.normalize_index(i);
            if let Ok(in_range) = list.set(i, &v, limits) {
                assert_eq!(in_range, index.is_some());
                if let Some(index) = index {
                    model[index] = v;
                }
            }
        }
        Op::Insert(i, v, after) => {
            let pivot = if model.is_empty() {
                b"none".to_vec()
            } else {
                model[i % model.len()].clone()
            };
            if let Ok(found) = list.insert(&pivot, &v, after, limits) {
                let position = model.iter().position(|m| *m == pivot);
                assert_eq!(found, position.is_some());
                if let Some(p) = position {
                    model.insert(p + usize::from(after), v);
                }
            }
        }
        Op::Remove(count, i) => {
            let value = if model.is_empty() {
                b"x".to_vec()
            } else {
                model[i % model.len()].clone()
            };
            let removed = list.remove(count, &value, limits);
            let limit = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut done = 0;
            let positions: std::vec::Vec<usize> = if count >= 0 {
                (0..model.len()).collect()
            } else {
                (0..model.len()).rev().collect()
            };
            let mut keep = vec![true; model.len()];
            for p in positions {
                if done < limit && model[p] == value {
                    keep[p] = false;
                    done += 1;
                }
            }
            let mut k = keep.iter();
            model.retain(|_| *k.next().unwrap());
            assert_eq!(removed, done);
        }
        Op::Trim(start, stop) => {
            let (first, end) = model_range(model.len(), start, stop);
            list.trim(start, stop, limits);
            *model = model
                .iter()
                .skip(first)
                .take(end - first)
                .cloned()
                .collect();
        }
        Op::Range(start, stop) => {
            let (first, end) = model_range(model.len(), start, stop);
            let expected: std::vec::Vec<_> = model
                .iter()
                .skip(first)
                .take(end - first)
                .cloned()
                .collect();
            assert_eq!(
                list.range(start, stop)
                    .map(|e| e.to_vec())
                    .collect::<std::vec::Vec<_>>(),
                expected
            );
            let mut reversed: std::vec::Vec<_> =
                list.range(start, stop).rev().map(|e| e.to_vec()).collect();
            reversed.reverse();
            assert_eq!(reversed, expected);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn model(ops in proptest::collection::vec(op(), 0..120),
             fill in prop_oneof![1i64..6, Just(-1i64)],
             fail in prop_oneof![Just(0usize), 2usize..10]) {
        let limits = limits(fill);
        let base = live_bytes();
        {
            let mut list = List::new_in(TestAlloc);
            let mut model = Model::new();
            fail_every(fail);
            for op in ops {
                apply(&mut list, &mut model, op, &limits);
                check_invariants(&list, &limits);
                prop_assert_eq!(list.len(), model.len());
                prop_assert_eq!(contents(&list), model.iter().cloned().collect::<std::vec::Vec<_>>());
                if !model.is_empty() {
                    prop_assert!(list.get(-1).unwrap().eq_bytes(model.back().unwrap()));
                    let mid = model.len() / 2;
                    prop_assert!(list.get(mid as i64).unwrap().eq_bytes(&model[mid]));
                }
            }
            fail_every(0);
        }
        prop_assert_eq!(live_bytes(), base);
    }
}

/// After a mutation: nodes within the depth of an end plain, inner ones compressed unless too
/// small or incompressible, and no read cache left on compressed nodes.
fn check_compression<A: Allocator + Copy>(list: &List<A>) {
    for (i, node) in list.nodes.iter().enumerate() {
        if list.is_inner(i) {
            let bytes = list.nodes[i].view(&list.empty).bytes_len();
            if node.is_compressed() {
                assert!(node.compressed_bytes().unwrap() + node::MIN_COMPRESS_IMPROVE <= bytes);
            }
        } else {
            assert!(
                !node.is_compressed(),
                "node {i} of {} compressed",
                list.nodes.len()
            );
        }
    }
}

fn no_caches<A: Allocator + Copy>(list: &List<A>) -> bool {
    list.nodes.iter().all(|n| !n.has_cache())
}

fn compressible_value() -> impl Strategy<Value = std::vec::Vec<u8>> {
    prop_oneof![
        4 => value(),
        4 => (0u8..4, 20usize..200).prop_map(|(b, n)| vec![b'a' + b; n]),
        2 => (0i64..1_000_000).prop_map(|v| format!("item:{v}:item").into_bytes()),
    ]
}

fn compressed_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => compressible_value().prop_map(Op::PushFront),
        6 => compressible_value().prop_map(Op::PushBack),
        2 => Just(Op::PopFront),
        2 => Just(Op::PopBack),
        2 => (-40i64..40, compressible_value()).prop_map(|(i, v)| Op::Set(i, v)),
        2 => (any::<usize>(), compressible_value(), any::<bool>()).prop_map(|(i, v, a)| Op::Insert(i, v, a)),
        1 => (-3i64..4, any::<usize>()).prop_map(|(c, i)| Op::Remove(c, i)),
        1 => (-60i64..60, -60i64..60).prop_map(|(a, b)| Op::Trim(a, b)),
        2 => (-60i64..60, -60i64..60).prop_map(|(a, b)| Op::Range(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// `list-compress-depth` 1..=4: random operations against a `VecDeque`, contents always equal,
    /// inner nodes compressed after every mutation, every byte freed at the end.
    #[test]
    fn model_compressed(ops in proptest::collection::vec(compressed_op(), 0..200),
                        fill in prop_oneof![1i64..6, Just(-1i64)],
                        depth in 1usize..5) {
        let limits = limits(fill);
        let base = live_bytes();
        {
            let mut list = List::with_depth_in(TestAlloc, depth);
            let mut model = Model::new();
            for op in ops {
                let reads = matches!(op, Op::Range(..));
                apply(&mut list, &mut model, op, &limits);
                if !reads {
                    check_compression(&list);
                }
                check_invariants(&list, &limits);
                prop_assert_eq!(list.len(), model.len());
                prop_assert_eq!(contents(&list), model.iter().cloned().collect::<std::vec::Vec<_>>());
                if !model.is_empty() {
                    let mid = model.len() / 2;
                    prop_assert!(list.get(mid as i64).unwrap().eq_bytes(&model[mid]));
                }
                list.recompress();
                prop_assert!(no_caches(&list));
                check_compression(&list);
                list.recompress();
            }
        }
        prop_assert_eq!(live_bytes(), base);
    }
}

#[test]
fn compression_saves_memory_and_keeps_values() {
    let limits = limits(-2);
    let mut plain = List::with_depth_in(Global, 0);
    let mut packed = List::with_depth_in(Global, 1);
    for i in 0..20_000 {
        let v = format!("value-{}-{}", i % 100, "x".repeat(20));
        plain.push_back(v.as_bytes(), &limits).unwrap();
        packed.push_back(v.as_bytes(), &limits).unwrap();
    }
    let (nodes, bytes) = packed.compressed_nodes();
    assert_eq!(nodes, packed.node_count() - 2);
    assert!(
        bytes * 4 < plain.mem_bytes(),
        "{bytes} vs {}",
        plain.mem_bytes()
    );
    assert!(packed.mem_bytes() * 3 < plain.mem_bytes());
    assert_eq!(contents(&plain), contents(&packed));
    packed.recompress();
    assert_eq!(packed.compressed_nodes(), (nodes, bytes));
    assert_eq!(packed.encoding(), "quicklist");
}

/// Applies `op` to `list` only (no model), ignoring allocation failures.
fn apply_unchecked(list: &mut List<TestAlloc>, op: Op, limits: &Limits) {
    match op {
        Op::PushFront(v) => {
            let _ = list.push_front(&v, limits);
        }
        Op::PushBack(v) => {
            let _ = list.push_back(&v, limits);
        }
        Op::PopFront => {
            let _ = list.pop_front_with(limits, |e| e.to_vec());
        }
        Op::PopBack => {
            let _ = list.pop_back_with(limits, |e| e.to_vec());
        }
        Op::Set(i, v) => {
            let _ = list.set(i, &v, limits);
        }
        Op::Insert(i, v, after) => {
            let pivot = list
                .get(i as i64 % 50)
                .map(|e| e.to_vec())
                .unwrap_or_default();
            let _ = list.insert(&pivot, &v, after, limits);
        }
        Op::Remove(count, i) => {
            let value = list
                .get(i as i64 % 50)
                .map(|e| e.to_vec())
                .unwrap_or_default();
            list.remove(count, &value, limits);
        }
        Op::Trim(start, stop) => list.trim(start, stop, limits),
        Op::Range(start, stop) => assert!(list.range(start, stop).count() <= list.len()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// With failing allocations and compressed nodes, every operation leaves a consistent list (length
    /// equal to what iteration yields both ways, no empty node) and nothing leaks.
    #[test]
    fn compressed_survives_alloc_failures(ops in proptest::collection::vec(compressed_op(), 0..200),
                                          depth in 1usize..4,
                                          fail in 2usize..12) {
        let limits = limits(4);
        let base = live_bytes();
        {
            let mut list = List::with_depth_in(TestAlloc, depth);
            fail_every(fail);
            for op in ops {
                apply_unchecked(&mut list, op, &limits);
                fail_every(0);
                check_invariants(&list, &limits);
                prop_assert_eq!(list.iter().count(), list.len());
                prop_assert_eq!(list.iter().rev().count(), list.len());
                fail_every(fail);
            }
            fail_every(0);
        }
        prop_assert_eq!(live_bytes(), base);
    }
}
