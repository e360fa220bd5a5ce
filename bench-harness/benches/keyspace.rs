//! End to end in process: the real keyspace command handlers (`fn(&mut Keyspace<A>, &mut Ctx)`, the ones the
//! server's command table points at) under each KV strategy, `PoolAlloc` (the size-class pool) and
//! `SystemAlloc` (the global allocator with the same accounting). One criterion group per command with both
//! strategies in it, so the report compares them directly; throughput is in commands.
//!
//! What is left out, on purpose: the network, RESP parsing, the command table lookup and the server's
//! `reclaim` call (the budget is unlimited here, so `reclaim` would return at once). The reply bytes are
//! produced as the server produces them, into a reused output buffer.
//!
//! Workloads (keys `key:<n>`, uniform random picks from a xorshift generator with a fixed seed):
//! - `set/insert_32B`: SETs of new keys into an empty keyspace (a fresh keyspace per batch, not timed);
//! - `set/overwrite_32B`: SETs over a prefilled key space (the entry is rewritten in place or reallocated);
//! - `get/hit_32B`, `get/miss`: GETs of present and absent keys;
//! - `incr/1k_counters`: INCRs over 1000 integer keys;
//! - `lpush/16_lists`, `sadd/16_sets`, `hset/16_hashes`: into 16 keys of a fresh keyspace (so collections grow
//!   from empty through the compact encodings to the large ones, as they do in a server);
//! - `churn/mixed_sizes`: SET new key / DEL / SET overwrite in equal shares over a 64k key space about half
//!   full, values 8 B to 4 KiB (the kv-pool bench's `mixed` mix, now through the real entry layout).

use std::hint::black_box;

use criterion::{
    criterion_group, criterion_main, measurement::WallTime, BatchSize, BenchmarkGroup, BenchmarkId,
    Criterion, Throughput,
};
use zedis_budget::Budget;
use zedis_keyspace::commands::{hashes, keys, lists, sets, strings, Ctx, Effects, Handler};
use zedis_keyspace::{Keyspace, KeyspaceConfig};
use zedis_kv_pool::{KvAllocator, PoolAlloc, SystemAlloc};
use zedis_resp::Protocol;

/// Commands per measured iteration.
const OPS: usize = 1000;
/// Keys in the SET/GET key space.
const KEYS: usize = 100_000;
/// Keys in the churn key space.
const CHURN_KEYS: usize = 65_536;
/// Collections the LPUSH/SADD/HSET workloads spread over.
const COLLECTIONS: usize = 16;
/// Value bytes for the SET/GET workloads (the size of the bytes-per-key question).
const VALUE_BYTES: usize = 32;
/// Address space reserved for the pool (`MAP_NORESERVE`: only touched pages count).
const POOL_BYTES: usize = 8 << 30;

struct Rng(u64);

