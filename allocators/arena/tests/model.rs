//! Model tests: random allocation and reset sequences.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use proptest::prelude::*;
use zedis_arena::{ArenaAlloc, HeapAlloc, RequestAlloc};
use zedis_budget::{Budget, Component, GlobalBudget};

#[derive(Debug, Clone)]
enum Op {
    Alloc(usize, u32),
    Charge,
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (prop_oneof![0..256usize, 256..70_000usize], 0..6u32).prop_map(|(s, a)| Op::Alloc(s, a)),
        2 => Just(Op::Charge),
        2 => Just(Op::Reset),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Allocations stay valid and intact until reset; the retained cap holds after every reset; the budget
    /// charge equals the bytes held after charge_now/reset; the high water is never below what was held.
    #[test]
    fn arena_matches_model(ops in proptest::collection::vec(op(), 0..100), retained_bytes_max in 0..200_000usize) {
        let budget = Budget::leak(0);
        zedis_budget::install(budget);
        let mut arena = ArenaAlloc::new(retained_bytes_max);
        let mut lives: Vec<(NonNull<u8>, usize, u8)> = Vec::new();
        let mut requested_since_reset = 0usize;
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Alloc(size, align_shift) => {
                    let layout = Layout::from_size_align(size, 1 << align_shift).unwrap();
                    let block = arena.allocator().allocate(layout).unwrap();
                    prop_assert_eq!(block.cast::<u8>().as_ptr() as usize % layout.align(), 0);
                    let seed = i as u8;
                    // SAFETY: a fresh block of `size` bytes.
                    unsafe { std::ptr::write_bytes(block.cast::<u8>().as_ptr(), seed, size) };
                    lives.push((block.cast(), size, seed));
                    requested_since_reset += size;
                    prop_assert!(arena.stats().current_bytes >= requested_since_reset);
                }
                Op::Charge => {
                    arena.charge_now();
                    prop_assert_eq!(budget.used_by(Component::RequestArena), arena.stats().current_bytes);
                }
                Op::Reset => {
                    for &(ptr, size, seed) in &lives {
                        // SAFETY: valid until the reset below.
                        let bytes = unsafe { std::slice::from_raw_parts(ptr.as_ptr(), size) };
                        prop_assert!(bytes.iter().all(|&b| b == seed));
                    }
                    let held = arena.stats().current_bytes;
                    lives.clear();
                    requested_since_reset = 0;
                    arena.reset();
                    let stats = arena.stats();
                    prop_assert!(stats.retained_bytes <= retained_bytes_max);
                    prop_assert_eq!(stats.current_bytes, stats.retained_bytes);
                    prop_assert!(stats.high_water_bytes >= held);
                    prop_assert_eq!(budget.used_by(Component::RequestArena), stats.retained_bytes);
                    prop_assert_eq!(arena.charged_bytes(), stats.retained_bytes);
                }
            }
            prop_assert!(arena.stats().high_water_bytes >= arena.stats().current_bytes);
        }
        drop(arena);
        prop_assert_eq!(budget.used(), 0);
    }
}

#[test]
fn argv_vectors_in_both_strategies() {
    fn build<R: RequestAlloc>(strategy: &mut R) {
        let query = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".to_vec();
        for _ in 0..3 {
            {
                let mut argv: allocator_api2::vec::Vec<&[u8], R::Alloc<'_>> =
                    allocator_api2::vec::Vec::new_in(strategy.allocator());
                argv.extend(query.split(|&b| b == b'\n'));
                assert_eq!(argv.len(), 8);
            }
            strategy.reset();
        }
        let mut info = String::new();
        strategy.write_info(&mut info);
        assert!(info.starts_with(&format!("request_allocator:{}\r\n", R::NAME)));
        assert_eq!(strategy.stats().resets, 3);
    }
    build(&mut ArenaAlloc::new(1024));
    build(&mut HeapAlloc::new());
}
