//! Memory pressure under the `allkeys-*` policies: a workload that Redis serves without a single `-OOM` must
//! get none from Zedis either (issue 26), under both memory-strategy presets. A few big hashes, lists and sets grow by 100 KB elements while plain keys
//! are SET; about 60 MB is written into a 50 MB budget, so eviction has to make room all along.

mod common;

use common::reference::RedisProcess;
use common::Server;

/// One element or value: 100 KB.
const ELEMENT_BYTES: usize = 100 * 1024;
/// Total bytes written: a little more than the budget.
const WRITTEN_BYTES_MAX: usize = 60 << 20;
/// The budget.
const MAXMEMORY_BYTES: u64 = 50 << 20;

fn info_field(c: &mut redis::Connection, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO has no {name}"))
        .trim()
        .parse()
        .unwrap()
}

/// What a workload run saw.
struct Outcome {
    /// The refused writes: index, command, error.
    refused: Vec<(usize, String, String)>,
    /// The highest `used_memory` sampled (every [`SAMPLE_EVERY`] writes), when `sample` was asked.
    used_max: u64,
}

/// How often the workload samples `used_memory`.
const SAMPLE_EVERY: usize = 25;

/// Runs the workload; with `sample`, reads `used_memory` along the way.
fn grow_collections_and_set(c: &mut redis::Connection, sample: bool) -> Outcome {
    let mut refused = Vec::new();
    let mut used_max = 0;
    let mut written = 0;
    let mut i = 0;
    while written < WRITTEN_BYTES_MAX {
        // Each element differs, so sets and hashes really grow.
        let mut element = vec![b'a' + (i % 26) as u8; ELEMENT_BYTES];
        element[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let slot = i % 3;
        let cmd = match i % 4 {
            0 => {
                let mut c = redis::cmd("HSET");
                c.arg(format!("hash{slot}"))
                    .arg(format!("f{i}"))
                    .arg(&element);
                c
            }
            1 => {
                let mut c = redis::cmd("RPUSH");
                c.arg(format!("list{slot}")).arg(&element);
                c
            }
            2 => {
                let mut c = redis::cmd("SADD");
                c.arg(format!("set{slot}")).arg(&element);
                c
            }
            _ => {
                let mut c = redis::cmd("SET");
                c.arg(format!("plain{i}")).arg(&element);
                c
            }
        };
        if let Err(e) = cmd.query::<redis::Value>(c) {
            let name = ["HSET", "RPUSH", "SADD", "SET"][i % 4];
            refused.push((i, name.to_string(), e.to_string()));
        }
        written += ELEMENT_BYTES;
        i += 1;
        if sample && i % SAMPLE_EVERY == 0 {
            used_max = used_max.max(info_field(c, "used_memory"));
        }
    }
    Outcome { refused, used_max }
}

/// The `allkeys-*` policies Redis has: each must evict rather than refuse.
const POLICIES: &[&str] = &["allkeys-lru", "allkeys-lfu", "allkeys-random"];

#[test]
fn allkeys_policies_never_refuse_what_redis_accepts() {
    for policy in POLICIES {
        for preset in ["zedis", "system"] {
            let server = Server::start(&[
                "--maxmemory",
                "50mb",
                "--maxmemory-policy",
                policy,
                "--allocator",
                preset,
            ]);
            let mut c = server.conn();
            let Outcome { refused, used_max } = grow_collections_and_set(&mut c, true);
            assert!(
                refused.is_empty(),
                "{policy}, --allocator {preset}: {} writes refused, first: {:?}",
                refused.len(),
                refused.iter().take(5).collect::<Vec<_>>()
            );
            // The budget is a hard limit for the evictable total: no slack is needed for this workload.
            let used = info_field(&mut c, "used_memory").max(used_max);
            assert!(
                used <= MAXMEMORY_BYTES,
                "{policy}, --allocator {preset}: used_memory reached {used}, over maxmemory"
            );
            assert!(
                info_field(&mut c, "evicted_keys") > 0,
                "{policy}, --allocator {preset}: the workload never needed eviction"
            );
        }
    }
}

/// The premise: the same workload against the reference gets no `-OOM` from Redis either.
#[test]
fn redis_accepts_the_same_workload() {
    let args = ["--maxmemory", "50mb", "--maxmemory-policy", "allkeys-lru"];
    let Some(redis) = RedisProcess::start(&args) else {
        eprintln!("note: redis-server not found or did not start; reference run skipped");
        return;
    };
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port)).unwrap();
    let mut c = client.get_connection().unwrap();
    let refused = grow_collections_and_set(&mut c, false).refused;
    assert!(refused.is_empty(), "redis refused {refused:?}");
}
