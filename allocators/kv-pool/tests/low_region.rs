//! Where regions are placed: below `LOW_ADDR_LIMIT` when that range is free (the keyspace's index then
//! stores entry addresses in 5 bytes), and `PoolAlloc::region_end` tells which blocks are the pool's.

use allocator_api2::alloc::{Allocator, Global};
use std::alloc::Layout;
use zedis_budget::Budget;
use zedis_kv_pool::{PoolAlloc, LOW_ADDR_LIMIT};

#[test]
fn regions_sit_below_the_low_limit_and_know_their_blocks() {
    zedis_budget::install(Budget::leak(0));
    // Several threads at once, each with its own region: all below the limit, none overlapping.
    let ranges: Vec<(usize, usize)> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                PoolAlloc::install(1 << 30).unwrap();
                let layout = Layout::from_size_align(60, 4).unwrap();
                let block = PoolAlloc.allocate(layout).unwrap();
                let addr = block.as_ptr().cast::<u8>() as usize;
                let end = PoolAlloc::region_end(addr).expect("a pool block");
                assert!(addr < end && end <= LOW_ADDR_LIMIT, "{addr:#x} {end:#x}");
                assert_eq!(PoolAlloc::region_end(end), None);
                // SAFETY: allocated above with this layout.
                unsafe { PoolAlloc.deallocate(block.cast(), layout) };
                (addr, end)
            })
            .join()
            .unwrap()
        })
        .collect();
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            assert!(a.1 <= b.0 || b.1 <= a.0, "{a:x?} {b:x?}");
        }
    }
    // Memory from elsewhere is not the pool's.
    PoolAlloc::install(1 << 30).unwrap();
    let layout = Layout::from_size_align(64, 8).unwrap();
    let other = Global.allocate(layout).unwrap();
    assert_eq!(
        PoolAlloc::region_end(other.as_ptr().cast::<u8>() as usize),
        None
    );
    // SAFETY: allocated above with this layout.
    unsafe { Global.deallocate(other.cast(), layout) };
    PoolAlloc::uninstall().unwrap();
    assert_eq!(PoolAlloc::region_end(1 << 41), None);
}
