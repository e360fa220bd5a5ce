//! Each engine's `bytes()` (what the server charges to the budget) against the heap bytes it really holds,
//! measured with the counting global allocator. One test, so no other thread allocates meanwhile.

use zedis_budget::counting::CountingAlloc;
use zedis_observe::{
    ClientConn, ClientDirectory, ClientId, CommandStats, ErrorStats, LatencyMonitor, SlowLog,
    TrackingTable,
};
use zedis_resp::Protocol;

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

struct Everyone;

impl ClientDirectory for Everyone {
    fn lookup(&self, _: ClientId) -> Option<ClientConn> {
        Some(ClientConn {
            proto: Protocol::Resp3,
            subscribed: false,
        })
    }
}

/// Heap bytes `build` leaves allocated, with the value it built (kept alive by the caller).
fn measured<T>(build: impl FnOnce() -> T) -> (T, usize) {
    let before = CountingAlloc::allocated_bytes();
    let value = build();
    (
        value,
        CountingAlloc::allocated_bytes().saturating_sub(before),
    )
}

/// `reported` within [real/2, real*2]: an estimate good enough to budget with.
fn assert_close(what: &str, reported: usize, real: usize) {
    println!("{what}: bytes() = {reported}, heap = {real}");
    assert!(
        reported * 2 >= real && reported <= real * 2,
        "{what}: reported {reported}, heap {real}"
    );
}

#[test]
fn reported_bytes_track_real_heap() {
    let (slowlog, real) = measured(|| {
        let mut log = SlowLog::new(0, 1000);
        let long = vec![b'x'; 300];
        for i in 0..1000u32 {
            let key = format!("key:{i}");
            log.push_if_needed(
                &[b"SET", key.as_bytes(), &long],
                10,
                b"127.0.0.1:50000",
                b"worker",
                1,
            );
        }
        log
    });
    assert_close("slowlog, 1000 entries", slowlog.bytes(), real);

    let (latency, real) = measured(|| {
        let mut mon = LatencyMonitor::new(1);
        for (j, event) in ["command", "fast-command", "expire-cycle", "fork"]
            .iter()
            .enumerate()
        {
            mon.add_sample(event, 5, j as i64 + 1);
        }
        mon
    });
    assert_close("latency monitor, 4 events", latency.bytes(), real);

    let (stats, real) = measured(|| {
        let mut stats = CommandStats::new();
        for i in 0..200 {
            let slot = stats.register(&format!("command{i}"));
            if i % 4 == 0 {
                stats.record_call(slot, i);
            }
        }
        stats
    });
    assert_close(
        "command stats, 200 commands, 50 histograms",
        stats.bytes(),
        real,
    );

    let (errors, real) = measured(|| {
        let mut errors = ErrorStats::default();
        for i in 0..100 {
            errors.record(format!("CODE{i} message").as_bytes());
        }
        errors
    });
    assert_close("errorstats, 100 codes", errors.bytes(), real);

    let (tracking, real) = measured(|| {
        let mut table = TrackingTable::new(0);
        for id in 1..=10 {
            table.client_tracking(id, &[b"on"], &Everyone).unwrap();
        }
        for i in 0..20_000u32 {
            let key = format!("user:{i}:profile");
            table.remember_keys(1 + u64::from(i % 10), &[key.as_bytes()]);
            if i % 3 == 0 {
                table.remember_keys(1 + u64::from((i + 1) % 10), &[key.as_bytes()]);
            }
        }
        table
    });
    println!(
        "tracking: {} keys, {} items, {:.1} bytes per key",
        tracking.total_keys(),
        tracking.total_items(),
        real as f64 / tracking.total_keys() as f64
    );
    assert_close("tracking table, 20000 keys", tracking.bytes(), real);
    drop((slowlog, latency, stats, errors, tracking));
}
