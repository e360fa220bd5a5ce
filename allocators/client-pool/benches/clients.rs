//! Pool vs heap client slots under connection churn: accept (insert_with), use the buffers for one
//! request/reply, close (remove), with a steady population of connected clients.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zedis_client_pool::{ClientSlots, FixedPool, HeapClients, IoBuf, Recycle};

/// Connected clients kept while churning.
const POPULATION: usize = 1000;
/// Connect/request/disconnect cycles per measured iteration.
const CYCLES: usize = 1000;

/// A client roughly the shape of the server's: identity, flags, and two buffers.
#[derive(Default)]
struct Client {
    id: u64,
    name: Vec<u8>,
    db: usize,
    flags: u64,
    query: IoBuf,
    reply: IoBuf,
}

impl Recycle for Client {
    fn recycle(&mut self) {
        self.id = 0;
        self.name.clear();
        self.db = 0;
        self.flags = 0;
        self.query.clear();
        self.query.shrink_to(32 * 1024);
        self.reply.clear();
        self.reply.shrink_to(16 * 1024);
    }
}

fn cycle<S: ClientSlots<Client>>(
    store: &mut S,
    keys: &mut [usize],
    next_id: &mut u64,
    request: &[u8],
) {
    for i in 0..CYCLES {
        *next_id += 1;
        let id = *next_id;
        let key = store
            .insert_with(|c| c.id = id)
            .expect("room for the churned client");
        let client = store.get_mut(key).expect("just inserted");
        let spare = client.query.spare(16 * 1024);
        spare[..request.len()].copy_from_slice(request);
        client.query.filled(request.len());
        client.reply.extend_from_slice(b"+OK\r\n");
        black_box(client.query.data());
        client.query.consume(request.len());
        // Close the oldest-ish client, keep the new one.
        let slot = i % keys.len();
        store.remove(keys[slot]);
        keys[slot] = key;
    }
}

fn bench<S: ClientSlots<Client>>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
) {
    let mut store = S::new(POPULATION + 1);
    let mut next_id = 0;
    let mut keys: Vec<usize> = (0..POPULATION)
        .map(|_| store.insert_with(|_| {}).expect("room"))
        .collect();
    let request = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    group.bench_function(BenchmarkId::new(S::NAME, "connect_request_close"), |b| {
        b.iter(|| cycle(&mut store, &mut keys, &mut next_id, request))
    });
}

fn clients(c: &mut Criterion) {
    let mut group = c.benchmark_group("clients");
    group.throughput(Throughput::Elements(CYCLES as u64));
    bench::<FixedPool<Client>>(&mut group);
    bench::<HeapClients<Client>>(&mut group);
    group.finish();
}

criterion_group!(benches, clients);
criterion_main!(benches);
