//! Pool vs system allocator under key/value churn: inserts, deletes and overwrites of byte strings drawn
//! from a few size mixes, over a table of live entries that stays about half full.

use std::hint::black_box;

use allocator_api2::vec::Vec as AVec;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zedis_kv_pool::{KvAllocator, PoolAlloc, SystemAlloc};

/// Entries in the churned table.
const SLOTS: usize = 4096;
/// Operations per measured iteration.
const OPS: usize = 10_000;

/// An inclusive range of byte lengths.
type Lens = (usize, usize);

/// Size mixes: (name, key lengths, value lengths).
const MIXES: [(&str, Lens, Lens); 3] = [
    ("small", (8, 32), (8, 128)),
    ("mixed", (8, 64), (16, 4096)),
    ("large", (16, 64), (4096, 100_000)),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn in_range(&mut self, (lo, hi): (usize, usize)) -> usize {
        lo + (self.next() as usize) % (hi - lo + 1)
    }
}

type Entry<A> = (AVec<u8, A>, AVec<u8, A>);

fn bytes<A: KvAllocator>(len: usize, fill: u8) -> AVec<u8, A> {
    let mut v = AVec::new_in(A::default());
    // The budget is unlimited in this bench.
    v.try_reserve_exact(len).expect("allocation");
    v.resize(len, fill);
    v
}

/// One round of churn: OPS random inserts (into an empty slot), deletes and overwrites.
fn churn<A: KvAllocator>(table: &mut [Option<Entry<A>>], rng: &mut Rng, key: Lens, value: Lens) {
    for _ in 0..OPS {
        let slot = (rng.next() as usize) % table.len();
        let op = rng.next() % 3;
        match (&mut table[slot], op) {
            (entry @ None, _) => {
                *entry = Some((bytes(rng.in_range(key), 1), bytes(rng.in_range(value), 2)));
            }
            (entry @ Some(_), 0) => *entry = None,
            (Some((_, v)), _) => *v = bytes(rng.in_range(value), 3),
        }
    }
    black_box(table);
}

fn bench_strategy<A: KvAllocator>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
) {
    for (name, key, value) in MIXES {
        let mut table: Vec<Option<Entry<A>>> = (0..SLOTS).map(|_| None).collect();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        churn(&mut table, &mut rng, key, value);
        c.bench_with_input(
            BenchmarkId::new(A::NAME, name),
            &(key, value),
            |b, &(key, value)| b.iter(|| churn(&mut table, &mut rng, key, value)),
        );
        drop(table);
    }
}

fn kv_alloc(c: &mut Criterion) {
    PoolAlloc::install(4 << 30).expect("pool");
    let mut group = c.benchmark_group("kv_alloc");
    group.throughput(Throughput::Elements(OPS as u64));
    bench_strategy::<PoolAlloc>(&mut group);
    bench_strategy::<SystemAlloc>(&mut group);
    group.finish();
}

criterion_group!(benches, kv_alloc);
criterion_main!(benches);
