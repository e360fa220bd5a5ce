//! Model tests: random allocation sequences against a trivial model of what must hold.

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};
use proptest::prelude::*;
use zedis_budget::{Budget, Component, GlobalBudget};
use zedis_kv_pool::{
    KvAllocator, KvStats, PoolAlloc, PoolError, SystemAlloc, CLASS_SIZES, PAGE_BYTES,
};

/// The pool's charge for a layout, computed independently of the crate's own mapping.
fn pool_charge(layout: Layout) -> usize {
    if layout.size() == 0 {
        return 0;
    }
    match CLASS_SIZES
        .iter()
        .find(|&&c| c >= layout.size() && c % layout.align() == 0)
    {
        Some(&class) => class,
        None => layout.size().div_ceil(PAGE_BYTES) * PAGE_BYTES,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Alloc { size: usize, align_shift: u32 },
    Free(usize),
    Resize(usize, usize),
    Reset,
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0..=64usize,
        4 => 65..=16_384usize,
        2 => 16_385..=400_000usize,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (size(), 0..=7u32).prop_map(|(size, align_shift)| Op::Alloc { size, align_shift }),
        5 => any::<usize>().prop_map(Op::Free),
        3 => (any::<usize>(), size()).prop_map(|(i, size)| Op::Resize(i, size)),
        1 => Just(Op::Reset),
    ]
}

struct Live {
    ptr: NonNull<u8>,
    layout: Layout,
    seed: u8,
}

fn fill(live: &Live) {
    // SAFETY: the block is live and at least layout.size() bytes.
    unsafe { std::ptr::write_bytes(live.ptr.as_ptr(), live.seed, live.layout.size()) };
}

fn intact(live: &Live, len: usize) -> bool {
    // SAFETY: the block is live and at least `len` bytes, all written by `fill`.
    let bytes = unsafe { std::slice::from_raw_parts(live.ptr.as_ptr(), len) };
    bytes.iter().all(|&b| b == live.seed)
}

fn no_overlap(lives: &[Live]) -> bool {
    let mut spans: BTreeMap<usize, usize> = BTreeMap::new();
    for live in lives.iter().filter(|l| l.layout.size() > 0) {
        let start = live.ptr.as_ptr() as usize;
        spans.insert(start, start + live.layout.size());
    }
    spans
        .values()
        .zip(spans.keys().skip(1))
        .all(|(end, next)| end <= next)
}