impl Rng {
    fn new() -> Self {
        Rng(0x9E37_79B9_7F4A_7C15)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What a handler needs besides the keyspace: reused output and effects, as in the server.
struct Caller {
    out: Vec<u8>,
    fx: Effects,
}

impl Caller {
    fn new() -> Self {
        Caller {
            out: Vec::with_capacity(64 * 1024),
            fx: Effects::default(),
        }
    }

    /// Runs one command the way the server's `execute` does (effects reset, reply appended).
    #[inline]
    fn call<A: KvAllocator>(&mut self, ks: &mut Keyspace<A>, handler: Handler<A>, argv: &[&[u8]]) {
        self.fx.reset();
        let mut ctx = Ctx {
            argv,
            out: &mut self.out,
            proto: Protocol::Resp2,
            db: 0,
            now_ms: 1_700_000_000_000,
            fx: &mut self.fx,
        };
        handler(ks, &mut ctx);
        // The server writes the reply to the socket and clears its buffer; keep the last one for black_box.
        if self.out.len() > 32 * 1024 {
            black_box(&self.out);
            self.out.clear();
        }
    }
}

fn key_names(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("key:{i}").into_bytes()).collect()
}

fn new_keyspace<A: KvAllocator>() -> Keyspace<A> {
    Keyspace::new(16, KeyspaceConfig::default())
}

/// A keyspace holding `names` with `VALUE_BYTES`-byte values.
fn filled<A: KvAllocator>(caller: &mut Caller, names: &[Vec<u8>]) -> Keyspace<A> {
    let mut ks = new_keyspace::<A>();
    let value = [b'v'; VALUE_BYTES];
    for name in names {
        caller.call(&mut ks, strings::set::<A>, &[b"SET", name, &value]);
    }
    ks
}

fn bench_set<A: KvAllocator>(group: &mut BenchmarkGroup<'_, WallTime>, names: &[Vec<u8>]) {
    let mut caller = Caller::new();
    let value = [b'v'; VALUE_BYTES];
    group.bench_function(BenchmarkId::new(A::NAME, "insert_32B"), |b| {
        let mut next = 0;
        b.iter_batched_ref(
            new_keyspace::<A>,
            |ks| {
                for _ in 0..OPS {
                    let name = &names[next % names.len()];
                    next += 1;
                    caller.call(ks, strings::set::<A>, &[b"SET", name, &value]);
                }
            },
            BatchSize::PerIteration,
        )
    });
    let mut ks = filled::<A>(&mut caller, names);
    let mut rng = Rng::new();
    let other = [b'w'; VALUE_BYTES];
    group.bench_function(BenchmarkId::new(A::NAME, "overwrite_32B"), |b| {
        b.iter(|| {
            for i in 0..OPS {
                let name = &names[rng.below(names.len())];
                let v: &[u8] = if i % 2 == 0 { &value } else { &other };
                caller.call(&mut ks, strings::set::<A>, &[b"SET", name, v]);
            }
        })
    });
}

fn bench_get<A: KvAllocator>(group: &mut BenchmarkGroup<'_, WallTime>, names: &[Vec<u8>]) {
    let mut caller = Caller::new();
    let mut ks = filled::<A>(&mut caller, names);
    let mut rng = Rng::new();
    group.bench_function(BenchmarkId::new(A::NAME, "hit_32B"), |b| {
        b.iter(|| {
            for _ in 0..OPS {
                let name = &names[rng.below(names.len())];
                caller.call(&mut ks, strings::get::<A>, &[b"GET", name]);
            }
        })
    });
    let absent = key_names(KEYS)
        .into_iter()
        .map(|mut k| {
            k.insert(0, b'x');
            k
        })
        .collect::<Vec<_>>();
    group.bench_function(BenchmarkId::new(A::NAME, "miss"), |b| {
        b.iter(|| {
            for _ in 0..OPS {
                let name = &absent[rng.below(absent.len())];
                caller.call(&mut ks, strings::get::<A>, &[b"GET", name]);
            }
        })
    });
}

fn bench_incr<A: KvAllocator>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let names = key_names(1000);
    let mut caller = Caller::new();
    let mut ks = new_keyspace::<A>();
    let mut rng = Rng::new();
    group.bench_function(BenchmarkId::new(A::NAME, "1k_counters"), |b| {
        b.iter(|| {
            for _ in 0..OPS {
                let name = &names[rng.below(names.len())];
                caller.call(&mut ks, strings::incr::<A>, &[b"INCR", name]);
            }
        })
    });
}

/// `command key element [more]` into `COLLECTIONS` keys of a fresh keyspace per batch.
fn bench_collection<A: KvAllocator>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    case: &str,
    command: &'static [u8],
    handler: Handler<A>,
    hash: bool,
) {
    let names = key_names(COLLECTIONS);
    let members: Vec<Vec<u8>> = (0..OPS)
        .map(|i| format!("member:{i}").into_bytes())
        .collect();
    let mut caller = Caller::new();
    let value = [b'v'; 16];
    group.bench_function(BenchmarkId::new(A::NAME, case), |b| {
        b.iter_batched_ref(
            new_keyspace::<A>,
            |ks| {
                for (i, member) in members.iter().enumerate() {
                    let name = &names[i % COLLECTIONS];
                    if hash {
                        caller.call(ks, handler, &[command, name, member, &value]);
                    } else {
                        caller.call(ks, handler, &[command, name, member]);
                    }
                }
            },
            BatchSize::PerIteration,
        )
    });
}