fn run_model(ops: Vec<Op>, capacity_pages: usize, limit: usize) -> Result<(), TestCaseError> {
    let budget = Budget::leak(limit);
    zedis_budget::install(budget);
    // A failed earlier case may have left blocks behind; nothing of them is used again.
    // SAFETY: see above.
    unsafe { PoolAlloc::reset_all() };
    PoolAlloc::install(capacity_pages * PAGE_BYTES)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut lives: Vec<Live> = Vec::new();
    let mut seed = 0u8;
    for op in ops {
        match op {
            Op::Alloc { size, align_shift } => {
                let layout = Layout::from_size_align(size, 1 << align_shift).unwrap();
                let fits = limit == 0 || budget.used() + pool_charge(layout) <= limit;
                match PoolAlloc.allocate(layout) {
                    Ok(block) => {
                        prop_assert!(fits, "allocated past the budget");
                        prop_assert!(block.len() >= size);
                        prop_assert_eq!(block.cast::<u8>().as_ptr() as usize % layout.align(), 0);
                        seed = seed.wrapping_add(1);
                        let live = Live {
                            ptr: block.cast(),
                            layout,
                            seed,
                        };
                        fill(&live);
                        lives.push(live);
                    }
                    Err(AllocError) => prop_assert!(size > 0, "zero-sized allocation failed"),
                }
            }
            Op::Free(i) if !lives.is_empty() => {
                let live = lives.swap_remove(i % lives.len());
                prop_assert!(intact(&live, live.layout.size()));
                // SAFETY: live, allocated with this layout.
                unsafe { PoolAlloc.deallocate(live.ptr, live.layout) };
            }
            Op::Resize(i, size) if !lives.is_empty() => {
                let i = i % lives.len();
                let old = lives[i].layout;
                let new = Layout::from_size_align(size, old.align()).unwrap();
                // SAFETY: live, allocated with `old`.
                let resized = unsafe {
                    if size >= old.size() {
                        PoolAlloc.grow(lives[i].ptr, old, new)
                    } else {
                        PoolAlloc.shrink(lives[i].ptr, old, new)
                    }
                };
                if let Ok(block) = resized {
                    prop_assert!(block.len() >= size);
                    prop_assert_eq!(block.cast::<u8>().as_ptr() as usize % new.align(), 0);
                    lives[i].ptr = block.cast();
                    lives[i].layout = new;
                    prop_assert!(intact(&lives[i], old.size().min(size)));
                    fill(&lives[i]);
                } else {
                    prop_assert!(intact(&lives[i], old.size()));
                }
            }
            Op::Reset => {
                // SAFETY: every block is forgotten right after.
                let reset = unsafe { PoolAlloc::reset_all() };
                prop_assert!(reset);
                lives.clear();
                let stats = PoolAlloc::stats();
                prop_assert_eq!(
                    (stats.used_bytes, stats.requested_bytes, stats.allocations),
                    (0, 0, 0)
                );
            }
            Op::Free(_) | Op::Resize(..) => {}
        }
        let charged: usize = lives.iter().map(|l| pool_charge(l.layout)).sum();
        let requested: usize = lives.iter().map(|l| l.layout.size()).sum();
        let stats = PoolAlloc::stats();
        prop_assert_eq!(budget.used_by(Component::Keyspace), charged);
        prop_assert_eq!(stats.used_bytes, charged);
        prop_assert_eq!(stats.requested_bytes, requested);
        prop_assert_eq!(
            stats.allocations,
            lives.iter().filter(|l| l.layout.size() > 0).count()
        );
        prop_assert!(limit == 0 || budget.used() <= limit);
        prop_assert!(stats.used_bytes <= stats.capacity_bytes);
        prop_assert!(no_overlap(&lives));
    }
    for live in lives.drain(..) {
        prop_assert!(intact(&live, live.layout.size()));
        // SAFETY: live, allocated with this layout.
        unsafe { PoolAlloc.deallocate(live.ptr, live.layout) };
    }
    prop_assert_eq!(budget.used(), 0);
    prop_assert_eq!(PoolAlloc::stats().allocations, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Live blocks never overlap, keep their contents, are aligned; the budget charge is exact and never
    /// past the limit; reset frees everything.
    #[test]
    fn pool_matches_model(
        ops in proptest::collection::vec(op(), 0..120),
        capacity_pages in 1..48usize,
        limit in prop_oneof![Just(0usize), 1usize..3_000_000],
    ) {
        run_model(ops, capacity_pages, limit)?;
    }
}

#[test]
fn out_of_memory_then_free_then_success() {
    let budget = Budget::leak(0);
    zedis_budget::install(budget);
    PoolAlloc::install(2 * PAGE_BYTES).unwrap();
    let big = Layout::from_size_align(PAGE_BYTES * 2, 8).unwrap();
    let a = PoolAlloc.allocate(big).unwrap();
    assert_eq!(PoolAlloc.allocate(Layout::new::<u64>()), Err(AllocError));
    // SAFETY: live, this layout.
    unsafe { PoolAlloc.deallocate(a.cast(), big) };
    let small = PoolAlloc.allocate(Layout::new::<u64>()).unwrap();
    // SAFETY: live, this layout.
    unsafe { PoolAlloc.deallocate(small.cast(), Layout::new::<u64>()) };

    // Now the budget is the limit.
    budget.set_limit(100);
    let l = Layout::from_size_align(64, 8).unwrap();
    let a = PoolAlloc.allocate(l).unwrap();
    assert_eq!(PoolAlloc.allocate(l), Err(AllocError));
    assert_eq!(budget.used(), 64);
    // SAFETY: live, this layout.
    unsafe { PoolAlloc.deallocate(a.cast(), l) };
    let b = PoolAlloc.allocate(l).unwrap();
    // SAFETY: live, this layout.
    unsafe { PoolAlloc.deallocate(b.cast(), l) };
    assert_eq!(budget.used(), 0);
    PoolAlloc::uninstall().unwrap();
}

#[test]
fn uninstalled_pool_refuses_and_reinstall_needs_empty() {
    std::thread::spawn(|| {
        assert_eq!(PoolAlloc.allocate(Layout::new::<u64>()), Err(AllocError));
        assert_eq!(zedis_budget::current().used(), 0);
        PoolAlloc::install(PAGE_BYTES).unwrap();
        let a = PoolAlloc.allocate(Layout::new::<u64>()).unwrap();
        assert_eq!(
            PoolAlloc::install(PAGE_BYTES),
            Err(PoolError::InUse { allocations: 1 })
        );
        // SAFETY: live, this layout.
        unsafe { PoolAlloc.deallocate(a.cast(), Layout::new::<u64>()) };
        PoolAlloc::install(4 * PAGE_BYTES).unwrap();
        assert_eq!(PoolAlloc::stats().capacity_bytes, 4 * PAGE_BYTES);
        PoolAlloc::uninstall().unwrap();
    })
    .join()
    .unwrap();
}

#[test]
fn hashbrown_and_vec_in_the_pool() {
    use hashbrown::{DefaultHashBuilder, HashMap};
    let budget = Budget::leak(0);
    zedis_budget::install(budget);
    PoolAlloc::install(256 * PAGE_BYTES).unwrap();
    {
        type Bytes = allocator_api2::vec::Vec<u8, PoolAlloc>;
        let mut map: HashMap<Bytes, Bytes, DefaultHashBuilder, PoolAlloc> =
            HashMap::with_hasher_in(DefaultHashBuilder::default(), PoolAlloc);
        for i in 0..20_000u32 {
            let mut key = Bytes::new_in(PoolAlloc);
            key.try_reserve(12).unwrap();
            key.extend_from_slice(format!("key:{i}").as_bytes());
            let mut value = Bytes::new_in(PoolAlloc);
            value.try_reserve((i % 300) as usize).unwrap();
            value.resize((i % 300) as usize, i as u8);
            map.try_reserve(1).unwrap();
            map.insert(key, value);
        }
        // allocator_api2's Vec<u8, A> is not Borrow<[u8]> for A != Global: look up with a pool key.
        let key = |i: u32| {
            let mut key = Bytes::new_in(PoolAlloc);
            key.extend_from_slice(format!("key:{i}").as_bytes());
            key
        };
        for i in (0..20_000u32).step_by(2) {
            assert!(map.remove(&key(i)).is_some());
        }
        for i in (1..20_000u32).step_by(2) {
            let value = &map[&key(i)];
            assert!(value.len() == (i % 300) as usize && value.iter().all(|&b| b == i as u8));
        }
        assert_eq!(
            budget.used_by(Component::Keyspace),
            PoolAlloc::stats().used_bytes
        );
        let mut info = String::new();
        PoolAlloc::write_info(&mut info);
        assert!(
            info.starts_with("kv_allocator:pool\r\n") && info.contains("kv_pool_class_16:"),
            "{info}"
        );
        // Everything at once: the map's blocks are gone, so it must not be dropped.
        // SAFETY: the map is forgotten, never used again.
        assert!(unsafe { PoolAlloc::reset_all() });
        std::mem::forget(map);
    }
    assert_eq!(budget.used(), 0);
    assert_eq!(PoolAlloc::stats().resets, 1);
    PoolAlloc::uninstall().unwrap();
}

#[test]
fn system_allocator_accounts_exactly() {
    let budget = Budget::leak(0);
    zedis_budget::install(budget);
    let mut v: allocator_api2::vec::Vec<allocator_api2::vec::Vec<u8, SystemAlloc>, SystemAlloc> =
        allocator_api2::vec::Vec::new_in(SystemAlloc);
    for i in 0..1000usize {
        let mut inner = allocator_api2::vec::Vec::new_in(SystemAlloc);
        inner.resize(i, 1u8);
        v.push(inner);
    }
    assert_eq!(
        budget.used_by(Component::Keyspace),
        SystemAlloc::stats().used_bytes
    );
    // SAFETY: returns false, frees nothing.
    assert!(!unsafe { SystemAlloc::reset_all() });
    budget.set_limit(budget.used() + 10);
    let mut big: allocator_api2::vec::Vec<u8, SystemAlloc> =
        allocator_api2::vec::Vec::new_in(SystemAlloc);
    assert!(big.try_reserve(1000).is_err());
    drop(v);
    assert_eq!(budget.used(), 0);
    assert_eq!(SystemAlloc::stats(), KvStats::default());
}