fn bench_churn<A: KvAllocator>(group: &mut BenchmarkGroup<'_, WallTime>, names: &[Vec<u8>]) {
    // Value sizes 8 B .. 4 KiB, skewed small as in caches: 70% up to 128 B, 25% up to 1 KiB, 5% up to 4 KiB.
    let mut rng = Rng::new();
    let values: Vec<Vec<u8>> = (0..256)
        .map(|_| {
            let len = match rng.below(100) {
                0..70 => 8 + rng.below(121),
                70..95 => 129 + rng.below(896),
                _ => 1025 + rng.below(3072),
            };
            vec![b'c'; len]
        })
        .collect();
    let mut caller = Caller::new();
    let mut ks = new_keyspace::<A>();
    let churn = |ks: &mut Keyspace<A>, caller: &mut Caller, rng: &mut Rng| {
        for _ in 0..OPS {
            let name = &names[rng.below(names.len())];
            let value = &values[rng.below(values.len())];
            // Deletes of one third keep the key space about half full: present keys get deleted at rate 1/3,
            // absent ones set at rate 2/3 (insert), present ones overwritten at rate 2/3.
            if rng.below(3) == 0 {
                caller.call(ks, keys::del::<A>, &[b"DEL", name]);
            } else {
                caller.call(ks, strings::set::<A>, &[b"SET", name, value]);
            }
        }
    };
    // Warm up to the steady state before measuring.
    for _ in 0..(4 * names.len() / OPS) {
        churn(&mut ks, &mut caller, &mut rng);
    }
    group.bench_function(BenchmarkId::new(A::NAME, "mixed_sizes"), |b| {
        b.iter(|| churn(&mut ks, &mut caller, &mut rng))
    });
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(OPS as u64));
    group
}

fn install() {
    zedis_budget::install(Budget::leak(0));
    PoolAlloc::install(POOL_BYTES).expect("pool address space");
}

fn keyspace(c: &mut Criterion) {
    install();
    let names = key_names(KEYS);
    let churn_names = key_names(CHURN_KEYS);

    let mut g = group(c, "keyspace_set");
    bench_set::<PoolAlloc>(&mut g, &names);
    bench_set::<SystemAlloc>(&mut g, &names);
    g.finish();

    let mut g = group(c, "keyspace_get");
    bench_get::<PoolAlloc>(&mut g, &names);
    bench_get::<SystemAlloc>(&mut g, &names);
    g.finish();

    let mut g = group(c, "keyspace_incr");
    bench_incr::<PoolAlloc>(&mut g);
    bench_incr::<SystemAlloc>(&mut g);
    g.finish();

    let mut g = group(c, "keyspace_lpush");
    bench_collection::<PoolAlloc>(
        &mut g,
        "16_lists",
        b"LPUSH",
        lists::push::<PoolAlloc>,
        false,
    );
    bench_collection::<SystemAlloc>(
        &mut g,
        "16_lists",
        b"LPUSH",
        lists::push::<SystemAlloc>,
        false,
    );
    g.finish();

    let mut g = group(c, "keyspace_sadd");
    bench_collection::<PoolAlloc>(&mut g, "16_sets", b"SADD", sets::sadd::<PoolAlloc>, false);
    bench_collection::<SystemAlloc>(&mut g, "16_sets", b"SADD", sets::sadd::<SystemAlloc>, false);
    g.finish();

    let mut g = group(c, "keyspace_hset");
    bench_collection::<PoolAlloc>(
        &mut g,
        "16_hashes",
        b"HSET",
        hashes::hset::<PoolAlloc>,
        true,
    );
    bench_collection::<SystemAlloc>(
        &mut g,
        "16_hashes",
        b"HSET",
        hashes::hset::<SystemAlloc>,
        true,
    );
    g.finish();

    let mut g = group(c, "keyspace_churn");
    bench_churn::<PoolAlloc>(&mut g, &churn_names);
    bench_churn::<SystemAlloc>(&mut g, &churn_names);
    g.finish();
}

criterion_group!(benches, keyspace);
criterion_main!(benches);
